"""How long a run will take, from its settings alone: what the queue and sweeps show before anything trains."""
from __future__ import annotations

from pathlib import Path

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.data import DatasetFile, DatasetStats
from peftstudio.engine.errors import PlainError
from peftstudio.engine.models import load_tokenizer, resolve_model, trainable_folder
from peftstudio.engine.planning.benchmark import cached_throughput
from peftstudio.engine.planning.facts_reader import model_facts
from peftstudio.engine.planning.hardware import hardware_profile
from peftstudio.engine.planning.planner import DatasetSummary, Settings, estimates_for, precision_for


def dataset_summary(dataset: Path, model: str, mapping: dict | None):
    """Token statistics with the model's tokenizer when the model is on this machine, else ~4 chars/token."""
    try:
        tokenizer = load_tokenizer(trainable_folder(resolve_model(model)))
    except PlainError:
        tokenizer = None
    with DatasetFile.open(dataset, mapping) as data:
        found = data.inspect(tokenizer)
    stats = found.stats
    if stats is None:  # no tokenizer here: about 4 characters per token
        lengths = sorted(n // 4 for n in found.report.char_lengths)
        stats = DatasetStats(examples=len(lengths))
        if lengths:
            stats.tokens_mean = sum(lengths) / len(lengths)
            stats.tokens_p95 = lengths[int(0.95 * (len(lengths) - 1))]
            stats.loss_tokens_per_epoch = int(sum(lengths) * 0.5)
    if stats.examples == 0:
        raise PlainError(
            title="The dataset has no usable examples",
            what=f"No example in {dataset.name} could be read for planning.",
            why="The file is not a dataset, or its columns were not recognised.",
            actions=["Run 'peftstudio validate FILE' to see what is wrong.",
                     "Pass a column mapping for unusual column names."],
            help_topic="datasets",
        )
    return DatasetSummary.from_stats(stats)


def planned_seconds(config: TrainingConfig, data: DatasetSummary | None = None) -> float:
    """The planner's expected duration of a run with exactly these settings (measured speed when known)."""
    model = config.model_path or config.model_name
    hardware = hardware_profile()
    if data is None:
        data = dataset_summary(Path(config.dataset_path), model, config.column_mapping or None)
    estimates = estimates_for(model_facts(model), hardware, config, data, precision_for(hardware), Settings(),
                              cached_throughput(config, hardware))
    return estimates.duration_expected
