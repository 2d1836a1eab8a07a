"""llama.cpp's own quantizer, reached through the ggml library that `llama-cpp-python` ships.

Used as the judge of our K-quant encoder (tests and `bench/export.py`): `ggml_quantize_chunk` is the
function llama.cpp's model quantizer calls per tensor, and `llama_model_quantize` quantizes a whole
GGUF file the way `llama-quantize` does. Optional: `available()` says whether llama-cpp-python is installed.
"""
from __future__ import annotations

import ctypes
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from peftstudio.engine.export.formats import GGUF_TYPES
from peftstudio.engine.export.llama_cpp_runner import quiet_stderr

# ggml's type numbers (ggml.h enum ggml_type)
GGML_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q4_K": 12, "Q5_K": 13,
              "Q6_K": 14}


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


@lru_cache(maxsize=1)
def _ggml():
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        raise RuntimeError("llama-cpp-python is not installed")
    library = ctypes.CDLL(str(Path(spec.origin).parent / "lib" / "libggml-base.so"))
    library.ggml_quantize_chunk.restype = ctypes.c_size_t
    library.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                            ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    library.ggml_row_size.restype = ctypes.c_size_t
    library.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
    return library


def quantize(values: np.ndarray, kind: str) -> np.ndarray:
    """llama.cpp's encoding of a 2-D float tensor as `kind`, shape (rows, row bytes)."""
    library = _ggml()
    rows = np.ascontiguousarray(values, dtype=np.float32).reshape(-1, values.shape[-1])
    row_bytes = library.ggml_row_size(GGML_TYPES[kind], rows.shape[1])
    out = np.zeros((rows.shape[0], row_bytes), np.uint8)
    library.ggml_quantize_chunk(GGML_TYPES[kind], rows.ctypes.data, out.ctypes.data, 0, rows.shape[0],
                                rows.shape[1], None)
    return out


def quantize_file(source: Path, target: Path, quant: str, threads: int = 2) -> None:
    """`llama-quantize source target quant`, through llama.cpp's C API."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = GGUF_TYPES[quant].llama_file_type  # llama.h enum llama_ftype
    params.nthread = threads
    with quiet_stderr():  # llama.cpp prints a line per tensor
        status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
    if status != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source.name} (status {status})")
