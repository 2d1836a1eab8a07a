"""A completed run as something to export: its settings, tokenizer, base model and merged model."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.consent import allowed_remote_code
from peftstudio.engine.export.safety import safe_name
from peftstudio.engine.models import load_causal_lm, load_tokenizer, resolve_model, trainable_folder
from peftstudio.engine.planning.facts_reader import facts_from_folder
from peftstudio.engine.runs.events import read_events
from peftstudio.engine.runs.folder import RunFolder


@dataclass
class ExportableRun:
    run_dir: Path
    config: TrainingConfig
    info: dict
    base_folder: Path
    source_gguf: Path | None
    data_summary: dict = field(default_factory=dict)

    @property
    def adapter_dir(self) -> Path:
        return RunFolder(self.run_dir).adapter

    @property
    def base_model_id(self) -> str:
        """The base model as others can find it: a hub id, or only the name of a local folder or file.

        Exports (and a --push) must not carry this machine's paths, which name the user and their folders."""
        ref = (self.config.model_path or self.config.model_name or "").strip()
        if is_hub_id(ref):
            return ref
        return Path(ref).stem or "unknown"

    @property
    def name(self) -> str:
        version = (self.info.get("summary") or {}).get("version", "")
        return safe_name(version.replace(" v", "-v") if version else self.run_dir.name)

    @property
    def parameters(self) -> int:
        return facts_from_folder(self.base_folder).total_parameters


def is_hub_id(ref: str) -> bool:
    """'organization/model-name', and not a path that exists here."""
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", ref)) and not Path(ref).expanduser().exists() \
        and not ref.endswith(".gguf")


def open_run(run_dir: Path) -> ExportableRun:
    run_dir = Path(run_dir)
    if not RunFolder(run_dir).has_adapter():
        raise RunFolder(run_dir).no_adapter("export")
    folder = RunFolder(run_dir)
    config, info = folder.config(), folder.info()
    source = resolve_model(config.model_path or config.model_name)
    summary = dict(info.get("data") or {})
    if not summary:  # runs trained before run.json kept the data summary: their "ready" event has it
        ready = [e for e in read_events(folder.events_file)
                 if e.get("stage") == "ready" or e.get("message") == "Model and data ready"]
        summary = {k: ready[-1].get(k) for k in ("train_examples", "validation_examples", "loss_tokens_per_epoch",
                                                "schema")} if ready else {}
    return ExportableRun(run_dir=run_dir, config=config, info=info, base_folder=trainable_folder(source),
                         source_gguf=source.folder / source.gguf_file if source.is_gguf else None,
                         data_summary=summary)


def load_tokenizer_for(run: ExportableRun):
    return load_tokenizer(run.base_folder, allowed_remote_code(run.config))


def load_merged_model(run: ExportableRun):
    """Base weights (never quantized: QLoRA runs merge into the full-precision base) plus the adapter."""
    from peft import PeftModel


    base = load_causal_lm(run.base_folder, dtype="auto", trust_remote_code=allowed_remote_code(run.config),
                          rope=(run.config.rope_scaling, run.config.max_seq_length))
    merged = PeftModel.from_pretrained(base, str(run.adapter_dir)).merge_and_unload()
    if hasattr(merged.config, "quantization_config"):
        del merged.config.quantization_config
    return merged.eval()
