"""Training throughput: a naive Trainer + PEFT baseline vs our engine, in one process.

Both train the demo model with the same LoRA config on the same examples (a generated, length-skewed
instruction dataset of 2,000 examples, max length 512, batch 8) for the same number of loss-carrying
tokens. The baseline is what the transformers and peft docs show: Trainer, pad to the longest
example of each random batch, the model's own loss over full-vocabulary logits. Ours is
`TrainingSession`: padding-free packing and logits only where there is a target.

Prints loss-carrying tokens/s of each, the ratio, and the peak memory (RSS) of each phase.
Usage: python bench/train_throughput.py [--baseline-steps 6] [--examples 2000] [--model FOLDER] [--gpu]
(--gpu: both in bf16 on the first CUDA device, peak memory as torch.cuda.max_memory_allocated)
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".test-cache"))

import psutil  # noqa: E402
from synthetic_data import length_skewed_alpaca, write_jsonl  # noqa: E402

from peftstudio.cli import quiet_libraries  # noqa: E402

LORA = dict(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear")


class PeakRSS:
    """Samples this process's RSS every 20 ms; `peak` is the highest reading while running."""

    def __init__(self):
        self.process = psutil.Process()
        self.start_rss = self.process.memory_info().rss
        self.peak = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def release_memory():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def steady_rate(tokens: int, seconds: float) -> float:
    """Loss tokens per second after the first step: both recipes' clocks then start at the same point (the
    first step's end), leaving out set-up and first-batch work that each recipe times differently."""
    return tokens / seconds if seconds > 0 else float("nan")


def gpu_peak() -> float:
    import torch

    return float(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else 0.0


def reset_gpu_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def baseline(folder: Path, features: list[dict], steps: int, tokenizer, gpu: bool = False) -> dict:
    """The docs' way: Trainer + LoRA, DataCollatorForSeq2Seq padding to the longest, random order."""
    from peft import LoraConfig, get_peft_model
    from transformers import (AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer, TrainerCallback,
                              TrainingArguments, set_seed)

    set_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype="bfloat16" if gpu else "float32")
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **LORA))
    pad = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    counted = {"tokens": 0}

    def collate(batch):
        out = pad([{"input_ids": f["input_ids"], "attention_mask": [1] * len(f["input_ids"]),
                    "labels": f["labels"]} for f in batch])
        counted["tokens"] += int((out["labels"][:, 1:] != -100).sum())
        return out

    timing = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            timing["start"] = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 1:  # the steady rate is measured from here (see steady_rate)
                timing["first_step"], timing["first_tokens"] = time.perf_counter(), counted["tokens"]

        def on_train_end(self, *a, **k):
            timing["end"] = time.perf_counter()

    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=8, max_steps=steps,
                             learning_rate=2e-4, logging_steps=1, save_strategy="no", report_to="none",
                             use_cpu=not gpu, bf16=gpu, disable_tqdm=True, remove_unused_columns=False, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=features, data_collator=collate, callbacks=[Clock()])
    with PeakRSS() as rss:
        trainer.train()
    seconds = timing["end"] - timing["start"]
    result = {"loss_tokens": counted["tokens"], "seconds": seconds, "tokens_per_second": counted["tokens"] / seconds,
              "peak_rss": rss.peak, "peak_growth": rss.peak - rss.start_rss, "gpu_peak": gpu_peak(),
              "steady_tokens_per_second": steady_rate(counted["tokens"] - timing.get("first_tokens", 0),
                                                      timing["end"] - timing.get("first_step", timing["start"]))}
    del trainer, model
    return result


def ours(dataset: Path, target_tokens: int, model: str, gpu: bool = False) -> dict:
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.training.session import TrainingSession

    config = TrainingConfig(model_name=model, dataset_path=str(dataset), precision="bf16" if gpu else "fp32",
                            batch_size=8, max_seq_length=512, lora_r=LORA["r"],
                            lora_alpha=LORA["lora_alpha"], lora_dropout=LORA["lora_dropout"], learning_rate=2e-4,
                            max_steps=10_000, save_steps=10_000, eval_strategy="no", validation_split=0.0,
                            packing=True, seed=0)
    session = TrainingSession.create(config, Path(tempfile.mkdtemp()) / "run")
    marks = {}

    def watch(event):
        if event["type"] == "status" and event["status"] == "running":
            marks["start"] = event["time"]
        if event["type"] == "metrics" and not event["heartbeat"]:
            marks["end"], marks["tokens"] = event["time"], event["train_tokens"]
            marks.setdefault("first_step", event["time"])
            marks.setdefault("first_tokens", event["train_tokens"])
            if event["train_tokens"] >= target_tokens:
                session.stop()

    session.events.listeners.append(watch)
    with PeakRSS() as rss:
        session.run()
    seconds = marks["end"] - marks["start"]
    return {"loss_tokens": marks["tokens"], "seconds": seconds, "tokens_per_second": marks["tokens"] / seconds,
            "steady_tokens_per_second": steady_rate(marks["tokens"] - marks["first_tokens"],
                                                    marks["end"] - marks["first_step"]),
            "peak_rss": rss.peak, "peak_growth": rss.peak - rss.start_rss, "gpu_peak": gpu_peak()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline-steps", type=int, default=6)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--model", help="model folder (default: the demo model)")
    parser.add_argument("--gpu", action="store_true", help="train both in bf16 on CUDA")
    options = parser.parse_args()
    quiet_libraries()
    os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp()

    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.data.prepare import prepare
    from peftstudio.engine.models import DEMO_MODEL_ID, load_tokenizer, resolve_model, trainable_folder

    model = options.model or DEMO_MODEL_ID
    folder = trainable_folder(resolve_model(model))
    tokenizer = load_tokenizer(folder)
    dataset = write_jsonl(length_skewed_alpaca(options.examples), Path(tempfile.mkdtemp()) / "skewed.jsonl")
    # the same tokenized examples for both (our prepare: chat template, loss on the reply only)
    features = prepare(TrainingConfig(dataset_path=str(dataset), max_seq_length=512, validation_split=0.0, seed=0),
                       tokenizer).train
    lengths = sorted(len(f["input_ids"]) for f in features)
    print(f"dataset: {len(features)} examples, tokens per example min {lengths[0]}, "
          f"median {lengths[len(lengths) // 2]}, p95 {lengths[int(len(lengths) * 0.95)]}, max {lengths[-1]}")

    reset_gpu_peak()
    base = baseline(folder, features, options.baseline_steps, tokenizer, options.gpu)
    release_memory()
    reset_gpu_peak()
    ours_result = ours(dataset, base["loss_tokens"], model, options.gpu)

    print(f"{'':10} {'loss tokens':>12} {'seconds':>9} {'tokens/s':>9} {'peak RSS':>10} {'growth':>9}")
    for name, r in (("baseline", base), ("ours", ours_result)):
        print(f"{name:10} {r['loss_tokens']:12d} {r['seconds']:9.1f} {r['tokens_per_second']:9.1f} "
              f"{r['peak_rss'] / 2**30:9.2f}G {r['peak_growth'] / 2**30:8.2f}G")
    print(f"throughput ratio (ours / baseline): {ours_result['tokens_per_second'] / base['tokens_per_second']:.2f}x")
    print(f"peak memory growth ratio (ours / baseline): {ours_result['peak_growth'] / base['peak_growth']:.2f}")
    if options.gpu:
        print(f"peak GPU memory allocated: baseline {base['gpu_peak'] / 2**30:.2f} GB, ours "
              f"{ours_result['gpu_peak'] / 2**30:.2f} GB ({ours_result['gpu_peak'] / base['gpu_peak']:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
