"""The architecture keys of a GGUF file and the extra tensors some families need, per llama.cpp.

Follows llama.cpp's convert_hf_to_gguf.py (TextModel.set_gguf_parameters and the Llama, Gemma 2/3, Phi-3
and SmolLM3 classes) for the keys, and its models/*.cpp for what the runtime assumes without a key: a
model whose config differs from those assumptions is refused with the plain error rather than written
as a file that would answer differently in Ollama.
"""
from __future__ import annotations

import math

import numpy as np

from peftstudio.engine.errors import PlainError
from peftstudio.engine.export.architectures import families, Architecture


def unsupported(what: str, why: str) -> PlainError:
    return PlainError(
        title="This model cannot be exported to GGUF yet",
        what=what,
        why=why,
        actions=["Export the merged Hugging Face model (hf-merged) and convert it with llama.cpp's "
                 "convert_hf_to_gguf.py.",
                 f"Fine-tune a model of a family that exports to GGUF directly: {families()}."],
        help_topic="export",
    )


def rope_parameters(config) -> dict:
    """The full-attention rope parameters (transformers 5 keeps them per attention kind for Gemma 3)."""
    rope = dict(getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {})
    rope = rope.get("full_attention", rope)
    rope.setdefault("rope_theta", getattr(config, "rope_theta", 10000.0))
    return rope


def head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def add_architecture(writer, config, arch: Architecture) -> None:
    rope = rope_parameters(config)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)
    writer.add_rope_freq_base(float(rope["rope_theta"]))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(config.vocab_size)
    dim = head_dim(config)
    if arch.extras in ("gemma2", "gemma3") or dim != config.hidden_size // config.num_attention_heads:
        writer.add_key_length(dim)
        writer.add_value_length(dim)
    if arch.extras != "phi3":
        writer.add_rope_dimension_count(dim)
        _add_rope_scaling(writer, rope)
    {"gemma2": _gemma2, "gemma3": _gemma3, "phi3": _phi3, "smollm3": _smollm3}.get(arch.extras, _nothing)(
        writer, config)


def _nothing(writer, config) -> None:
    if getattr(config, "use_sliding_window", False) and getattr(config, "sliding_window", None):
        raise unsupported("The model uses sliding-window attention.",
                          "llama.cpp runs this family with full attention on every layer.")


def _add_rope_scaling(writer, rope: dict) -> None:
    import gguf

    kind = (rope.get("rope_type") or "default").lower()
    if kind in ("default", "llama3"):  # llama3: the rope_freqs tensor carries the factors
        return
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(rope["factor"]))
    elif kind == "yarn":
        writer.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        writer.add_rope_scaling_factor(float(rope["factor"]))
        writer.add_rope_scaling_orig_ctx_len(int(rope["original_max_position_embeddings"]))
        for key, add in (("beta_fast", writer.add_rope_scaling_yarn_beta_fast),
                         ("beta_slow", writer.add_rope_scaling_yarn_beta_slow)):
            if rope.get(key) is not None:
                add(float(rope[key]))
        if rope.get("attention_factor") is not None:
            writer.add_rope_scaling_yarn_attn_factor(float(rope["attention_factor"]))
    else:
        raise unsupported("The model uses a scaled rotary embedding.",
                          f"Rope scaling '{kind}' is not one llama.cpp reads for this family.")


def _check_layer_pattern(config, period: int) -> None:
    """llama.cpp assumes every period-th layer is global and the others slide; refuse anything else."""
    expected = ["full_attention" if (i + 1) % period == 0 else "sliding_attention"
                for i in range(config.num_hidden_layers)]
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None and list(layer_types) != expected:
        raise unsupported("The model's sliding-window layers are laid out unusually.",
                          f"llama.cpp expects every {period}th layer to use full attention.")


def _check_attention_scale(config) -> None:
    scalar = getattr(config, "query_pre_attn_scalar", None)
    dim = head_dim(config)
    by_width = config.hidden_size // config.num_attention_heads
    if scalar is not None and scalar != dim and scalar != by_width:
        raise unsupported("The model scales its attention in a way llama.cpp does not know.",
                          f"query_pre_attn_scalar is {scalar}; llama.cpp uses the head size ({dim}).")


def _gemma2(writer, config) -> None:
    _check_attention_scale(config)
    _check_layer_pattern(config, 2)
    writer.add_attn_logit_softcapping(float(config.attn_logit_softcapping or 0.0))
    writer.add_final_logit_softcapping(float(config.final_logit_softcapping or 0.0))
    writer.add_sliding_window(int(config.sliding_window))


