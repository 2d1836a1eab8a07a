"""Preference training speed and memory: our DPO run against TRL's DPOTrainer used directly, same settings.

Both train the demo model (SmolLM2-135M) with LoRA r8 on all linear layers, the same 40 pairs ("prefer the answer
that signs off"), batch 4 pairs, 96 tokens, lr 2e-3, beta 0.1, no gradient checkpointing, for N steps, each in a
fresh child process started by this script (so peak memory is each one's own):
    ours  peftstudio's TrainingSession with training_method="dpo" (TRL's trainer inside our session: events,
          checkpoints, the anomaly watch, the token counting)
    trl   trl.DPOTrainer(model, args=DPOConfig(...), peft_config=LoraConfig(...)) as TRL's docs show it
Both in fp32 (TRL's own default is bf16 autocast, also on a CPU; the planner picks fp32 on CPUs).
Reported: pairs per second (batch / the median time between steps 2..N) and peak resident memory above the
libraries (VmHWM after training minus VmHWM after imports). Target: ours not slower than TRL.
Usage: python bench/preference.py [--steps N]
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

COMMON = r"""
import json, os, sys, tempfile, time
os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-pref-")
def hwm():
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
import torch, transformers, peft, trl
start = hwm()
dataset, steps = sys.argv[1], int(sys.argv[2])
"""

OURS = COMMON + r"""
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.training.session import TrainingSession
from peftstudio.engine.runs.events import read_events
session = TrainingSession.create(TrainingConfig(dataset_path=dataset, training_method="dpo", max_steps=steps,
    batch_size=4, max_seq_length=96, learning_rate=2e-3, lora_r=8, lora_alpha=16, lora_dropout=0.0,
    preference_beta=0.1, save_steps=10_000, eval_strategy="no", validation_split=0.0, warmup_steps=0))
assert session.run().value == "completed", session.error and session.error.what
times = [e["time"] for e in read_events(session.run_dir / "events.jsonl")
         if e["type"] == "metrics" and not e["heartbeat"]]
print(json.dumps({"times": times, "memory": hwm() - start}))
"""

TRL = COMMON + r"""
from datasets import Dataset
from peft import LoraConfig
from transformers import TrainerCallback
from trl import DPOConfig, DPOTrainer
from peftstudio.engine.models import DEMO_MODEL_ID, load_causal_lm, load_tokenizer, resolve_model, trainable_folder
folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
rows = [json.loads(line) for line in open(dataset)]
rows = [{"prompt": [{"role": "user", "content": r["prompt"]}], "chosen": [{"role": "assistant", "content": r["chosen"]}],
         "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in rows]
times = []
class Clock(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        times.append(time.time())
args = DPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, max_steps=steps, learning_rate=2e-3,
                 beta=0.1, max_length=96, gradient_checkpointing=False, use_cpu=True, report_to="none",
                 save_strategy="no", logging_steps=1, disable_tqdm=True, seed=42, warmup_steps=0,
                 bf16=False)  # TRL defaults to bf16 autocast even on a CPU; ours trains in fp32 there: same precision
trainer = DPOTrainer(model=load_causal_lm(folder), args=args, train_dataset=Dataset.from_list(rows),
                     processing_class=load_tokenizer(folder), callbacks=[Clock()],
                     peft_config=LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear",
                                            task_type="CAUSAL_LM"))
trainer.train()
print(json.dumps({"times": times, "memory": hwm() - start}))
"""


def measure(code: str, dataset: Path, steps: int) -> dict:
    result = subprocess.run([sys.executable, "-c", code, str(dataset), str(steps)], capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=3600)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    gaps = [b - a for a, b in zip(data["times"], data["times"][1:])]
    return {"pairs_per_second": 4 / statistics.median(gaps), "memory": data["memory"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    dataset = Path(tempfile.mkdtemp()) / "pairs.jsonl"
    dataset.write_text("\n".join(json.dumps({"prompt": f"What is {i} plus {i}?",
                                             "chosen": f"{i} plus {i} is {2 * i}. Cheers!",
                                             "rejected": f"{i} plus {i} is {2 * i}."}) for i in range(40)),
                       encoding="utf-8")
    trl, ours = measure(TRL, dataset, args.steps), measure(OURS, dataset, args.steps)
    print(f"DPO, demo model, LoRA r8, batch 4 pairs x 96 tokens, {args.steps} steps, CPU")
    print("| | pairs/s | peak MB |")
    print("|---|---|---|")
    print(f"| TRL DPOTrainer directly | {trl['pairs_per_second']:.2f} | {trl['memory'] / 2**20:.0f} |")
    print(f"| ours | {ours['pairs_per_second']:.2f} | {ours['memory'] / 2**20:.0f} |")
    print(f"| ours / TRL | {ours['pairs_per_second'] / trl['pairs_per_second']:.2f}x | "
          f"{ours['memory'] / trl['memory']:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
