"""Our K-quant blocks against llama.cpp's own quantizer on the same float tensors: byte-identical share and RMSE."""
from __future__ import annotations

import numpy as np
import pytest

from peftstudio.engine.export import gguf_quant, kquants, llama_cpp_reference

pytestmark = pytest.mark.skipif(not llama_cpp_reference.available(), reason="llama-cpp-python is a test dependency")


def weight_like_tensors():
    """Gaussian weights, heavy tails, outlier columns, zero rows, a constant row and a tiny-valued row."""
    rng = np.random.default_rng(7)
    gaussian = rng.standard_normal((48, 1024)).astype(np.float32) * 0.02
    heavy = (rng.standard_t(3, (32, 768)) * 0.01).astype(np.float32)
    outliers = gaussian[:16].copy()
    outliers[:, ::97] *= 40
    edge = np.zeros((6, 512), np.float32)
    edge[1] = 0.5
    edge[2] = -0.25
    edge[3, :100] = 1e-9
    edge[4] = np.linspace(-1, 1, 512, dtype=np.float32)
    edge[5, 7] = 3.0
    return {"gaussian": gaussian, "heavy": heavy, "outliers": outliers, "edge": edge}


@pytest.mark.parametrize("kind", ["Q4_K", "Q5_K", "Q6_K"])
def test_blocks_match_llama_cpp(kind):
    import gguf

    qtype = gguf.GGMLQuantizationType[kind]
    for label, tensor in weight_like_tensors().items():
        ours = kquants.quantize(tensor, kind)
        theirs = llama_cpp_reference.quantize(tensor, kind)
        assert ours.shape == theirs.shape, label
        blocks_ours = ours.reshape(-1, kquants.BLOCK_BYTES[kind])
        blocks_theirs = theirs.reshape(-1, kquants.BLOCK_BYTES[kind])
        identical = float((blocks_ours == blocks_theirs).all(axis=1).mean())
        rmse_ours = float(np.sqrt(((gguf.quants.dequantize(ours, qtype) - tensor) ** 2).mean()))
        rmse_theirs = float(np.sqrt(((gguf.quants.dequantize(theirs, qtype) - tensor) ** 2).mean()))
        assert identical >= 0.999, (label, identical)
        assert rmse_ours <= rmse_theirs * 1.0001 + 1e-12, (label, rmse_ours, rmse_theirs)


def test_quantized_tensor_reads_back_close_to_the_original():
    import gguf

    tensor = weight_like_tensors()["gaussian"]
    errors = {}
    for kind in ("Q4_K", "Q5_K", "Q6_K"):
        back = gguf.quants.dequantize(kquants.quantize(tensor, kind), gguf.GGMLQuantizationType[kind])
        errors[kind] = float(np.sqrt(((back - tensor) ** 2).mean()) / tensor.std())
    assert errors["Q6_K"] < errors["Q5_K"] < errors["Q4_K"] < 0.1, errors


def test_rows_that_are_not_a_multiple_of_256_are_refused():
    with pytest.raises(ValueError, match="multiple of 256"):
        kquants.quantize(np.zeros((2, 100), np.float32), "Q4_K")


def test_q4_k_m_mix_follows_llama_cpp():
    """Output head Q6_K, attn_v and ffn_down in Q6_K on use_more_bits layers, odd widths fall back."""
    layers = 8
    tensors = [("token_embd.weight", (1000, 256)), ("output.weight", (1000, 256))]
    for i in range(layers):
        tensors += [(f"blk.{i}.attn_norm.weight", (256,)), (f"blk.{i}.attn_q.weight", (256, 256)),
                    (f"blk.{i}.attn_v.weight", (64, 256)), (f"blk.{i}.ffn_down.weight", (256, 640)),
                    (f"blk.{i}.ffn_up.weight", (640, 256))]
    types = gguf_quant.tensor_types(tensors, "q4_k_m", layers)
    assert types["output.weight"] == "Q6_K" and types["token_embd.weight"] == "Q4_K"
    assert types["blk.0.attn_norm.weight"] == "F32"
    more_bits = [i for i in range(layers) if types[f"blk.{i}.attn_v.weight"] == "Q6_K"]
    assert more_bits == [0, 3, 6, 7]  # i < n/8, i >= 7n/8, (i - n/8) % 3 == 2
    assert types["blk.1.ffn_down.weight"] == "Q5_0"  # 640 columns: not a multiple of 256
    assert types["blk.0.ffn_down.weight"] == "Q8_0"  # Q6_K's fallback
    tied = gguf_quant.tensor_types([t for t in tensors if t[0] != "output.weight"], "q4_k_m", layers)
    assert tied["token_embd.weight"] == "Q6_K"
