"""Hostile inputs: what a decompression bomb and a long field cost, against the naive way, in one process.

1. A long field: the e-mail check over one 120 KB field of word characters ending in "@". Baseline: the same
   e-mail regex run over the whole text (the check before issue 16); ours: `checks.has_email` (windows
   around each "@").
2. A Parquet bomb (a few KB on disk, dictionary-encoded, decoding to many GB). Baseline: pyarrow's own
   reader as used before (every batch of 4096 rows turned into Python objects) on a smaller bomb that still
   fits in memory; ours: `iter_rows` on the same file and on the full-size bomb (refused at once). Peak memory is each child process's own high-water mark.

Usage: python bench/hostile_inputs.py
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time
path, how = sys.argv[1], sys.argv[2]
started = time.perf_counter()
if how == "pyarrow":  # the reader before issue 16: every row, 4096 at a time, as Python objects
    import pyarrow.parquet as pq
    rows = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
        rows += len(batch.to_pylist())
    result = f"read {rows} rows"
else:
    from peftstudio.engine.data.detect import detect_format
    from peftstudio.engine.data.reader import BadLine, iter_rows
    rows, result = 0, "read all"
    for item in iter_rows(path, detect_format(path)):
        if isinstance(item, BadLine):
            result = item.message
            break
        rows += 1
seconds = time.perf_counter() - started
peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))
print(f"{seconds:.3f} {peak} {result}")
"""


def bomb(path: Path, rows: int, cell: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * cell]))
    pq.write_table(pa.table({"instruction": column, "output": column}), path, compression="zstd")
    return path


def child(path: Path, how: str) -> tuple[float, float, str]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), how], capture_output=True, text=True, timeout=900)
    seconds, peak, result = out.stdout.strip().split(" ", 2)
    return float(seconds), int(peak) / 1024, result


def main() -> None:
    from peftstudio.engine.data import checks

    text = "a" * 120_000 + "@"
    started = time.perf_counter()
    checks.EMAIL.search(text)
    naive = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        checks.has_email(text)
    ours = (time.perf_counter() - started) / 100
    print(f"long field (120 KB): naive regex {naive:.2f} s, ours {ours * 1000:.2f} ms, {naive / ours:,.0f}x faster")

    folder = Path(tempfile.mkdtemp())
    small = bomb(folder / "small.parquet", rows=6_000, cell=30_000)  # ~360 MB decoded: pyarrow can still read it
    big = bomb(folder / "big.parquet", rows=200_000, cell=30_000)  # ~12 GB decoded
    for name, path in (("360 MB bomb", small), ("12 GB bomb", big)):
        print(f"{name}: {path.stat().st_size:,} bytes on disk")
    base = child(small, "pyarrow")
    mine = child(small, "ours")
    print(f"360 MB bomb, pyarrow to_pylist (before): {base[0]:.2f} s, {base[1]:.0f} MB peak ({base[2]})")
    print(f"360 MB bomb, PEFT Studio reader: {mine[0]:.2f} s, {mine[1]:.0f} MB peak ({mine[2][:60]}); "
          f"{base[1] / mine[1]:.1f}x less memory, {base[0] / mine[0]:.1f}x the speed")
    refused = child(big, "ours")
    print(f"12 GB bomb, PEFT Studio reader: {refused[0]:.2f} s, {refused[1]:.0f} MB peak ({refused[2][:70]})")


if __name__ == "__main__":
    main()
