"""Phase 6 of the recipe (training/recipe.py), once the loop has run to its end: the final evaluation, the adapter
saved whole, the quality report, the run's summary and the version record."""
from __future__ import annotations

import os
import shutil
import time

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.history.store import default_store as store
from peftstudio.engine.history.versions import create_version
from peftstudio.engine.quality import quality_report, reward_quality_report
from peftstudio.engine.rewards import RewardSet
from peftstudio.engine.runs.events import read_events
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.training.adapter_setup import save_adapter
from peftstudio.engine.training.methods import Method
from peftstudio.engine.training.recipe import Prepared


def final_eval_loss(trainer, config: TrainingConfig, prepared: Prepared) -> float | None:
    """The held-back loss at the last step: logged already when an evaluation fell on it, else measured now."""
    if not prepared.data.validation or config.eval_strategy == "no" or trainer.eval_dataset is None:
        return None  # GRPO has no loss on held-back prompts: its measure is their reward
    evals = [e for e in trainer.state.log_history if "eval_loss" in e]
    if evals and evals[-1].get("step") == trainer.state.global_step:
        return evals[-1]["eval_loss"]
    return trainer.evaluate()["eval_loss"]  # logged as an "eval" event by our callback


def save_whole(folder: RunFolder, prepared: Prepared, config: TrainingConfig) -> None:
    """The adapter and its tokenizer into the run's adapter folder, all at once: a crash leaves the old one or none."""
    staging = folder.adapter_staging
    shutil.rmtree(staging, ignore_errors=True)
    save_adapter(prepared.model, staging, folder.path, config)
    prepared.tokenizer.save_pretrained(staging)
    shutil.rmtree(folder.adapter, ignore_errors=True)
    os.replace(staging, folder.adapter)


def summarize(trainer, method: Method, prepared: Prepared, folder: RunFolder, final_eval: float | None,
              started_at: float, recommended_examples: int | None) -> dict:
    """The run's summary for run.json, its last status event and the version record."""
    model, tokenizer, data = prepared.model, prepared.tokenizer, prepared.data
    eval_losses = [e["eval_loss"] for e in read_events(folder.events_file) if e["type"] == "eval"]
    measured = method.measure_trained(model, tokenizer, data, prepared.base)
    if "reward" in measured:  # taught by a checker: judged by its held-back reward, not a loss
        quality = reward_quality_report(measured["base_reward"], measured["reward"],
                                        sum(RewardSet.from_config(data.config).weights), len(data.train),
                                        recommended_examples)
    else:
        quality = quality_report(prepared.base.get("base_eval_loss"), eval_losses,
                                 method.sample_repetition(model, tokenizer, data), len(data.train),
                                 recommended_examples)
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {
        "steps": trainer.state.global_step, "epochs": trainer.state.epoch,
        "first_loss": losses[0] if losses else None, "final_loss": losses[-1] if losses else None,
        "final_eval_loss": final_eval, "train_tokens": trainer.loss_tokens_seen,
        "duration_seconds": time.time() - started_at, "adapter": str(folder.adapter),
        "quality": quality, **measured,
    }


def record_version(folder: RunFolder, config: TrainingConfig, summary: dict) -> dict | None:
    """The run becomes a numbered version of its model (not a sweep's trial: "Keep the best" makes the winner one,
    in sweep_results). Returns the version's record, or None for a trial."""
    info = folder.info()
    if info.get("sweep"):
        return None
    return create_version(store(), folder.path, config, summary,
                          model_name=info.get("version_name"),  # named in the wizard, or the continued one
                          parent_version=(info.get("continued_from") or {}).get("version"))

