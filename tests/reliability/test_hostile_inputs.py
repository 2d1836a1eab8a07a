"""Issue 16, the hostile-input suite: generated files a careless or hostile user could hand to `validate`.

For each: exit 0, 1 or 2, a plain report or message, no traceback, and bounded time and memory (measured
in the command's own process, with generous caps: bounds, not speed tests)."""
from __future__ import annotations

import codecs
import gzip
import io
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

MEASURED_CLI = ("import resource, sys\nfrom peftstudio.cli import main\ncode = main(sys.argv[1:])\n"
                "try:\n    peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
                "except OSError:\n    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
                "sys.stderr.write(f'\\nPEAK_RSS_KB={peak}\\n')\nraise SystemExit(code)")
MEMORY_CAP = 1.5 * 2**30
TIME_CAP = 120.0


def _rows(n=8):
    return [{"instruction": f"question {i}", "output": f"answer {i}"} for i in range(n)]


def _jsonl(rows) -> bytes:
    return ("\n".join(json.dumps(r) for r in rows) + "\n").encode()


def _parquet(rows, compression="snappy") -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer, compression=compression)
    return buffer.getvalue()


def _bomb() -> bytes:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(300_000, dtype=np.int32)), pa.array(["z" * 20_000]))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": column}), buffer, compression="zstd")
    return buffer.getvalue()


def _first_batch_bomb() -> bytes:
    """Issue 40's file: about 1 KB on disk, its first batch of rows decodes to about 2.5 GB."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(300, dtype=np.int32)), pa.array(["z" * 10_000_000]))
    buffer = io.BytesIO()
    pq.write_table(pa.table({"instruction": text, "output": pa.array(["a"] * 300)}), buffer, compression="zstd")
    return buffer.getvalue()


def _flip_bytes(data: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    damaged = bytearray(data)
    for _ in range(40):
        position = rng.randrange(4, len(damaged) - 4)  # keep the magic numbers: "looks like parquet"
        damaged[position] = rng.randrange(256)
    return bytes(damaged)


CASES = {
    # nesting
    "deep.json": lambda: b"[" * 200_000 + b"]" * 200_000,
    "deep-object.json": lambda: b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep-lines.jsonl": lambda: _jsonl(_rows()) + b'{"instruction": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
    "nested-messages.jsonl": lambda: _jsonl([{"messages": [{"role": "user", "content": [[[["x"]]]]}]}] * 5),
    # parquet: corrupt, truncated, compressed, a bomb
    "truncated.parquet": lambda: _parquet(_rows(500))[: len(_parquet(_rows(500))) // 2],
    "corrupt.parquet": lambda: _flip_bytes(_parquet(_rows(500), "gzip"), 1),
    "corrupt-zstd.parquet": lambda: _flip_bytes(_parquet(_rows(500), "zstd"), 2),
    "only-magic.parquet": lambda: b"PAR1" + b"\x00" * 64 + b"PAR1",
    "bomb.parquet": _bomb,
    "first-batch-bomb.parquet": _first_batch_bomb,
    "gzipped.jsonl": lambda: gzip.compress(_jsonl(_rows())),
    # long fields and lines
    "long-field.jsonl": lambda: _jsonl([{"instruction": "w" * 150_000 + "@", "output": ".a" * 80_000}] + _rows()),
    "long-first-line.jsonl": lambda: _jsonl([{"instruction": "q" * 100_000, "output": "a"}] + _rows()),
    "long-line.csv": lambda: b"instruction,output\n" + b"x" * 300_000 + b",y\n" + b"a,b\n" * 5,
    "one-huge-line.txt": lambda: b"word " * 400_000,
    # encodings
    "utf16.jsonl": lambda: codecs.BOM_UTF16_LE + _jsonl(_rows()).decode().encode("utf-16-le"),
    "utf32.jsonl": lambda: codecs.BOM_UTF32_LE + _jsonl(_rows()).decode().encode("utf-32-le"),
    "bom-only.jsonl": lambda: codecs.BOM_UTF8,
    "invalid-utf8.jsonl": lambda: _jsonl(_rows()) + b'{"instruction": "\xff\xfe\xc3", "output": "\x80"}\n',
    "cp1252.csv": lambda: "instruction,output\ncaf\u00e9,na\u00efve\n".encode("cp1252") * 5,
    "nul-bytes.jsonl": lambda: _jsonl(_rows()).replace(b"question", b"ques\x00tion"),
    # wrong types and values
    "scalar.json": lambda: b"42",
    "string.json": lambda: b'"just a string"',
    "null.json": lambda: b"null",
    "nan.jsonl": lambda: b'{"instruction": "a", "output": NaN}\n{"instruction": "b", "output": Infinity}\n',
    "wrong-types.jsonl": lambda: _jsonl([{"instruction": 5, "output": ["a"]}, {"instruction": None, "output": {}},
                                         {"messages": "not a list"}, {"messages": [1, 2]},
                                         {"conversations": [{"from": 3, "value": None}]}] + _rows()),
    "list-of-lists.json": lambda: json.dumps([[1, 2], [3]]).encode(),
    "empty-object.json": lambda: b"{}",
    "huge-number.jsonl": lambda: b'{"instruction": ' + b"9" * 5000 + b', "output": "x"}\n' + _jsonl(_rows()),
    "many-columns.csv": lambda: (",".join(f"c{i}" for i in range(20_000)) + "\n" +
                                 ",".join("v" for _ in range(20_000)) + "\n").encode(),
    "unclosed-quote.csv": lambda: b'instruction,output\n"never closed,x\n' + b"a,b\n" * 100,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_dataset_files_get_a_plain_answer_within_bounds(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(CASES[name]())
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", MEASURED_CLI, "validate", str(path), "--json"],
                            capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    peak = int(result.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) * 1024
    assert result.returncode in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    report = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert report["readable"] or report["format"]["reason"] or report["results"]
    if not report["readable"]:
        assert result.returncode == 2
    assert peak < MEMORY_CAP, f"{name}: {peak / 2**20:.0f} MB"
    assert seconds < TIME_CAP, f"{name}: {seconds:.1f} s"
    if "bomb" in name:  # refused before decoding, in words that say why
        assert "too large when expanded" in report["format"]["reason"]
        assert "Correct the file at that position" not in result.stdout


def test_the_same_files_through_fix_and_plan_never_show_a_traceback(tmp_path):
    for name in ("deep.json", "truncated.parquet", "nan.jsonl", "wrong-types.jsonl", "utf32.jsonl"):
        path = tmp_path / name
        path.write_bytes(CASES[name]())
        for args in (["validate", str(path), "--fix", str(tmp_path / f"{name}.fixed.jsonl")],
                     ["plan", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset", str(path)]):
            result = subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True,
                                    timeout=600)
            assert result.returncode in (0, 1, 2), (args, result.stderr)
            assert "Traceback" not in result.stderr, (args, result.stderr)
    assert not [p for p in Path(tmp_path).iterdir() if ".tmp" in p.name]  # no half-written repair left
