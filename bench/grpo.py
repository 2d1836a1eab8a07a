"""GRPO speed and memory: our GRPO run against TRL's GRPOTrainer used directly, same settings, same prompts.

Both train the demo model (SmolLM2-135M) with LoRA r8 on all linear layers against one reward, "answer in 1 to 6
words" (our `length:min=1,max=6`; for TRL the same rule written as a plain function), 24 prompts, 2 prompts x 4
answers per step, answers up to 32 tokens, lr 1e-4, KL beta 0.04, fp32, no gradient checkpointing, for N steps,
each in a fresh child process started by this script (so peak memory is each one's own):
    ours  peftstudio's TrainingSession with training_method="grpo" (TRL's trainer inside our session: events,
          checkpoints, the anomaly watch, token counting, the reward in our checker registry)
    trl   trl.GRPOTrainer(model, reward_funcs=..., args=GRPOConfig(...), peft_config=LoraConfig(...)) as TRL's
          docs show it
Reported: seconds per step (the median time between steps 2..N), peak resident memory above the libraries
(VmHWM after training minus VmHWM after imports), and the share of each step spent generating answers (both
children time `generate`). That share calibrates the planner's GENERATION_COST (planning/grpo_costs.py): with
step = train x (1 + 1/3 reference forward + GENERATION_COST x answer share of the tokens), the generating part over
the rest gives GENERATION_COST = generate / rest x (1 + 1/3) / answer share. Target: ours not slower than TRL.
Usage: python bench/grpo.py [--steps N]
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
BATCH, GENERATIONS, LONGEST = 2, 4, 32

COMMON = r"""
import json, os, statistics, sys, tempfile, time
os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-grpo-")
def hwm():
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
import torch, transformers, peft, trl
from transformers.generation.utils import GenerationMixin
generating = [0.0]
real_generate = GenerationMixin.generate
def timed_generate(self, *args, **kwargs):  # the share of a step spent writing answers
    began = time.perf_counter()
    try:
        return real_generate(self, *args, **kwargs)
    finally:
        generating[0] += time.perf_counter() - began
GenerationMixin.generate = timed_generate
start = hwm()
dataset, steps, batch, generations, longest = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
"""

OURS = COMMON + r"""
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.training.session import TrainingSession
from peftstudio.engine.runs.events import read_events
session = TrainingSession.create(TrainingConfig(dataset_path=dataset, training_method="grpo", max_steps=steps,
    rewards=["length:min=1,max=6"], batch_size=batch, num_generations=generations, max_completion_length=longest,
    learning_rate=1e-4, lora_r=8, lora_alpha=16, lora_dropout=0.0, kl_beta=0.04, save_steps=10_000,
    validation_split=0.0, warmup_steps=0, gradient_checkpointing=False, seed=42))
assert session.run().value == "completed", session.error and session.error.what
metrics = [e for e in read_events(session.run_dir / "events.jsonl") if e["type"] == "metrics" and not e["heartbeat"]]
print(json.dumps({"times": [e["time"] for e in metrics], "memory": hwm() - start, "generating": generating[0],
                  "answer_tokens": statistics.fmean(e["completion_length"] for e in metrics)}))
"""

TRL = COMMON + r"""
from datasets import Dataset
from peft import LoraConfig
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer
from peftstudio.engine.models import DEMO_MODEL_ID, load_causal_lm, load_tokenizer, resolve_model, trainable_folder
folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
rows = [{"prompt": [{"role": "user", "content": json.loads(line)["prompt"]}]} for line in open(dataset)]
def one_to_six_words(completions, **kwargs):  # the same rule as our length:min=1,max=6
    scores = []
    for completion in completions:
        count = len(completion[0]["content"].split())
        distance = 0 if 1 <= count <= 6 else (1 - count if count < 1 else count - 6)
        scores.append(max(0.0, 1.0 - distance / 6))
    return scores
times, lengths = [], []
class Clock(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        times.append(time.time())
    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "completions/mean_length" in logs:
            lengths.append(logs["completions/mean_length"])
args = GRPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch * generations,
                  num_generations=generations, max_completion_length=longest, max_steps=steps, learning_rate=1e-4,
                  beta=0.04, gradient_checkpointing=False, use_cpu=True, report_to="none", save_strategy="no",
                  logging_steps=1, disable_tqdm=True, seed=42, warmup_steps=0, temperature=1.0,
                  bf16=False)  # TRL defaults to bf16 autocast even on a CPU; ours trains in fp32 there
tokenizer = load_tokenizer(folder)
trainer = GRPOTrainer(model=load_causal_lm(folder), reward_funcs=one_to_six_words, args=args,
                      train_dataset=Dataset.from_list(rows), processing_class=tokenizer, callbacks=[Clock()],
                      peft_config=LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear",
                                             task_type="CAUSAL_LM"))
trainer.train()
print(json.dumps({"times": times, "memory": hwm() - start, "generating": generating[0],
                  "answer_tokens": statistics.fmean(lengths)}))
"""


def measure(code: str, dataset: Path, steps: int) -> dict:
    result = subprocess.run([sys.executable, "-c", code, str(dataset), str(steps), str(BATCH), str(GENERATIONS),
                             str(LONGEST)], capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=3600)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    data = json.loads(result.stdout.strip().splitlines()[-1])
    gaps = [b - a for a, b in zip(data["times"], data["times"][1:])]
    total = data["times"][-1] - data["times"][0] + statistics.median(gaps)  # steps 1..N, the first one estimated
    return {"seconds_per_step": statistics.median(gaps), "memory": data["memory"],
            "generating_share": min(1.0, data["generating"] / max(total, 1e-9)),
            "answer_tokens": data["answer_tokens"]}


def generation_cost(result: dict, prompt_tokens: float) -> float:
    """GENERATION_COST from the measured generating share (the planner's model, in the module docstring)."""
    share = result["generating_share"]
    answer_share = result["answer_tokens"] / (prompt_tokens + result["answer_tokens"])
    return share / max(1 - share, 1e-9) * (1 + 1 / 3) / answer_share


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    dataset = Path(tempfile.mkdtemp()) / "prompts.jsonl"
    things = ["a colour", "a fruit", "an animal", "a planet", "a country", "a tree", "a drink", "a city"]
    dataset.write_text("\n".join(json.dumps({"prompt": f"{verb} {thing}."})
                                 for verb in ("Name", "Describe", "Tell me about") for thing in things),
                       encoding="utf-8")
    trl, ours = measure(TRL, dataset, args.steps), measure(OURS, dataset, args.steps)
    prompt_tokens = 30  # the chat template's system and user turns around a short question, SmolLM2's tokenizer
    print(f"GRPO, demo model, LoRA r8, {BATCH} prompts x {GENERATIONS} answers of up to {LONGEST} tokens, "
          f"{args.steps} steps, CPU fp32")
    print("| | s/step | peak MB | generating | answer tokens | GENERATION_COST |")
    print("|---|---|---|---|---|---|")
    for name, result in (("TRL GRPOTrainer directly", trl), ("ours", ours)):
        print(f"| {name} | {result['seconds_per_step']:.2f} | {result['memory'] / 2**20:.0f} | "
              f"{result['generating_share']:.0%} | {result['answer_tokens']:.1f} | "
              f"{generation_cost(result, prompt_tokens):.2f} |")
    print(f"| ours / TRL | {ours['seconds_per_step'] / trl['seconds_per_step']:.2f}x time | "
          f"{ours['memory'] / trl['memory']:.2f}x memory | | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
