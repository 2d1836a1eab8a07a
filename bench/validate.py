"""Dataset service speed and memory.

1. Detection + validation of a generated 100,000-row alpaca JSONL (no tokenization); baseline in the same
   process: loading the same file with Hugging Face `datasets` (which validates nothing).
2. Token statistics of 10,000 rows with the demo model's fast tokenizer; baseline: rendering the chat
   template for every row and tokenizing it (the exact, slow way).
3. Peak memory (RSS) of a child process validating a ~500 MB JSONL (streamed, never loaded whole).

Targets on this 2-core machine: (1) under 3 s, (2) under 3 s, (3) under 300 MB.
Usage: python bench/validate.py [--big-mb 500]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".test-cache"))

from synthetic_data import length_skewed_alpaca  # noqa: E402


def write_rows(path: Path, rows: list[dict], repeat_to_bytes: int | None = None) -> Path:
    lines = [json.dumps(r) for r in rows]
    with open(path, "w", encoding="utf-8") as handle:
        written, i = 0, 0
        while True:
            line = lines[i % len(lines)]
            if repeat_to_bytes is None and i >= len(lines):
                break
            if repeat_to_bytes is not None and written >= repeat_to_bytes:
                break
            if repeat_to_bytes is not None:  # keep rows distinct so duplicate detection has real work
                line = line[:-1] + f', "id": {i}}}'
            handle.write(line + "\n")
            written += len(line) + 1
            i += 1
    return path


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mb", type=int, default=500)
    options = parser.parse_args()
    from peftstudio.cli import quiet_libraries

    quiet_libraries()
    from peftstudio.engine.data.dataset_file import compute_stats
    from peftstudio.engine.data.dataset_file import validate_file
    from peftstudio.engine.models import DEMO_MODEL_ID, load_tokenizer, resolve_model, trainable_folder

    folder = Path(tempfile.mkdtemp())
    rows = length_skewed_alpaca(20_000, seed=1)
    big_rows = write_rows(folder / "100k.jsonl", [dict(r, instruction=f"{i}: {r['instruction']}")
                                                   for i, r in enumerate(rows * 5)])

    import datasets

    datasets.disable_progress_bars()
    _, base_seconds = timed(datasets.load_dataset, "json", data_files=str(big_rows), split="train",
                            cache_dir=str(folder / "hf-cache"))
    report, ours_seconds = timed(validate_file, big_rows)
    print(f"1. detect + validate {report.rows_total} rows: {ours_seconds:.2f} s "
          f"({report.rows_total / ours_seconds:,.0f} rows/s; {len(report.results)} findings listed)")
    print(f"   baseline: datasets.load_dataset (no validation): {base_seconds:.2f} s; "
          f"ratio ours/baseline time {ours_seconds / base_seconds:.2f}")

    tokenizer = load_tokenizer(trainable_folder(resolve_model(DEMO_MODEL_ID)))
    ten_k = write_rows(folder / "10k.jsonl", rows[:10_000])
    stats, stats_seconds = timed(compute_stats, ten_k, tokenizer)

    def exact_way():
        texts = [tokenizer.apply_chat_template([{"role": "user", "content": r["instruction"]},
                                                {"role": "assistant", "content": r["output"]}], tokenize=False)
                 for r in rows[:10_000]]
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]

    exact, exact_seconds = timed(exact_way)
    print(f"2. token statistics of {stats.examples} rows: {stats_seconds:.2f} s ({stats.examples / stats_seconds:,.0f} "
          f"rows/s); total tokens {stats.tokens_total} vs exact {sum(exact)} "
          f"({100 * (stats.tokens_total - sum(exact)) / sum(exact):+.2f}%)")
    print(f"   baseline: template + tokenize every row: {exact_seconds:.2f} s; speed-up {exact_seconds / stats_seconds:.1f}x")

    huge = write_rows(folder / "big.jsonl", rows, repeat_to_bytes=options.big_mb * 2**20)
    # VmHWM (peak RSS) from /proc: unlike ru_maxrss it is not inherited from the forking parent
    hwm = "int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    code = ("import sys; from peftstudio.engine.data.dataset_file import validate_file; "
            f"r = validate_file(sys.argv[1]); print(r.rows_total, {hwm})")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(huge)], capture_output=True, text=True, check=True)
    rows_total, max_rss_kb = map(int, out.stdout.split())
    seconds = time.perf_counter() - started
    idle_code = f"import numpy; from peftstudio.engine.data.dataset_file import validate_file; print({hwm})"
    idle = subprocess.run([sys.executable, "-c", idle_code], capture_output=True, text=True, check=True)
    print(f"3. validate {huge.stat().st_size / 2**20:.0f} MB ({rows_total} rows) in {seconds:.1f} s: "
          f"peak RSS {max_rss_kb / 1024:.0f} MB (the same process idle after imports: "
          f"{int(idle.stdout) / 1024:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
