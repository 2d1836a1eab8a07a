"""Predicted vs measured peak training memory of the demo model on this CPU.

For 3 batch sizes x 2 sequence lengths (plus two held-out shapes and ranks), a fresh child process loads the model with LoRA (all-linear,
r=16), runs 3 real training steps of our trainer's loss on full-length sequences, and reports its
peak RSS (VmHWM) minus its RSS right after importing torch/transformers/peft (the interpreter and
libraries, which the memory model does not count). Target: every prediction within +/-25%.
Usage: python bench/memory_accuracy.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".test-cache"))

CHILD = r"""
import json, sys
def hwm():
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
def rss():
    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) * 1024
import torch, transformers, peft
from peftstudio.engine.models import DEMO_MODEL_ID, load_causal_lm, resolve_model, trainable_folder
from peftstudio.engine.token_loss import selected_token_loss
batch, seq, rank = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
start = rss()
model = load_causal_lm(folder)
model = peft.get_peft_model(model, peft.LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05,
                                                   target_modules="all-linear", task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
torch.manual_seed(0)
for step in range(3):
    ids = torch.randint(100, 40000, (batch, seq))
    targets = ids.roll(-1, dims=1).clone()
    targets[:, : int(seq * 0.4)] = -100  # about 60% of tokens carry loss
    targets[:, -1] = -100
    loss, n = selected_token_loss(model, {"input_ids": ids, "shift_labels": targets,
                                          "position_ids": torch.arange(seq).repeat(batch, 1)})
    (loss / n).backward()
    optimizer.step()
    optimizer.zero_grad()
print(json.dumps({"growth": hwm() - start}))
"""


def main() -> int:
    from peftstudio.engine.planning.memory_model import estimate_memory
    from peftstudio.engine.planning.facts_reader import model_facts
    from peftstudio.engine.models import DEMO_MODEL_ID

    facts = model_facts(DEMO_MODEL_ID)
    print(f"{'batch':>5} {'seq':>5} {'rank':>4} {'predicted':>10} {'measured':>10} {'error':>7}")
    worst = 0.0
    # the first six shapes are the ones ACT_HIDDEN/ACT_INTERMEDIATE were fitted on; the last two are held out
    shapes = [(b, s, 16) for s in (128, 256) for b in (1, 4, 8)] + [(2, 512, 8), (3, 384, 32)]
    for index, (batch, seq, rank) in enumerate(shapes):
        out = subprocess.run([sys.executable, "-c", CHILD, str(batch), str(seq), str(rank)], capture_output=True,
                             text=True, check=True)
        measured = json.loads(out.stdout.strip().splitlines()[-1])["growth"]
        predicted = estimate_memory(facts, batch_size=batch, seq_len=seq, r=rank, target_modules=["all-linear"],
                                    precision="fp32", quantization=None, gradient_checkpointing=False,
                                    device="cpu").total
        error = (predicted - measured) / measured
        worst = max(worst, abs(error))
        note = "  (held out)" if index >= 6 else ""
        print(f"{batch:5d} {seq:5d} {rank:4d} {predicted / 2**30:9.2f}G {measured / 2**30:9.2f}G "
              f"{100 * error:+6.1f}%{note}")
    print(f"worst error: {100 * worst:.1f}% (target 25%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
