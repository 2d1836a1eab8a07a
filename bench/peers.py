"""Our training speed against what users would otherwise run, in one process, on the same data and settings.

Peers (the demo model, LoRA r16 alpha 32 on all linear layers, batch 8, max length 512, lr 2e-4, fp32 on a CPU):
    naive  the transformers + peft docs' recipe: Trainer, rows padded to the longest of each random batch, the
           model's own loss (bench/train_throughput.py's baseline)
    TRL    trl.SFTTrainer with peft_config, in each configuration worth trying on this device (packing with
           best-fit decreasing and padding-free rows, completion-only loss; and padded rows with
           completion-only loss); the fastest is reported as "TRL"
    ours   peftstudio's TrainingSession (padding-free rows with attention per example, logits only where there
           is a target, cheaper LoRA dropout masks, one thread per core other programs leave free)
Each trains until it has seen the same number of loss-carrying tokens as the naive run's N steps. Two datasets:
length-skewed instructions (20-600 tokens, median ~110) and long documents for continued pretraining (plain
text, 300-500 tokens each). Each recipe runs in a fresh process of its own, so that its peak memory is its own.
Printed: loss-carrying tokens/s, the process's peak RSS (model and libraries included, the same for all), and our
speed-up against each peer (`N.NNx`). `--busy` repeats naive and ours while a second process multiplies matrices on one core, and prints the
busy-machine ratio next to the idle one.
"after step 1" is each one's rate from the end of its first step (the same starting point for every recipe).
Usage: python bench/peers.py [--naive-steps 8] [--examples 400] [--busy] [--skip-documents|--skip-instructions]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".test-cache"))

from synthetic_data import WORDS, length_skewed_alpaca, write_jsonl  # noqa: E402
from train_throughput import LORA, PeakRSS, baseline, ours, steady_rate  # noqa: E402

TRL_CONFIGS = {
    "packed, padding-free": dict(packing=True, packing_strategy="bfd", padding_free=True),
    "padded": dict(packing=False),
}


def long_documents(count: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [{"text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(250, 420))).capitalize() + "."}
            for _ in range(count)]


def trl_run(folder: Path, rows: list[dict], target_tokens: int, tokenizer, settings: dict) -> dict:
    """SFTTrainer as TRL's docs show it, stopped once it has trained on `target_tokens` loss-carrying tokens."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, TrainerCallback, set_seed
    from trl import SFTConfig, SFTTrainer

    set_seed(0)
    if "text" in rows[0]:
        dataset = Dataset.from_list(rows)
    else:
        dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": r["instruction"]}],
                                      "completion": [{"role": "assistant", "content": r["output"]}]} for r in rows])
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype="float32")
    args = SFTConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=8, max_length=512, max_steps=10_000,
                     learning_rate=2e-4, logging_steps=1, save_strategy="no", report_to="none", use_cpu=True,
                     bf16=False, fp16=False, gradient_checkpointing=False, disable_tqdm=True, seed=0,
                     completion_only_loss=True, **settings)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA))
    counted, timing = {"tokens": 0}, {}
    collate = trainer.data_collator

    def counting(batch):
        out = collate(batch)
        labels = out["labels"]
        if "position_ids" in out and labels.shape[0] == 1:  # one packed row: each example's first label is -100
            counted["tokens"] += int((labels != -100).sum())
        else:
            counted["tokens"] += int((labels[:, 1:] != -100).sum())
        return out

    trainer.data_collator = counting

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            timing["start"] = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 1:
                timing["first_step"], timing["first_tokens"] = time.perf_counter(), counted["tokens"]
            if counted["tokens"] >= target_tokens:
                control.should_training_stop = True

        def on_train_end(self, *a, **k):
            timing["end"] = time.perf_counter()

    trainer.add_callback(Clock())
    with PeakRSS() as rss:
        trainer.train()
    seconds = timing["end"] - timing["start"]
    del trainer, model
    return {"loss_tokens": counted["tokens"], "seconds": seconds, "tokens_per_second": counted["tokens"] / seconds,
            "peak_growth": rss.peak - rss.start_rss, "peak_rss": rss.peak,
            "steady_tokens_per_second": steady_rate(counted["tokens"] - timing.get("first_tokens", 0),
                                                    timing["end"] - timing.get("first_step", timing["start"]))}


def busy_core(stop) -> None:
    """The fixed background load: matrix products on one core until told to stop."""
    import torch

    torch.set_num_threads(1)
    a = torch.randn(512, 512)
    while not stop.is_set():
        a = torch.tanh(a @ a)


