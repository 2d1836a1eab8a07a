"""Where a training step's CPU time goes: torch.profiler's top operators for the naive recipe and for ours, on
the same long documents (continued pretraining, every token carries loss) or length-skewed instructions.

Usage: python bench/profile_step.py [--set documents|instructions] [--steps 3] [--rows 12]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".test-cache"))

from peers import long_documents  # noqa: E402
from synthetic_data import length_skewed_alpaca, write_jsonl  # noqa: E402
from train_throughput import baseline, ours, release_memory  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", choices=["documents", "instructions"], default="documents")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=12)
    options = parser.parse_args()
    from torch.profiler import ProfilerActivity, profile

    from peftstudio.cli import quiet_libraries
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.data.prepare import prepare
    from peftstudio.engine.models import DEMO_MODEL_ID, load_tokenizer, resolve_model, trainable_folder

    quiet_libraries()
    os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp()
    folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
    tokenizer = load_tokenizer(folder)
    rows = long_documents(100) if options.set == "documents" else length_skewed_alpaca(200)
    dataset = write_jsonl(rows, Path(tempfile.mkdtemp()) / "data.jsonl")
    features = prepare(TrainingConfig(dataset_path=str(dataset), max_seq_length=512, validation_split=0.0, seed=0),
                       tokenizer).train
    with profile(activities=[ProfilerActivity.CPU]) as naive_profile:
        naive = baseline(folder, features, options.steps, tokenizer)
    release_memory()
    with profile(activities=[ProfilerActivity.CPU]) as our_profile:
        mine = ours(dataset, naive["loss_tokens"], DEMO_MODEL_ID)
    for name, result, prof in (("naive", naive, naive_profile), ("ours", mine, our_profile)):
        print(f"\n== {name}: {result['loss_tokens']} loss tokens in {result['seconds']:.1f} s "
              f"({result['tokens_per_second']:.1f}/s)")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=options.rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
