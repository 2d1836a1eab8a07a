"""The loss over the tokens that carry one: shared by training (LossTokenTrainer), the base model's measurement
before training, and the playground's perplexity of an answer.

The stock causal-LM forward projects every position onto the whole vocabulary (for the demo model 49,152 floats
per token) although only assistant tokens carry loss. We run the decoder, keep the hidden states at positions
with a target (`shift_labels != -100`), and project only those: less compute and far less memory, the same loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from peftstudio.engine.data.tokenize import IGNORE_INDEX

# what the collators hand the model; the cumulative lengths and longest example are FlatCollator's segments
MODEL_INPUTS = ("input_ids", "attention_mask", "position_ids", "cu_seq_lens_q", "cu_seq_lens_k", "max_length_q",
                "max_length_k")


def causal_lm_of(model):
    """The transformers model under peft/accelerate wrappers."""
    inner = getattr(model, "module", model)  # DDP
    if hasattr(inner, "get_base_model"):
        inner = inner.get_base_model()
    return inner


def selected_token_loss(model, inputs: dict, reduction: str = "sum") -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy over positions whose `shift_labels` is a target; returns (loss, count)."""
    targets = inputs["shift_labels"]
    lm = causal_lm_of(model)
    head = lm.get_output_embeddings()
    model_inputs = {k: v for k, v in inputs.items() if k in MODEL_INPUTS}
    # The forward goes through `model` itself (DDP/FSDP wrappers included, so gradients are synchronised);
    # logits_to_keep=1 skips the full-vocabulary projection, which we do below for loss positions only.
    outputs = model(**model_inputs, use_cache=False, output_hidden_states=True, logits_to_keep=1)
    hidden = outputs.hidden_states[-1]  # after the final norm
    keep = targets != IGNORE_INDEX
    # accelerate's mixed-precision wrapper hands the hidden states back in fp32; the head may be bf16
    logits = head(hidden[keep].to(head.weight.dtype)).float()
    softcap = getattr(lm.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    loss = F.cross_entropy(logits, targets[keep], reduction=reduction)
    return loss, keep.sum()
