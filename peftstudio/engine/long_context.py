"""Training on texts longer than the model was built for: RoPE scaling through the model's config.

transformers implements linear and YaRN scaling of rotary positions (`config.rope_parameters`); we only choose
the factor (the maximum sequence length over the model's context, never below 1) and write it in the form
transformers 5 reads. The GGUF writer turns the same parameters into llama.cpp's rope-scaling keys.
"""
from __future__ import annotations

import math

KINDS = ("linear", "yarn")


def context_length(model_config) -> int:
    """The positions the model was trained for (its original context when it is already scaled)."""
    rope = dict(getattr(model_config, "rope_parameters", None) or {})
    rope = rope.get("full_attention", rope)
    return int(rope.get("original_max_position_embeddings") or getattr(model_config, "max_position_embeddings", 0)
               or 0)


def scale_factor(seq_len: int, context: int) -> float:
    """How far the positions stretch: seq_len / context rounded up to a quarter, at least 1."""
    if context <= 0:
        return 1.0
    return max(1.0, math.ceil(seq_len / context * 4) / 4)


def apply_rope_scaling(model_config, kind: str | None, seq_len: int) -> float:
    """Scale the config's rotary positions for `seq_len` tokens; returns the factor (1.0: nothing to do)."""
    if kind not in KINDS:
        return 1.0
    context = context_length(model_config)
    factor = scale_factor(seq_len, context)
    if factor <= 1.0:
        return 1.0
    rope = dict(getattr(model_config, "rope_parameters", None) or {})
    nested = "full_attention" in rope  # Gemma 3 keeps one set per attention kind; scale the global one
    target = dict(rope["full_attention"]) if nested else rope
    target.setdefault("rope_theta", getattr(model_config, "rope_theta", 10000.0))
    target.update(rope_type=kind, factor=factor, original_max_position_embeddings=context)
    model_config.rope_parameters = dict(rope, full_attention=target) if nested else target
    model_config.max_position_embeddings = int(context * factor)
    return factor


def context_warning(longest_tokens: int, context: int, kind: str | None) -> str:
    """A plain warning when examples are longer than the model's context ("" when they fit)."""
    if not context or longest_tokens <= context:
        return ""
    if kind in KINDS:
        return (f"Your examples (up to {longest_tokens:,} tokens) are longer than this model was built for "
                f"({context:,}). {'YaRN' if kind == 'yarn' else 'Linear'} RoPE scaling stretches its positions "
                f"by {scale_factor(longest_tokens, context):g}x: long texts work, short ones may get a little worse, "
                "and the longer sequences need more memory.")
    return (f"Your examples (up to {longest_tokens:,} tokens) are longer than this model was built for "
            f"({context:,}); they will be cut. Turn on 'Longer texts (RoPE scaling)' in the advanced settings "
            "(YaRN is the usual choice) to keep them whole, or choose a model with a longer context.")
