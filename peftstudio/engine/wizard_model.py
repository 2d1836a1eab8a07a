"""WizardModel: what the training wizard knows and decides, without Qt (the Qt wizard binds widgets to it).

    model = WizardModel(hardware_profile())
    model.dataset_changed("support.jsonl"); model.dataset_inspected(report, stats)
    model.model_changed("HuggingFaceTB/SmolLM2-135M-Instruct")
    plan = model.replan()                      # the planner's settings; the user's own edits stay
    model.set_setting("lora_r", 32)            # remembered as the user's
    model.model_rows()                         # the catalog and local models, with fit badges and notes
    config = model.state.config                # what Launch trains

Changing the dataset or the model re-plans only the settings the user did not edit by hand; Back in the
wizard never loses anything because the pages only read and write this model.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, replace

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.export.architectures import exportable
from peftstudio.engine.history.presets import Preset, load_preset, save_preset
from peftstudio.engine.history.versions import clean_model_name, default_model_name
from peftstudio.engine.long_context import context_warning
from peftstudio.engine.models import (
    has_chat_template,
    load_tokenizer,
    local_models,
    resolve_model,
    trainable_folder,
)
from peftstudio.engine.planning.catalog import CATALOG, catalog_entry
from peftstudio.engine.planning.facts_reader import model_facts
from peftstudio.engine.planning.planner import (
    DatasetSummary,
    Settings,
    estimates_for,
    fit_badge,
    plan,
    precision_for,
)
from peftstudio.engine.planning.profiles import get_profile
from peftstudio.engine.settings import with_role

DEFAULT_DATA = DatasetSummary(examples=500, tokens_mean=200, tokens_p95=400, loss_tokens_per_epoch=50_000)


@dataclass
class WizardState:
    """The choices so far (plain data), shared by every page."""

    profile_id: str = "chatbot"
    dataset_path: str = ""
    dataset_report: object | None = None  # ValidationReport of dataset_path
    dataset_stats: object | None = None  # DatasetStats with the chosen model's tokenizer (or None)
    model_id: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    config: TrainingConfig = field(default_factory=TrainingConfig)
    user_edits: set[str] = field(default_factory=set)  # settings the user changed by hand: kept on re-plan
    version_name: str = ""  # what the model is called in Versions, exports and Ollama
    version_name_edited: bool = False
    plan: object | None = None  # planner.Plan
    annotations: dict = field(default_factory=dict)  # facts for the run's run.json (a continued version's parent)


@functools.lru_cache(maxsize=4)
def _tokenizer(model_id: str):
    # local only: a model not on this machine is not downloaded just to count tokens
    return load_tokenizer(trainable_folder(resolve_model(model_id, allow_download=False)))


@functools.lru_cache(maxsize=16)
def _facts_of(model_id: str):
    entry = catalog_entry(model_id)  # exact and instant; local files need the hub library
    return entry.facts if entry is not None else model_facts(model_id)


class WizardModel:
    def __init__(self, hardware, settings: Settings | None = None):
        self.hardware = hardware
        self.settings = settings or Settings()
        self.state = WizardState()

    # ---- facts the pages show -------------------------------------------------------------------
    def facts(self):
        return _facts_of(self.state.model_id)

    def profile_time_estimate(self, profile) -> float:
        data = replace(DEFAULT_DATA, examples=profile.requirements.recommended_dataset_size)
        return plan(self.facts(), self.hardware, data, profile, settings=self.settings).estimates.duration_expected

    def tokenizer_for_current_model(self, progress=None):
        """The chosen model's tokenizer if the model is on this machine; `progress` hears about the one-time
        conversion of a GGUF model (the demo model: up to a minute), so the wait is never silent."""
        try:
            trainable_folder(resolve_model(self.state.model_id, allow_download=False), progress=progress)
            return _tokenizer(self.state.model_id)
        except PlainError:
            return None

    def model_rows(self) -> list[dict]:
        """The catalog (with what fits this machine, by the planner's own budget) and the models already here."""
        stats = self.state.dataset_stats
        seq = max(128, min(2048, getattr(stats, "recommended_max_seq_length", 0) or 512))
        rows = []
        here = {model_id.lower() for model_id in local_models()}
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        for entry in CATALOG:
            badge, need = fit_badge(entry.facts, self.hardware, seq)
            notes = []
            if entry.model_id.lower() not in here:  # "fits" says nothing about whether it is on this machine
                size = entry.facts.total_parameters * 2 / 1e9
                notes.append(f"not downloaded; needs internet to download (about {size:.1f} GB)" if offline else
                             f"downloads first (about {size:.1f} GB)")
            if entry.gated:
                notes.append("needs a Hugging Face token (Settings)")
            if not exportable(entry.facts.architecture):
                notes.append("no GGUF/Ollama export yet")
            if entry.note:
                notes.append(entry.note)
            rows.append({"id": entry.model_id, "name": entry.name, "params": entry.facts.total_parameters,
                         "need": need, "badge": badge, "notes": "; ".join(notes)})
        for local in local_models():
            if all(r["id"] != local for r in rows):
                rows.append({"id": local, "name": local, "params": None, "need": None, "badge": "local",
                             "notes": "on this machine"})
        return rows

    def local_model_row(self, path: str) -> dict:
        """A model folder or .gguf file the user picked: its facts, fit and notes (PlainError if unusable)."""
        facts = model_facts(path)
        badge, need = fit_badge(facts, self.hardware)
        notes = ["on this machine"]
        if os.path.isdir(path) and not has_chat_template(path):
            notes.append("no chat template: a generic one (ChatML) will be used")
        if not exportable(facts.architecture):
            notes.append("no GGUF/Ollama export yet")
        return {"id": path, "name": os.path.basename(path.rstrip("/")), "params": facts.total_parameters,
                "need": need, "badge": badge, "notes": "; ".join(notes)}

    # ---- changes that ripple --------------------------------------------------------------------
    def dataset_changed(self, path: str) -> None:
        self.state.dataset_path = path
        self.state.dataset_report = self.state.dataset_stats = None
        self.state.config = replace(self.state.config, dataset_path=path)
        if not self.state.version_name_edited:
            self.state.version_name = default_model_name(self.state.config)

    def data_warning(self) -> str | None:
        """Said before Launch when the dataset is much smaller than the use case needs (the run's quality
        report says it again, and caps its score)."""
        report = self.state.dataset_report
        usable = getattr(report, "rows_usable", None)
        if self.state.profile_id == "tool-calling" and usable and not getattr(report, "rows_with_tools", 0):
            return ("None of these conversations declares or calls a tool, so the model has nothing to learn about "
                    "calling them. Use conversations with a 'tools' list and the assistant's calls (see the tools "
                    "help page), or choose another use case.")
        recommended = get_profile(self.state.profile_id).requirements.recommended_dataset_size
        if usable is None or usable >= recommended / 2:
            return None
        return (f"Only {usable} usable examples: the {get_profile(self.state.profile_id).name} use case works best "
                f"with {recommended} or more. The model will learn your format and tone, but with this little data "
                "it may invent facts. Add more examples, or create more from your documents.")

    def context_warning(self) -> str:
        """Said before Launch when the longest examples exceed the model's context ("" when they fit)."""
        stats = self.state.dataset_stats
        longest = getattr(stats, "tokens_max", 0) or 0
        try:
            context = self.facts().max_position
        except Exception:  # noqa: BLE001 - a model whose facts cannot be read has its own message elsewhere
            return ""
        return context_warning(longest, context, self.state.config.rope_scaling)

    def name_model(self, name: str) -> str:
        """The user's own name for the model (cleaned for file names and Ollama); returns what is kept."""
        self.state.version_name = clean_model_name(name) if name.strip() else default_model_name(self.state.config)
        self.state.version_name_edited = bool(name.strip())
        return self.state.version_name

    def dataset_inspected(self, report, stats) -> None:
        self.state.dataset_report, self.state.dataset_stats = report, stats
        schema = getattr(report, "schema", None)
        if "training_method" not in self.state.user_edits and not self.learns_from_checker:
            # the data decides the method unless the user or the use case did
            method = {"preference": "dpo", "kto": "kto"}.get(getattr(schema, "name", ""), "sft")
            self.state.config = replace(self.state.config, training_method=method)

    def model_changed(self, model_id: str) -> None:
        self.state.model_id = model_id
        self.state.config = replace(self.state.config, model_name=model_id)

    def profile_chosen(self, profile_id: str) -> None:
        self.state.profile_id = profile_id
        if "training_method" in self.state.user_edits:
            return
        method = get_profile(profile_id).training_method
        if method == "grpo" or self.state.config.training_method == "grpo":  # into or out of the checker use case
            self.state.config = replace(self.state.config, training_method=method)
            self.state.dataset_report = self.state.dataset_stats = None  # prompts are checked differently

    @property
    def learns_from_checker(self) -> bool:
        """The "Teach a skill with a checker" use case (GRPO): prompts and rewards instead of written answers."""
        return self.state.config.training_method == "grpo"

    def reward_choices(self):
        """The reward form's rows (every built-in checker; those chosen switched on)."""
        from peftstudio.engine.rewards import choices_from  # lazy: off the start-up path (bench/startup.py)

        return choices_from(self.state.config.rewards)

    def choose_rewards(self, choices, reward_file: str | None) -> None:
        """The rewards as the form holds them; a PlainError names a checker whose arguments are wrong."""
        from peftstudio.engine.rewards import rewards_from  # lazy: off the start-up path (bench/startup.py)

        rewards = rewards_from(choices, with_file=bool(reward_file))
        self.state.user_edits |= {"rewards", "reward_file"}
        self.state.config = replace(self.state.config, rewards=rewards, reward_file=reward_file or None)

    def set_setting(self, name: str, value) -> None:
        self.state.user_edits.add(name)
        self.state.config = replace(self.state.config, **{name: value})

    def data_summary(self) -> DatasetSummary:
        stats, report = self.state.dataset_stats, self.state.dataset_report
        if stats is not None and stats.examples:
            return DatasetSummary.from_stats(stats)
        if report is not None and report.rows_usable:
            lengths = sorted(n // 4 for n in report.char_lengths) or [200]
            return DatasetSummary(report.rows_usable, sum(lengths) / len(lengths),
                                  lengths[int(0.95 * (len(lengths) - 1))], sum(lengths) // 2)
        return DEFAULT_DATA

    def replan(self):
        """The planner's settings for the current choices; the user's own edits stay as they are."""
        state = self.state
        base = replace(state.config, model_name=state.model_id, dataset_path=state.dataset_path)
        result = plan(self.facts(), self.hardware, self.data_summary(), get_profile(state.profile_id), base,
                      self.settings)
        edits = {name: getattr(state.config, name) for name in state.user_edits}
        state.config = replace(result.config, **edits)
        state.plan = result
        return result

    def current_estimates(self):
        return estimates_for(self.facts(), self.hardware, self.state.config, self.data_summary(),
                             precision_for(self.hardware), self.settings)

    def use_alternative(self, alternative) -> None:
        if alternative.model_name:
            self.model_changed(alternative.model_name)
        self.state.config = replace(alternative.config)
        self.state.user_edits |= {f for f in TrainingConfig.__dataclass_fields__
                                  if getattr(alternative.config, f) != getattr(self.state.plan.config, f)}

    # ---- presets ----------------------------------------------------------------------------------
    def save_preset(self, name: str):
        return save_preset(Preset(name, self.state.profile_id, replace(self.state.config)))

    # what improving a version fixes: the adapter it continues and the method its feedback suits
    CONTINUED = with_role(TrainingConfig, "continued")

    def prefill_continuation(self, config: TrainingConfig, facts: dict, profile_id: str | None = None) -> None:
        """Start from a version's continuation (e.g. "Improve this version"): its dataset, method and adapter are
        set, the rest is planned as usual; `facts` go to the run's run.json when it launches."""
        self.state.profile_id = profile_id or self.state.profile_id
        self.state.model_id = config.model_name
        self.state.dataset_path = config.dataset_path
        self.state.config = replace(config)
        self.state.user_edits |= set(self.CONTINUED)
        self.state.version_name, self.state.version_name_edited = facts.get("version_name", ""), True
        self.state.annotations = dict(facts)

    def load_preset(self, name: str) -> Preset:
        preset = load_preset(name)
        self.state.profile_id = preset.profile_id
        self.state.model_id = preset.config.model_name
        self.state.dataset_path = preset.config.dataset_path
        self.state.config = replace(preset.config)
        self.state.user_edits = set(TrainingConfig.__dataclass_fields__)  # a preset's values are the user's
        return preset