def _gemma3(writer, config) -> None:
    _check_attention_scale(config)
    _check_layer_pattern(config, 6)
    if getattr(config, "attn_logit_softcapping", None):
        raise unsupported("The model caps attention logits.", "Gemma 3 in llama.cpp has no attention soft-cap.")
    if getattr(config, "final_logit_softcapping", None):
        writer.add_final_logit_softcapping(float(config.final_logit_softcapping))
    writer.add_sliding_window(int(config.sliding_window))
    local = (getattr(config, "rope_parameters", None) or {}).get("sliding_attention")
    if local and local.get("rope_theta") is not None:
        writer.add_rope_freq_base_swa(float(local["rope_theta"]))
    elif getattr(config, "rope_local_base_freq", None):
        writer.add_rope_freq_base_swa(float(config.rope_local_base_freq))


def _original_context(config, rope: dict) -> int:
    return int(rope.get("original_max_position_embeddings")
               or getattr(config, "original_max_position_embeddings", None) or config.max_position_embeddings)


def _phi3_rope_dims(config, rope: dict) -> int:
    fraction = rope.get("partial_rotary_factor", getattr(config, "partial_rotary_factor", 1.0)) or 1.0
    return int(fraction * config.hidden_size) // config.num_attention_heads


def _phi3(writer, config) -> None:
    rope = rope_parameters(config)
    writer.add_rope_scaling_orig_ctx_len(_original_context(config, rope))
    writer.add_rope_dimension_count(_phi3_rope_dims(config, rope))
    writer.add_sliding_window(int(getattr(config, "sliding_window", None) or 0))
    kind = (rope.get("rope_type") or "default").lower()
    if rope.get("long_factor"):
        scale = config.max_position_embeddings / _original_context(config, rope)
        if kind in ("longrope", "su"):
            attn = math.sqrt(1 + math.log(scale) / math.log(_original_context(config, rope))) if scale > 1 else 1.0
        elif kind == "yarn":
            attn = 0.1 * math.log(scale) + 1.0 if scale > 1 else 1.0
        else:
            raise unsupported("The model's long-context rope is of an unknown kind.", f"rope_type is '{kind}'.")
        writer.add_rope_scaling_attn_factors(attn)
    elif kind != "default":
        raise unsupported("The model uses a scaled rotary embedding.",
                          f"Rope scaling '{kind}' without long/short factors is not written for Phi-3.")


def _smollm3(writer, config) -> None:
    no_rope = getattr(config, "no_rope_layers", None)
    expected = [int((i + 1) % 4 != 0) for i in range(config.num_hidden_layers)]
    if no_rope is not None and list(no_rope) != expected:
        raise unsupported("The model skips rotary embeddings on unusual layers.",
                          "llama.cpp's SmolLM3 skips them on every 4th layer.")


def extra_tensors(config, arch: Architecture) -> list[tuple[str, np.ndarray]]:
    """Tensors llama.cpp needs that the model does not hold: rope factors (Llama 3.x, Phi-3 long rope)."""
    rope = rope_parameters(config)
    kind = (rope.get("rope_type") or "default").lower()
    if kind == "llama3":
        return [("rope_freqs.weight", _llama3_rope_factors(rope, head_dim(config)))]
    if arch.extras == "phi3" and rope.get("long_factor"):
        dims = _phi3_rope_dims(config, rope)
        long, short = rope["long_factor"], rope.get("short_factor")
        if short is None or len(long) != dims // 2 or len(short) != dims // 2:
            raise unsupported("The model's long-rope factors have the wrong length.",
                              f"Expected {dims // 2} long and short factors.")
        return [("rope_factors_long.weight", np.asarray(long, np.float32)),
                ("rope_factors_short.weight", np.asarray(short, np.float32))]
    return []


def _llama3_rope_factors(rope: dict, dim: int) -> np.ndarray:
    """Llama 3.x's frequency-dependent rope scaling as per-frequency divisors (llama.cpp's rope_freqs)."""
    import torch

    base = rope.get("rope_theta", 10000.0)
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor = rope.get("factor", 8.0)
    low_freq_factor = rope.get("low_freq_factor", 1.0)
    high_freq_factor = rope.get("high_freq_factor", 4.0)
    old_context = rope.get("original_max_position_embeddings", 8192)
    low_wavelen, high_wavelen = old_context / low_freq_factor, old_context / high_freq_factor
    factors = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            factors.append(1.0)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (old_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.asarray(factors, np.float32)
