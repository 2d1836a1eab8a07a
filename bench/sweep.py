"""A sweep's wall time against its plan, and what pruning saves: the same 4 trials with Optuna's median pruner
and without it, each sweep through our queue in a fresh data folder of this process.

The trials train the demo model (SmolLM2-135M, LoRA r8, batch 4 x 96 tokens, 12 steps, validation every 2 steps)
on the 40-example signature task; the grid varies the learning rate over 3e-3, 2e-3, 1e-3 and 1e-9 (the last
learns nothing: a hopeless trial, as a bad guess in a real sweep would be). Printed per sweep: wall time, the sum
of the planner's per-trial estimates, the sum of the trials' own durations, and the pruned trials; then the
pruned sweep's time as a ratio of the unpruned one (the baseline).
Usage: python bench/sweep.py [--steps N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(REPO / ".test-cache"))


def one_sweep(steps: int, pruning: bool) -> dict:
    from helpers import signature_rows

    from peftstudio.engine.training import QueueRunner, create_sweep, parse_vary, plan_sweep, results
    from peftstudio.engine.training import sweep as sweep_module

    os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-sweep-")
    dataset = Path(os.environ["PEFTSTUDIO_DATA_DIR"]) / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    base = {"model_name": "HuggingFaceTB/SmolLM2-135M-Instruct", "dataset_path": str(dataset), "max_steps": steps,
            "batch_size": 4, "max_seq_length": 96, "lora_r": 8, "eval_steps": 2, "save_steps": 1000,
            "validation_split": 0.2}
    plan = plan_sweep(base, parse_vary("lr=3e-3,2e-3,1e-3,1e-9"), "grid", trials=4)
    sweep_id = create_sweep(plan)
    started = time.perf_counter()
    if pruning:
        QueueRunner().run()
    else:  # the baseline: the same sweep, every trial to its end
        import optuna

        with mock.patch.object(sweep_module, "_pruner", lambda plan: optuna.pruners.NopPruner()):
            QueueRunner().run()
    wall = time.perf_counter() - started
    found = results(sweep_id)
    return {"wall": wall, "planned": found.planned_seconds, "trials": sum(t.seconds or 0 for t in found.trials),
            "pruned": sum(t.state == "pruned" for t in found.trials),
            "best": found.best.params if found.best else None}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    from peftstudio.cli import quiet_libraries

    quiet_libraries()
    pruned = one_sweep(args.steps, pruning=True)
    full = one_sweep(args.steps, pruning=False)
    for name, r in (("median pruner", pruned), ("no pruning (baseline)", full)):
        print(f"{name:<22} wall {r['wall']:6.1f} s  planned {r['planned']:6.1f} s  trials {r['trials']:6.1f} s  "
              f"pruned {r['pruned']}  wall/planned {r['wall'] / r['planned']:.2f}x  best {r['best']}")
    print(f"sweep time with pruning vs without: {pruned['wall'] / full['wall']:.2f}x")


if __name__ == "__main__":
    main()
