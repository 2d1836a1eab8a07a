"""Adapter methods side by side on one fixed small task: loss after N steps, speed and peak memory, LoRA = 1.0.

Each method trains the demo model through our real session (TrainingSession: the same code the app runs) in a
fresh child process, on the same 40-example "sign your answers" task, with the same seed, batch 4, 96 tokens,
learning rate 2e-4, for N steps. Reported per method:
    loss      the mean training loss over the last 5 steps, and the validation loss at the end
    tokens/s  loss-carrying tokens per second, the median over steps 2..N (the first step warms up)
    memory    peak resident memory of the child (VmHWM) minus its memory after importing the libraries
Ratios are against plain LoRA measured in the same invocation. The planner's DoRA cost constants
(engine/planning/method_costs.py) come from this table.
Usage: python bench/methods.py [--steps N] [--only lora,dora]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(REPO / ".test-cache"))

METHODS = {
    "lora": {},
    "rslora": {"use_rslora": True},
    "dora": {"use_dora": True},
    "pissa": {"lora_init": "pissa"},
    "lora+": {"loraplus_lr_ratio": 16.0},
    "neftune": {"neftune_noise_alpha": 5.0},
}

CHILD = r"""
import json, os, sys, tempfile
os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-methods-")
def hwm():
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
import torch, transformers, peft
from peftstudio.engine.training.session import TrainingSession
from peftstudio.engine.runs.events import read_events
start = hwm()
settings = json.loads(sys.argv[1])
from peftstudio.engine.config import TrainingConfig
session = TrainingSession.create(TrainingConfig(**settings))
status = session.run()
events = read_events(session.run_dir / "events.jsonl")
metrics = [e for e in events if e["type"] == "metrics" and e.get("loss") is not None and not e.get("heartbeat")]
evals = [e["eval_loss"] for e in events if e["type"] == "eval"]
print(json.dumps({"status": status.value, "losses": [m["loss"] for m in metrics],
                  "tokens_per_second": [m["tokens_per_second"] for m in metrics],
                  "eval_loss": evals[-1] if evals else None, "memory": hwm() - start}))
"""


def measure(settings: dict) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(settings)], capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=3600)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return {"loss": statistics.mean(data["losses"][-5:]), "eval_loss": data["eval_loss"],
            "tokens_per_second": statistics.median(data["tokens_per_second"][1:]), "memory": data["memory"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", help="comma-separated methods (lora is always measured)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "tests"))
    from helpers import signature_rows

    dataset = Path(tempfile.mkdtemp()) / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    base = dict(dataset_path=str(dataset), max_steps=args.steps, batch_size=4, max_seq_length=96,
                learning_rate=2e-4, lora_r=8, lora_alpha=16, save_steps=10_000, eval_steps=10_000,
                validation_split=0.1, seed=42)
    chosen = ["lora"] + [m for m in (args.only.split(",") if args.only else METHODS) if m != "lora"]
    rows = {name: measure(dict(base, **METHODS[name])) for name in chosen}
    ref = rows["lora"]
    print(f"{args.steps} steps of the demo model (SmolLM2-135M), batch 4 x 96 tokens, lr 2e-4, rank 8, CPU")
    print("| method | loss (last 5) | x LoRA | val loss | x LoRA | loss tokens/s | x LoRA | peak MB | x LoRA |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        val = row["eval_loss"] if row["eval_loss"] is not None else float("nan")
        ref_val = ref["eval_loss"] if ref["eval_loss"] is not None else float("nan")
        print(f"| {name} | {row['loss']:.3f} | {row['loss'] / ref['loss']:.2f} | {val:.3f} | {val / ref_val:.2f} | "
              f"{row['tokens_per_second']:.0f} | {row['tokens_per_second'] / ref['tokens_per_second']:.2f} | "
              f"{row['memory'] / 2**20:.0f} | {row['memory'] / ref['memory']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