def recipe(name: str, folder: Path, *args) -> dict:
    """One recipe, in the fresh process `in_own_process` starts."""
    from peftstudio.cli import quiet_libraries
    from peftstudio.engine.models import load_tokenizer

    quiet_libraries()
    if name == "naive":
        features, steps = args
        return baseline(folder, features, steps, load_tokenizer(folder))
    if name == "TRL":
        rows, target, settings = args
        return trl_run(folder, rows, target, load_tokenizer(folder), settings)
    dataset, target, model_id = args
    return ours(dataset, target, model_id)


def in_own_process(name: str, folder: Path, *args) -> dict:
    """Freed memory does not go back to the system reliably, so recipes measured one after another in one process
    would inherit each other's peak; each gets a process of its own (spawned: nothing inherited but the
    environment)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(recipe, name, folder, *args).result()


def compare(name: str, rows: list[dict], steps: int, folder: Path, tokenizer, model_id: str, busy: bool) -> None:
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.data.prepare import prepare

    dataset = write_jsonl(rows, Path(tempfile.mkdtemp()) / f"{name}.jsonl")
    features = prepare(TrainingConfig(dataset_path=str(dataset), max_seq_length=512, validation_split=0.0, seed=0),
                       tokenizer).train
    print(f"\n== {name}: {len(features)} examples")
    naive = in_own_process("naive", folder, features, steps)
    target = naive["loss_tokens"]
    peers = {"naive": naive}
    for label, settings in TRL_CONFIGS.items():
        try:
            peers[f"TRL {label}"] = in_own_process("TRL", folder, rows, target, settings)
        except Exception as exc:  # noqa: BLE001 - a configuration TRL refuses here is reported, not fatal
            print(f"TRL {label}: not run ({type(exc).__name__}: {str(exc)[:120]})")
    mine = in_own_process("ours", folder, dataset, target, model_id)
    trl_best = max((k for k in peers if k.startswith("TRL")), key=lambda k: peers[k]["tokens_per_second"],
                   default=None)
    print(f"{'':28} {'loss tokens':>11} {'seconds':>8} {'tokens/s':>9} {'after step 1':>13} {'peak RSS':>9}")
    for label, r in [*peers.items(), ("ours", mine)]:
        print(f"{label:28} {r['loss_tokens']:11d} {r['seconds']:8.1f} {r['tokens_per_second']:9.1f} "
              f"{r['steady_tokens_per_second']:13.1f} {r['peak_rss'] / 2**30:8.2f}G")
    print(f"naive: ours is {mine['tokens_per_second'] / naive['tokens_per_second']:.2f}x as fast at "
          f"{mine['peak_rss'] / naive['peak_rss']:.2f}x the peak memory; speed-up "
          f"{mine['tokens_per_second'] / naive['tokens_per_second']:.2f}x")
    if trl_best:
        best = peers[trl_best]
        print(f"TRL (best here: {trl_best[4:]}): speed-up {mine['tokens_per_second'] / best['tokens_per_second']:.2f}x")
    if busy:
        stop = multiprocessing.Event()
        load = multiprocessing.Process(target=busy_core, args=(stop,), daemon=True)
        load.start()
        try:
            busy_naive = in_own_process("naive", folder, features, steps)
            busy_mine = in_own_process("ours", folder, dataset, busy_naive["loss_tokens"], model_id)
        finally:
            stop.set()
            load.join(10)
        idle_ratio = mine["tokens_per_second"] / naive["tokens_per_second"]
        busy_ratio = busy_mine["tokens_per_second"] / busy_naive["tokens_per_second"]
        print(f"busy machine (one core multiplying matrices): naive {busy_naive['tokens_per_second']:.1f}, ours "
              f"{busy_mine['tokens_per_second']:.1f} tokens/s; ratio {busy_ratio:.2f}x against {idle_ratio:.2f}x idle "
              f"({busy_ratio / idle_ratio:.2f} of it)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--naive-steps", type=int, default=8)  # more steps: less weight on the first
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--busy", action="store_true")
    parser.add_argument("--skip-documents", action="store_true")
    parser.add_argument("--skip-instructions", action="store_true")
    options = parser.parse_args()
    from peftstudio.cli import quiet_libraries

    quiet_libraries()
    os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp()
    from peftstudio.engine.models import DEMO_MODEL_ID, load_tokenizer, resolve_model, trainable_folder

    folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
    tokenizer = load_tokenizer(folder)
    if not options.skip_instructions:
        compare("instructions", length_skewed_alpaca(options.examples), options.naive_steps, folder, tokenizer,
                DEMO_MODEL_ID, options.busy)
    if not options.skip_documents:
        compare("documents", long_documents(options.examples // 2), options.naive_steps, folder, tokenizer,
                DEMO_MODEL_ID, options.busy)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
