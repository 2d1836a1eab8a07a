"""Attention inside each example of a padding-free row, and nowhere else.

`FlatCollator` lays a whole batch end to end in one row with no padding, and says where each example starts
(`cu_seq_lens_q`, transformers' variable-length contract, the one its flash-attention path reads). transformers'
own sdpa path would build an N x N block-diagonal mask for that row and pay attention over all of it; here each
example's slice of queries, keys and values goes through attention by itself, so the cost is the sum of the
squares of the example lengths, not the square of their sum, and the row needs no padding at all.

On CUDA in bf16/fp16, torch's `varlen_attn` (flash attention over the cumulative lengths) does it in one kernel;
elsewhere `scaled_dot_product_attention` runs once per example with `is_causal`. Without the lengths (evaluation
with padded rows, generation) the call is transformers' own sdpa, with the mask transformers builds for sdpa.

Written here because transformers offers variable-length attention only through the flash-attention packages,
which do not run on a CPU.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

NAME = "peftstudio_segments"

# config.json model types whose attention is plain scaled dot-product attention (optionally with a sliding window,
# honoured below); others (logit soft-capping, attention sinks, position biases) keep transformers' own path
PLAIN_ATTENTION_TYPES = frozenset({
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma3_text", "phi3",
    "granite", "olmo2", "smollm3", "starcoder2",
})
_registered = False


def register() -> None:
    """Make NAME a transformers attention implementation (its masks are sdpa's, for the calls without lengths)."""
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, segment_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    _registered = True


def why_not(model_config) -> str | None:
    """None when a model of this config can attend per segment; otherwise the reason it keeps packed rows."""
    if getattr(model_config, "text_config", None) is not None and model_config.text_config is not model_config:
        return "a text-and-images model has its vision tower's attention too"
    model_type = getattr(model_config, "model_type", "")
    if model_type not in PLAIN_ATTENTION_TYPES:
        return f"{model_type or 'this architecture'} has its own attention"
    if getattr(model_config, "_attn_implementation", "sdpa") not in ("sdpa", NAME):
        return f"the model uses {model_config._attn_implementation} attention"
    if getattr(model_config, "attn_logit_softcapping", None):
        return "its attention scores are soft-capped"
    return None


def use_segments(model) -> bool:
    """Switch a loaded (possibly peft-wrapped) model to per-segment attention when it can; True if switched."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    if why_not(inner.config) is not None:
        return False
    register()
    inner.set_attn_implementation(NAME)
    return True


def flash_varlen_fits(query: torch.Tensor) -> bool:
    """torch's varlen flash kernel exists for CUDA half-precision tensors only."""
    return query.is_cuda and query.dtype in (torch.float16, torch.bfloat16)


def segment_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                      sliding_window: int | None = None, **kwargs):
    """transformers' attention-function contract: query (1, heads, N, dim), key/value (1, kv_heads, N, dim);
    returns (output (1, N, heads, dim), None)."""
    bounds = kwargs.get("cu_seq_lens_q")
    if bounds is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      sliding_window=sliding_window, **kwargs)
    for unsupported in ("softcap", "s_aux"):
        if kwargs.get(unsupported) is not None:  # why_not keeps such models off this path
            raise RuntimeError(f"per-segment attention cannot apply {unsupported}")
    if query.shape[0] != 1:
        raise RuntimeError("per-segment attention expects one padding-free row")
    grouped = query.shape[1] != key.shape[1]
    if sliding_window is None and flash_varlen_fits(query):
        from torch.nn.attention.varlen import varlen_attn

        longest = int(kwargs.get("max_length_q") or 0) or int((bounds[1:] - bounds[:-1]).max())
        out = varlen_attn(query[0].transpose(0, 1), key[0].transpose(0, 1), value[0].transpose(0, 1),
                          bounds.to(query.device, torch.int32), bounds.to(query.device, torch.int32), longest,
                          longest, scale=scaling, window_size=(-1, 0), enable_gqa=grouped)
        return out.unsqueeze(0), None
    edges = bounds.tolist()
    outputs = []
    for start, end in zip(edges[:-1], edges[1:]):
        q, k, v = query[:, :, start:end], key[:, :, start:end], value[:, :, start:end]
        length = end - start
        if sliding_window is not None and length > sliding_window:
            rows = torch.arange(length, device=query.device)
            distance = rows[:, None] - rows[None, :]
            mask = (distance >= 0) & (distance < sliding_window)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, scale=scaling, enable_gqa=grouped)
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout, scale=scaling, enable_gqa=grouped)
        outputs.append(out)
    return torch.cat(outputs, dim=2).transpose(1, 2).contiguous(), None
