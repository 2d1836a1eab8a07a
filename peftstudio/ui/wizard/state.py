"""What the wizard has gathered so far (plain data: no Qt), shared by its pages."""
from __future__ import annotations

from dataclasses import dataclass, field

from peftstudio.engine.config import TrainingConfig


@dataclass
class WizardState:
    profile_id: str = "chatbot"
    dataset_path: str = ""
    dataset_report: object | None = None  # ValidationReport of dataset_path
    dataset_stats: object | None = None  # DatasetStats with the chosen model's tokenizer (or None)
    model_id: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    config: TrainingConfig = field(default_factory=TrainingConfig)
    user_edits: set[str] = field(default_factory=set)  # settings the user changed by hand: kept on re-plan
    plan: object | None = None  # planner.Plan
