"""Duration estimate after the micro-benchmark vs the real duration of a 50-step run (target +/-30%).

Also prints the FLOPs-model estimate (before any benchmark) and how long planning takes (target < 50 ms).
Usage: python bench/estimate_accuracy.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".test-cache"))
os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp()

from synthetic_data import length_skewed_alpaca, write_jsonl  # noqa: E402


def main() -> int:
    from peftstudio.cli import quiet_libraries

    quiet_libraries()
    from peftstudio.engine.training.benchmark import run_micro_benchmark
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.data.dataset_file import compute_stats
    from peftstudio.engine.planning.hardware import hardware_profile
    from peftstudio.engine.planning.facts_reader import model_facts
    from peftstudio.engine.models import DEMO_MODEL_ID, load_tokenizer, resolve_model, trainable_folder
    from peftstudio.engine.planning.planner import DatasetSummary, plan
    from peftstudio.engine.planning.profiles import get_builtin
    from peftstudio.engine.runs.events import read_events
    from peftstudio.engine.training.session import TrainingSession

    dataset = write_jsonl(length_skewed_alpaca(600, seed=3), Path(tempfile.mkdtemp()) / "d.jsonl")
    tokenizer = load_tokenizer(trainable_folder(resolve_model(DEMO_MODEL_ID)))
    data = DatasetSummary.from_stats(compute_stats(dataset, tokenizer))
    facts, hardware, profile = model_facts(DEMO_MODEL_ID), hardware_profile(), get_builtin("chatbot")
    base = TrainingConfig(dataset_path=str(dataset), max_steps=50, validation_split=0.0, eval_strategy="no")
    started = time.perf_counter()
    for _ in range(100):
        flops_plan = plan(facts, hardware, data, profile, base)
    planning_ms = (time.perf_counter() - started) * 10
    config = replace(flops_plan.config, batch_size=4, gradient_accumulation=1, save_steps=1000)
    flops_plan = plan(facts, hardware, data, profile, config)
    rate = run_micro_benchmark(config, hardware)
    measured_plan = plan(facts, hardware, data, profile, config, measured_tokens_per_second=rate)
    # the planner fills batch size from memory; keep the benchmarked shape for the comparison
    from peftstudio.engine.planning.planner import Settings, estimates_for

    estimate = estimates_for(facts, hardware, config, data, "fp32", Settings(), rate)
    flops = estimates_for(facts, hardware, config, data, "fp32", Settings())

    session = TrainingSession.create(config)
    session.run()
    events = read_events(session.events.path)
    start = next(e["time"] for e in events if e.get("status") == "running")
    last = [e for e in events if e["type"] == "metrics" and not e["heartbeat"]][-1]
    real = last["time"] - start
    print(f"planning: {planning_ms:.2f} ms per plan (target < 50 ms)")
    print(f"FLOPs-model estimate of the 50-step run: {flops.duration_expected:.0f} s "
          f"({flops.duration_min:.0f}-{flops.duration_max:.0f} s)")
    print(f"after micro-benchmark ({rate:.1f} tokens/s): {estimate.duration_expected:.0f} s "
          f"({estimate.duration_min:.0f}-{estimate.duration_max:.0f} s)")
    print(f"real: {last['input_tokens']} tokens (estimated {data.tokens_mean * 200:.0f}) at "
          f"{last['input_tokens'] / real:.1f} tokens/s")
    print(f"real duration of the 50 steps: {real:.0f} s; error of the benchmark estimate "
          f"{100 * (estimate.duration_expected - real) / real:+.1f}% (target +/-30%)")
    del measured_plan
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
