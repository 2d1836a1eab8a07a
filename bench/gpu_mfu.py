"""Model FLOPs utilisation on a GPU: ours against TRL's SFTTrainer with Liger kernels, 1B and 3B Llama shapes.

Random-weight models with the real Llama 3.2 1B and 3B shapes (the demo tokenizer, so the vocabulary is 49,152
instead of 128,256: the head is smaller, the blocks are the real ones), bf16 LoRA r16 on all linear layers and
4-bit QLoRA, length-skewed instructions, batch 16, max length 1024, 30 steps each, each run in a process of its
own. Ours: TrainingSession (padding-free rows, attention per example through torch's varlen flash kernel,
logits only for loss tokens). TRL: SFTTrainer with packing (best-fit decreasing), padding-free rows,
completion-only loss and `use_liger_kernel=True` where liger-kernel is installed (said in the output if not).

MFU = processed tokens/s x FLOPs per token / the GPU's dense bf16 peak (989 TFLOP/s for an H100/H200), with
FLOPs per token = 4 N + 12 L H D c: N the parameters of the blocks' linear layers plus the head's share for the
tokens that carry loss (forward 2N, backward through the frozen weights 2N; LoRA's own products are under 1%),
L layers, H query heads of width D, and c = sum(n^2) / (2 sum(n)) the mean number of keys a query attends to in
causal attention over examples of n tokens (forward 4 L H D c, backward twice that). The same formula for both
recipes, from the same data.

Usage (on a machine with a CUDA GPU): python bench/gpu_mfu.py TOKENIZER_FOLDER OUT_FOLDER [--steps 30]
Prints one JSON line per run and the table; writes OUT_FOLDER/gpu_mfu.json.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="gpu-mfu-data-"))
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="gpu-mfu-cache-"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SHAPES = {
    "1B": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
               num_key_value_heads=8, head_dim=64),
    "3B": dict(hidden_size=3072, intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
               num_key_value_heads=8, head_dim=128),
}
PEAK_FLOPS = 989e12
BATCH, MAX_LENGTH, LORA = 16, 1024, dict(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear")


def flops_per_token(shape: dict, vocab: int, lengths: list[int], loss_share: float) -> float:
    d, inter, layers = shape["hidden_size"], shape["intermediate_size"], shape["num_hidden_layers"]
    heads, kv, width = shape["num_attention_heads"], shape["num_key_value_heads"], shape["head_dim"]
    per_layer = d * heads * width * 2 + d * kv * width * 2 + 3 * d * inter  # q,o + k,v + gate,up,down
    n = layers * per_layer + vocab * d * loss_share
    keys = sum(x * x for x in lengths) / (2 * sum(lengths))
    return 4 * n + 12 * layers * heads * width * keys


def ours(folder: str, dataset: str, steps: int, quantized: bool) -> dict:
    import torch

    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.training.session import TrainingSession

    config = TrainingConfig(model_path=folder, dataset_path=dataset, precision="bf16", batch_size=BATCH,
                            max_seq_length=MAX_LENGTH, lora_r=LORA["r"], lora_alpha=LORA["lora_alpha"],
                            lora_dropout=0.0, max_steps=steps, save_steps=10**6, eval_strategy="no",
                            validation_split=0.0, packing=True,
                            peft_method="qlora" if quantized else "lora", quantization="4bit" if quantized else None)
    session = TrainingSession.create(config, Path(tempfile.mkdtemp()) / "run")
    marks = []
    session.events.listeners.append(lambda e: marks.append(e) if e["type"] == "metrics" and not e["heartbeat"]
                                    else None)
    torch.cuda.reset_peak_memory_stats()
    session.run()
    first, last = marks[1], marks[-1]  # from the end of step 2: both recipes' warm-up left out
    seconds = last["time"] - first["time"]
    return {"tokens_per_second": (last["input_tokens"] - first["input_tokens"]) / seconds,
            "loss_tokens_per_second": (last["train_tokens"] - first["train_tokens"]) / seconds,
            "peak_gpu_gb": torch.cuda.max_memory_allocated() / 2**30, "liger": False}


def trl(folder: str, rows: list[dict], steps: int, quantized: bool) -> dict:
    import importlib.util

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    liger = importlib.util.find_spec("liger_kernel") is not None
    tokenizer = AutoTokenizer.from_pretrained(folder)
    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                      bnb_4bit_compute_dtype=torch.bfloat16) if quantized else None
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16, quantization_config=quantization,
                                                 device_map={"": 0}, attn_implementation="sdpa")
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": r["instruction"]}],
                                  "completion": [{"role": "assistant", "content": r["output"]}]} for r in rows])
    args = SFTConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=BATCH, max_length=MAX_LENGTH,
                     max_steps=steps, learning_rate=2e-4, logging_steps=1, save_strategy="no", report_to="none",
                     bf16=True, gradient_checkpointing=False, packing=True, packing_strategy="bfd",
                     padding_free=True, completion_only_loss=True, use_liger_kernel=liger, disable_tqdm=True)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA))
    counted, marks = {"tokens": 0, "loss": 0}, []
    collate = trainer.data_collator

    def counting(batch):
        out = collate(batch)
        counted["tokens"] += int(out["input_ids"].numel())
        counted["loss"] += int((out["labels"] != -100).sum())
        return out

    trainer.data_collator = counting

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            torch.cuda.synchronize()
            marks.append((time.perf_counter(), counted["tokens"], counted["loss"]))

    trainer.add_callback(Clock())
    torch.cuda.reset_peak_memory_stats()
    trainer.train()
    (t0, tokens0, loss0), (t1, tokens1, loss1) = marks[1], marks[-1]
    return {"tokens_per_second": (tokens1 - tokens0) / (t1 - t0), "loss_tokens_per_second": (loss1 - loss0) / (t1 - t0),
            "peak_gpu_gb": torch.cuda.max_memory_allocated() / 2**30, "liger": liger}


def in_own_process(function, *args) -> dict:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("tokenizer_folder", type=Path)
    parser.add_argument("out_folder", type=Path)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--shapes", default="1B,3B")
    options = parser.parse_args()
    from gpu_check import make_model
    from synthetic_data import length_skewed_alpaca, write_jsonl
    from transformers import AutoTokenizer

    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.data.prepare import prepare

    work = Path(tempfile.mkdtemp(prefix="gpu-mfu-"))
    rows = length_skewed_alpaca(BATCH * (options.steps + 2) * 2)
    dataset = write_jsonl(rows, work / "skewed.jsonl")
    tokenizer = AutoTokenizer.from_pretrained(options.tokenizer_folder)
    features = prepare(TrainingConfig(dataset_path=str(dataset), max_seq_length=MAX_LENGTH, validation_split=0.0),
                       tokenizer).train
    lengths = [len(f["input_ids"]) for f in features]
    loss_share = sum(sum(t != -100 for t in f["labels"]) for f in features) / sum(lengths)
    results = []
    for name in options.shapes.split(","):
        folder = str(make_model(options.tokenizer_folder, work / name, **SHAPES[name]))
        per_token = flops_per_token(SHAPES[name], len(tokenizer), lengths, loss_share)
        for quantized in (False, True):
            row = {}
            for recipe, run in (("ours", lambda: in_own_process(ours, folder, str(dataset), options.steps, quantized)),
                                ("TRL", lambda: in_own_process(trl, folder, rows, options.steps, quantized))):
                try:
                    result = run()
                except Exception as exc:  # noqa: BLE001 - a recipe that fails here is reported, the others run
                    result = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
                if "tokens_per_second" in result:
                    result["mfu"] = result["tokens_per_second"] * per_token / PEAK_FLOPS
                row[recipe] = result
                line = {"shape": name, "method": "QLoRA 4-bit" if quantized else "LoRA bf16", "recipe": recipe,
                        **result}
                results.append(line)
                print(json.dumps(line), flush=True)
            if "mfu" in row.get("ours", {}) and "mfu" in row.get("TRL", {}):
                print(f"{name} {'QLoRA' if quantized else 'LoRA'}: ours MFU {row['ours']['mfu']:.1%}, TRL"
                      f"{' + Liger' if row['TRL']['liger'] else ''} {row['TRL']['mfu']:.1%}; speed-up "
                      f"{row['ours']['loss_tokens_per_second'] / row['TRL']['loss_tokens_per_second']:.2f}x",
                      flush=True)
    options.out_folder.mkdir(parents=True, exist_ok=True)
    (options.out_folder / "gpu_mfu.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
