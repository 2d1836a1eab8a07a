"""Which GGUF type each tensor gets for a chosen quantization, and the encoding itself.

The `_M` mixes follow llama.cpp's own choice (llama_tensor_get_type in src/llama-quant.cpp) for the
tensors our architectures have: the output head (and the tied embedding that serves as one) in Q6_K,
attention V (or the fused QKV) and FFN down in Q6_K on the layers `use_more_bits` picks, everything else
in the base type; rows that are not a multiple of 256 fall back to the 32-block type llama.cpp uses
(Q5_0, Q5_1, Q8_0), and to F16 when not even that fits. 1-D tensors (norms, biases, rope factors) stay F32.
"""
from __future__ import annotations

import numpy as np

from peftstudio.engine.export import kquants
from peftstudio.engine.export.formats import GGUF_TYPES

_FALLBACK = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}


def file_type(quant: str):
    import gguf

    return gguf.LlamaFileType(GGUF_TYPES[quant].llama_file_type)


def _use_more_bits(i_layer: int, n_layers: int) -> bool:
    return i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8 or (i_layer - n_layers // 8) % 3 == 2


def _fits(kind: str, columns: int) -> str:
    block = 256 if kind.endswith("_K") else 32 if kind.startswith("Q") else 1
    if columns % block == 0:
        return kind
    fallback = _FALLBACK.get(kind, kind)
    return fallback if columns % 32 == 0 else "F16"


def tensor_types(tensors: list[tuple[str, tuple[int, ...]]], quant: str, n_layers: int) -> dict[str, str]:
    """GGML type name for each (gguf name, shape) in file order."""
    tied = not any(name == "output.weight" for name, _ in tensors)
    n_attention_v = sum(1 for name, _ in tensors if "attn_v.weight" in name or "attn_qkv.weight" in name)
    i_attention_v = i_ffn_down = 0
    types = {}
    for name, shape in tensors:
        columns = shape[-1]
        if len(shape) < 2 or quant == "f32" or not name.endswith("weight") or "_norm.weight" in name:
            types[name] = "F32"
            continue
        if quant == "f16":
            types[name] = "F16"
            continue
        if quant == "q8_0":
            types[name] = _fits("Q8_0", columns)
            continue
        kind = GGUF_TYPES[quant].k_quant
        if name == "output.weight" or (tied and name == "token_embd.weight"):
            kind = "Q6_K" if columns % 256 == 0 else "Q8_0"
        elif "attn_v.weight" in name or "attn_qkv.weight" in name:
            if GGUF_TYPES[quant].more_bits_mix and _use_more_bits(i_attention_v, n_attention_v):
                kind = "Q6_K"
            i_attention_v += 1
        elif "ffn_down" in name:
            if GGUF_TYPES[quant].more_bits_mix and _use_more_bits(i_ffn_down, n_layers):
                kind = "Q6_K"
            i_ffn_down += 1
        types[name] = _fits(kind, columns)
    return types


def encode(array: np.ndarray, kind: str) -> np.ndarray:
    """The bytes (or floats) the writer stores for a float32 tensor in GGML type `kind`."""
    import gguf

    if kind == "F32":
        return array.astype(np.float32)
    if kind == "F16":
        return array.astype(np.float16)
    if kind in kquants.BLOCK_BYTES:
        return kquants.quantize(array, kind)
    return gguf.quants.quantize(array.astype(np.float32), gguf.GGMLQuantizationType[kind])

