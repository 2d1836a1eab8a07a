"""The CUDA-only checks, in one short run on a lent GPU machine (see README "GPU checks").

Models are random-initialised copies of real architectures (the demo model's SmolLM2-135M shape and a
0.8B Llama shape) with the demo tokenizer: speed and memory do not depend on the weights' values, and no
weights need to travel. Prints one JSON line per check and writes them all to OUT/gpu_check.json.

1. hardware detection through NVML;
2. predicted vs measured peak GPU memory (torch.cuda.max_memory_allocated) for LoRA bf16 and QLoRA 4-bit;
3. a QLoRA (bitsandbytes 4-bit) training run through the CLI;
4. a 1-GPU launch through the same launcher path as multi-GPU runs vs the same run in process.
(Throughput against the naive Trainer: bench/train_throughput.py --gpu --model FOLDER.)

Usage: python bench/gpu_check.py TOKENIZER_FOLDER OUT_FOLDER [CHECKS]
CHECKS: comma-separated subset of hardware,memory,heldout,qlora,one-gpu (default: all)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="gpu-check-data-"))
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", tempfile.mkdtemp(prefix="gpu-check-cache-"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
RESULTS: list[dict] = []
BIG = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=16, num_attention_heads=32,
           num_key_value_heads=8, head_dim=64)


def report(check: str, **fields) -> None:
    line = {"check": check, **fields}
    RESULTS.append(line)
    print(json.dumps(line, default=str), flush=True)


def make_model(tokenizer_folder: Path, out: Path, **overrides) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tokenizer_folder)
    for key, value in overrides.items():
        setattr(config, key, value)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(out)
    for item in tokenizer_folder.iterdir():
        if item.name.startswith(("tokenizer", "chat_template", "generation_config")):
            shutil.copy(item, out / item.name)
    return out


MEMORY_CHILD = r"""
import json, sys, torch, peft
from peftstudio.engine.models import load_causal_lm
from peftstudio.engine.training.device import bitsandbytes_config
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.training.loss_trainer import selected_token_loss
folder, batch, seq, quant = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
quantization = None
if quant != "none":
    quantization = bitsandbytes_config(TrainingConfig(peft_method="qlora", quantization=quant), "bf16")
