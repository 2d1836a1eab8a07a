"""Export of a fine-tuned demo run: every format, then every GGUF quantization beside llama.cpp's own
quantizer of the same weights, then the K-quant encoders alone, all in one process.

1. Formats: time, size and agreement with the model in memory (as before).
2. GGUF types (f16, q8_0, q6_k, q5_k_m, q4_k_m): our export seconds and size, then llama.cpp's
   `llama_model_quantize` on our F32 file of the same weights; for both, top-1 agreement and mean KL
   divergence against the model in memory over the verification's agreement prompts, judged in llama.cpp.
3. K-quant encoders on Llama-3.2-1B-shaped random tensors (widths that are multiples of 256, unlike the
   demo model's 576, which makes llama.cpp fall back to Q5_0/Q8_0 for most of it): M parameters/s of our
   numpy encoder against llama.cpp's (`ggml_quantize_chunk`, single-threaded reference code).
4. Our streaming GGUF writer against the gguf package's buffered use (Python heap peak, tracemalloc).

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


def agreement(path: Path, ref) -> tuple[float, float]:
    from peftstudio.engine.export.llama_cpp_runner import GGUFModel
    from peftstudio.engine.export.verify import agreement_of

    model = GGUFModel.open(path, context=1024, all_logits=True)
    try:
        measured = agreement_of(model, ref)
    finally:
        model.close()
    return measured.top1, measured.mean_kl


def quant_table(model, tokenizer, run, meta, work: Path) -> None:
    from peftstudio.engine.export import llama_cpp_reference
    from peftstudio.engine.export.gguf_convert import write_gguf
    from peftstudio.engine.export.verify import reference

    if not llama_cpp_reference.available():
        print("\nllama-cpp-python is not installed: the per-quantization table needs it (make install).")
        return
    ref = reference(model, tokenizer, agreement=True)
    f32 = work / "weights-f32.gguf"
    write_gguf(model, tokenizer, run.base_folder, f32, "f32", meta)
    print(f"\n{'GGUF type':<10}{'ours s':>8}{'MB':>8}{'top-1':>8}{'KL':>9}   |{'llama.cpp s':>12}{'MB':>8}"
          f"{'top-1':>8}{'KL':>9}{'same bytes':>12}")
    for quant in ("f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m"):
        ours = work / f"ours-{quant}.gguf"
        started = time.perf_counter()
        write_gguf(model, tokenizer, run.base_folder, ours, quant, meta)
        ours_s = time.perf_counter() - started
        theirs = work / f"llama-cpp-{quant}.gguf"
        started = time.perf_counter()
        llama_cpp_reference.quantize_file(f32, theirs, quant)
        theirs_s = time.perf_counter() - started
        ours_top1, ours_kl = agreement(ours, ref)
        theirs_top1, theirs_kl = agreement(theirs, ref)
        print(f"{quant:<10}{ours_s:8.1f}{ours.stat().st_size / 1e6:8.1f}{ours_top1:8.3f}{ours_kl:9.5f}   |"
              f"{theirs_s:12.1f}{theirs.stat().st_size / 1e6:8.1f}{theirs_top1:8.3f}{theirs_kl:9.5f}"
              f"{same_tensor_bytes(ours, theirs):>12}")
    print("(top-1 and KL against the model in memory, float32; llama.cpp quantized our F32 file of the same weights, "
          "so it reads the same float values; its seconds include reading that file)")


def same_tensor_bytes(ours: Path, theirs: Path) -> str:
    """Share of tensors whose stored bytes are identical in both files."""
    import gguf

    a = {t.name: t for t in gguf.GGUFReader(str(ours)).tensors}
    b = {t.name: t for t in gguf.GGUFReader(str(theirs)).tensors}
    same = sum(1 for name in a if name in b and a[name].tensor_type == b[name].tensor_type
               and bytes(a[name].data) == bytes(b[name].data))
    return f"{same}/{len(a)}"


def kquant_speed() -> None:
    import numpy as np

    from peftstudio.engine.export import kquants, llama_cpp_reference

    rng = np.random.default_rng(0)
    shapes = {"attn_q": (2048, 2048), "attn_k": (512, 2048), "ffn_up": (8192, 2048), "ffn_down": (2048, 8192)}
    tensors = [(rng.standard_normal(shape) * 0.02).astype(np.float32) for shape in shapes.values()]
    count = sum(t.size for t in tensors)
    print(f"\nK-quant encoders, {count / 1e6:.0f} M parameters of Llama-3.2-1B-shaped tensors:")
    for kind in ("Q4_K", "Q5_K", "Q6_K"):
        started = time.perf_counter()
        ours = [kquants.quantize(t, kind) for t in tensors]
        ours_s = time.perf_counter() - started
        line = f"  {kind}: ours {count / ours_s / 1e6:5.1f} M params/s"
        if llama_cpp_reference.available():
            started = time.perf_counter()
            theirs = [llama_cpp_reference.quantize(t, kind) for t in tensors]
            theirs_s = time.perf_counter() - started
            blocks = kquants.BLOCK_BYTES[kind]
            identical = np.mean(np.concatenate([(a.reshape(-1, blocks) == b.reshape(-1, blocks)).all(1)
                                                for a, b in zip(ours, theirs)]))
            line += (f", llama.cpp {count / theirs_s / 1e6:5.1f} M params/s (one thread) -> "
                     f"{theirs_s / ours_s:.2f}x; identical blocks {identical:.4%}")
        print(line)


def main() -> int:
    quiet_libraries()
    from peftstudio.engine.export.exporter import export_run
    from peftstudio.engine.export.gguf_convert import GGUFMetadata, pre_tokenizer_for, write_gguf
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
    meta = GGUFMetadata(name="bench", base_model=run.base_model_id,
                        pre_tokenizer=pre_tokenizer_for(run.base_model_id, run.source_gguf, run.base_folder))
    quant_table(model, tokenizer, run, meta, work)
    kquant_speed()
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
