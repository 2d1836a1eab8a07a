"""Continuing a finished version: a new run that starts from that version's adapter.

"Resume" picks up an interrupted run in its own folder; "continue" starts a new run (a child version) from a
completed one: more epochs on the same data, new data added to the old, or new data instead of the old. The
child keeps the parent's adapter shape (rank, alpha, layers, DoRA...: it trains the same adapter further) and
starts with a fresh optimizer, or carries the parent's optimizer moments from its last checkpoint.

    config, facts = continue_config(version, data="add", dataset="more.jsonl")
    session = TrainingSession.create(config); session.annotate(**facts); session.run()
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from peftstudio.engine import atomic, paths
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data.prepare import normalized_examples
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history.versions import find_version, verified_run_folder
from peftstudio.engine.runs import RunFolder
from peftstudio.engine.runs.checkpoints import latest_checkpoint, optimizer_state
from peftstudio.engine.runs.layout import ADAPTER_CONFIG_FILE

DATA_MODES = {"same": "more epochs on the same data", "add": "the new data added to the earlier data",
              "swap": "the new data instead of the earlier data"}


@dataclass(frozen=True)
class CarryAdvice:
    carry: bool
    reason: str


def carry_advice(data: str) -> CarryAdvice:
    """Whether to keep the optimizer's state, and why (shown beside the choice)."""
    if data == "same":
        return CarryAdvice(True, "Recommended: keep it. On the same data the optimizer's memory of recent "
                                 "updates lets training go on smoothly, as if the run had been longer.")
    return CarryAdvice(False, "Recommended: start it fresh. The optimizer's memory was built on the earlier "
                              "data; with new data a fresh start adapts faster.")


def parse_reference(text: str) -> tuple[str, str]:
    """'support-bot@1.2.0' -> ('support-bot', '1.2.0')."""
    model, sep, version = text.strip().rpartition("@")
    if not sep or not model or not version:
        raise PlainError(
            title="Say which version to continue",
            what=f"'{text}' is not a version reference.",
            why="A version is named as MODEL@VERSION, for example support-bot@1.2.0.",
            actions=["Run 'peftstudio versions list' to see the names and numbers.",
                     "Write it as MODEL@VERSION."],
            help_topic="history",
        )
    return model, version.lstrip("v")


def version_to_continue(store, model: str, version: str) -> dict:
    """The version (with its run folder as `run_dir`), or a plain error when it or its adapter is gone."""
    found = find_version(store, model, version)
    folder = verified_run_folder(found)
    if folder is None or not RunFolder(folder).has_adapter():
        raise PlainError(
            title="That version's adapter is missing",
            what=f"{model} v{version} has no adapter on this machine any more.",
            why="Its run folder was moved or deleted.",
            actions=["Continue another version.", "Restore the run folder, then try again."],
            help_topic="history",
        )
    return dict(found, run_dir=str(folder))


def carried_optimizer_state(parent_adapter: Path) -> Path | None:
    """The optimizer state of the parent run's newest checkpoint (None when it kept none)."""
    checkpoint = latest_checkpoint(RunFolder(Path(parent_adapter).parent).checkpoints)
    state = optimizer_state(checkpoint) if checkpoint is not None else None
    return state if state is not None and state.exists() else None


def _adapter_shape(adapter: Path) -> dict:
    """The settings that describe the parent's saved adapter (a converted PiSSA adapter is a plain LoRA)."""
    saved = json.loads((adapter / ADAPTER_CONFIG_FILE).read_text(encoding="utf-8"))
    targets = saved.get("target_modules") or ["all-linear"]
    targets = ["all-linear"] if targets == "all-linear" else sorted(targets) if not isinstance(targets, str) \
        else [targets]
    return {"lora_r": int(saved["r"]), "lora_alpha": int(saved["lora_alpha"]),
            "use_dora": bool(saved.get("use_dora")), "use_rslora": bool(saved.get("use_rslora")),
            "target_modules": targets, "lora_init": "default"}


def combined_dataset(earlier: TrainingConfig, newer: TrainingConfig, out: Path) -> Path:
    """Both datasets' examples in one JSONL file (each read with its own columns), written atomically."""
    first, _ = normalized_examples(earlier)
    second, _ = normalized_examples(newer)
    if ("text" in first[0]) != ("text" in second[0]):
        raise PlainError(
            title="These datasets cannot be added together",
            what="One holds plain text and the other holds prompts with answers.",
            why="A run learns either to continue text or to answer prompts, not both from one file.",
            actions=["Continue with the new data instead of the earlier data.",
                     "Or convert the new data to the same shape as the earlier data."],
            help_topic="datasets",
        )
    lines = "".join(json.dumps(example, ensure_ascii=False) + "\n" for example in first + second)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out, lines)
    return out


def continue_config(version: dict, *, data: str = "same", dataset: str | None = None, epochs: float | None = None,
                    carry_optimizer: bool | None = None, overrides: dict | None = None) -> tuple[TrainingConfig,
                                                                                                  dict]:
    """The child run's settings and the facts to record in its run.json (the parent, what continued)."""
    if data not in DATA_MODES:
        raise ValueError(f"data must be one of {', '.join(DATA_MODES)}")
    if data != "same" and not dataset:
        raise PlainError(
            title="Choose the new data",
            what=f"Continuing with {DATA_MODES[data]} needs a dataset file.",
            why="Without one there is nothing new to learn from.",
            actions=["Pick the file with the new examples.", "Or continue with more epochs on the same data."],
            help_topic="datasets",
        )
    parent_run = Path(version["run_dir"])
    adapter = RunFolder(parent_run).adapter
    parent = TrainingConfig.from_dict(version["config"])
    changes = dict(_adapter_shape(adapter), parent_adapter=str(adapter),
                   carry_optimizer=carry_advice(data).carry if carry_optimizer is None else carry_optimizer,
                   max_steps=None, epochs=float(epochs or parent.epochs))
    if data == "swap":
        changes.update(dataset_path=str(Path(dataset).expanduser().resolve()), column_mapping={})
    elif data == "add":
        newer = TrainingConfig(dataset_path=str(Path(dataset).expanduser().resolve()))
        name = f"{version['model_name']}-{version['version']}-plus-{Path(dataset).stem}.jsonl"
        out = combined_dataset(parent, newer, paths.data_dir() / "datasets" / name)
        changes.update(dataset_path=str(out), column_mapping={})
    config = parent.merged({**changes, **(overrides or {})})
    facts = {"continued_from": {"model_name": version["model_name"], "version": version["version"],
                                "run_id": version["run_id"], "data": data},
             "version_name": version["model_name"]}
    return config.check(), facts