model = load_causal_lm(folder, dtype=torch.bfloat16, quantization_config=quantization, device_map={"": 0})
model = peft.get_peft_model(model, peft.LoraConfig(r=16, lora_alpha=32, target_modules="all-linear",
                                                   task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
torch.cuda.reset_peak_memory_stats()
for step in range(3):
    ids = torch.randint(100, 40000, (batch, seq), device="cuda")
    targets = ids.roll(-1, dims=1).clone()
    targets[:, : int(seq * 0.4)] = -100
    targets[:, -1] = -100
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss, n = selected_token_loss(model, {"input_ids": ids, "shift_labels": targets,
                                              "position_ids": torch.arange(seq, device="cuda").repeat(batch, 1)})
    (loss / n).backward()
    optimizer.step()
    optimizer.zero_grad()
torch.cuda.synchronize()
print(json.dumps({"allocated": torch.cuda.max_memory_allocated(), "reserved": torch.cuda.max_memory_reserved()}))
"""


SHAPES = (("demo", 4, 512, "none"), ("demo", 8, 1024, "none"), ("big", 2, 1024, "none"), ("big", 4, 2048, "none"),
          ("big", 4, 1024, "4bit"), ("big", 8, 512, "8bit"))
HELD_OUT = (("demo", 2, 2048, "none"), ("big", 1, 4096, "none"), ("big", 16, 256, "4bit"))  # not used for fitting


def memory_accuracy(models: dict[str, Path], shapes) -> None:
    from peftstudio.engine.planning.memory_model import CUDA_CONTEXT, estimate_memory
    from peftstudio.engine.planning.facts_reader import facts_from_folder

    for name, batch, seq, quant in shapes:
        facts = facts_from_folder(models[name])
        predicted = estimate_memory(facts, batch_size=batch, seq_len=seq, r=16, target_modules=["all-linear"],
                                    precision="bf16", quantization=None if quant == "none" else quant,
                                    gradient_checkpointing=False, device="cuda")
        out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(models[name]), str(batch), str(seq), quant],
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            report("memory", model=name, batch=batch, seq=seq, quant=quant, error=out.stderr[-1500:])
            continue
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        # max_memory_allocated excludes the CUDA context and the allocator's slack, which the model adds
        tensors = predicted.total - predicted.overhead
        report("memory", model=name, params=facts.total_parameters, batch=batch, seq=seq, quant=quant,
               predicted_tensors_gb=round(tensors / 2**30, 3),
               measured_allocated_gb=round(measured["allocated"] / 2**30, 3),
               error_allocated=round(tensors / measured["allocated"] - 1, 3),
               predicted_total_gb=round(predicted.total / 2**30, 3),
               measured_reserved_plus_context_gb=round((measured["reserved"] + CUDA_CONTEXT) / 2**30, 3),
               error_total=round(predicted.total / (measured["reserved"] + CUDA_CONTEXT) - 1, 3))


def cli(*args, timeout=300) -> dict:
    out = subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1]) | {"returncode": out.returncode}
    except (ValueError, IndexError):
        return {"returncode": out.returncode, "stderr": out.stderr[-2000:]}


def rate(run_dir: Path) -> dict:
    from peftstudio.engine.runs.events import read_events

    events = read_events(run_dir / "events.jsonl")
    metrics = [e for e in events if e["type"] == "metrics" and not e.get("heartbeat")]
    running = [e["time"] for e in events if e.get("status") == "running"]
    if not metrics or not running:
        return {}
    seconds = metrics[-1]["time"] - running[-1]
    return {"steps": metrics[-1]["step"], "train_seconds": round(seconds, 2),
            "loss_tokens_per_second": round(metrics[-1]["train_tokens"] / seconds, 1),
            "first_loss": metrics[0]["loss"], "last_loss": metrics[-1]["loss"]}


def main() -> int:
    tokenizer_folder, out_folder = Path(sys.argv[1]), Path(sys.argv[2])
    checks = set((sys.argv[3] if len(sys.argv) > 3 else "hardware,memory,heldout,qlora,one-gpu").split(","))
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    started = time.perf_counter()
    if "hardware" in checks:
        report("hardware", **cli("hardware", "--json", "--refresh"))
    models = {"demo": make_model(tokenizer_folder, work / "demo"), "big": make_model(tokenizer_folder, work / "big",
                                                                                      **BIG)}
    from synthetic_data import length_skewed_alpaca, write_jsonl

    dataset = write_jsonl(length_skewed_alpaca(2000), work / "skewed.jsonl")
    if "memory" in checks:
        memory_accuracy(models, SHAPES)
    if "heldout" in checks:
        memory_accuracy(models, HELD_OUT)

    settings = {"max_steps": 20, "batch_size": 8, "max_seq_length": 512, "save_steps": 10, "eval_strategy": "no",
                "validation_split": 0.0}
    if "qlora" in checks:
        qlora(models, dataset, work, settings)
    if "one-gpu" in checks:
        one_gpu(models, dataset, work, settings)
    report("done", seconds=round(time.perf_counter() - started, 1))
    out_folder.mkdir(parents=True, exist_ok=True)
    (out_folder / "gpu_check.json").write_text(json.dumps(RESULTS, indent=2, default=str))
    return 0


def qlora(models, dataset, work, settings) -> None:
    result = cli("train", "--model", str(models["big"]), "--dataset", str(dataset), "--out", str(work / "qlora"),
                "--config", json.dumps(settings | {"peft_method": "qlora", "quantization": "4bit"}), "--json")
    report("qlora", status=result.get("status"), returncode=result["returncode"], error=result.get("error"),
           stderr=result.get("stderr"), adapter=(work / "qlora" / "adapter" / "adapter_model.safetensors").exists(),
           **rate(work / "qlora"))


def one_gpu(models, dataset, work, settings) -> None:
    for processes, name in ((None, "in-process"), (1, "launched")):
        extra = ["--processes", str(processes)] if processes else []
        result = cli("train", "--model", str(models["demo"]), "--dataset", str(dataset), "--out", str(work / name),
                     "--config", json.dumps(settings | {"max_steps": 60}), "--json", *extra)
        report("one-gpu", mode=name, status=result.get("status"), returncode=result["returncode"],
               error=result.get("error"), stderr=result.get("stderr"), **rate(work / name))


if __name__ == "__main__":
    raise SystemExit(main())
