"""Export of a fine-tuned demo run in every format: time, size and agreement with the model in memory,
plus our streaming GGUF writer against the gguf package's buffered use (`add_tensor` then write) in the
same process (Python heap peak measured with tracemalloc, which sees numpy buffers).

Usage: python bench/export.py        (trains a 6-step run first, about a minute)
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="peftstudio-bench-data-"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from peftstudio.cli import quiet_libraries  # noqa: E402


def trained_run(folder: Path) -> Path:
    from helpers import signature_rows, small_config

    from peftstudio.engine.training.session import TrainingSession

    dataset = folder / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    session = TrainingSession.create(small_config(dataset, max_steps=6, learning_rate=2e-3))
    session.run()
    return session.run_dir


def buffered_gguf(model, path: Path) -> None:
    """The gguf package's usual pattern: every converted tensor kept in memory, then one write."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(path, "llama")
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue
        array = tensor.float().numpy()
        writer.add_tensor(name, array.astype(np.float16) if array.ndim > 1 else array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def heap_peak(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def main() -> int:
    quiet_libraries()
    from peftstudio.engine.export.exporter import export_run
    from peftstudio.engine.export.gguf_convert import GGUFMetadata, write_gguf
    from peftstudio.engine.export.run_model import load_merged_model, load_tokenizer_for, open_run

    work = Path(tempfile.mkdtemp(prefix="peftstudio-bench-export-"))
    run_dir = trained_run(work)
    print(f"{'format':<18}{'seconds':>9}{'size MB':>10}{'max |dlogit|':>14}{'same greedy':>13}{'verify s':>10}")
    for fmt, quant in (("hf", "f16"), ("hf-merged", "f16"), ("gguf", "f32"), ("gguf", "f16"), ("gguf", "q8_0"),
                       ("ollama", "q8_0"), ("lmstudio", "q8_0")):
        result = export_run(run_dir, fmt, work / f"{fmt}-{quant}", quant=quant)
        size = sum(p.stat().st_size for p in result.folder.rglob("*") if p.is_file()) / 1e6
        report = result.report
        label = fmt + (f" {quant}" if fmt in ("gguf", "ollama", "lmstudio") else "")
        print(f"{label:<18}{result.seconds:9.1f}{size:10.1f}{report.max_abs_logit_diff:14.5f}"
              f"{str(report.same_continuation):>13}{report.seconds:10.1f}")

    run = open_run(run_dir)
    model, tokenizer = load_merged_model(run), load_tokenizer_for(run)
    meta = GGUFMetadata(name="bench", base_model=run.base_model_id)
    started = time.perf_counter()
    ours = heap_peak(lambda: write_gguf(model, tokenizer, run.base_folder, work / "ours.gguf", "f16", meta))
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    buffered = heap_peak(lambda: buffered_gguf(model, work / "buffered.gguf"))
    buffered_s = time.perf_counter() - started
    print(f"\nGGUF f16 writer, Python heap peak: buffered {buffered:.0f} MB, ours (streaming) {ours:.0f} MB "
          f"-> {buffered / ours:.1f}x less; time {buffered_s:.1f} s vs {ours_s:.1f} s (ours also writes the "
          "tokenizer)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
