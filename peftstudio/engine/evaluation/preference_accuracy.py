"""Held-out preference accuracy: the share of pairs where the model gives the chosen answer the higher
log-probability (summed over the answer's tokens, as the model would have to write it, end of turn included).

Written here because it is a few lines over the model's own forward pass; TRL reports the same comparison only
relative to a reference model ("rewards/accuracies"), not whether the model itself now prefers the answer.
"""
from __future__ import annotations


def _answer_log_prob(model, tokenizer, prompt: list[dict], answer: list[dict]) -> float:
    import torch

    before = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(prompt + answer, tokenize=False)
    start = len(tokenizer(before, add_special_tokens=False)["input_ids"]) if full.startswith(before) else None
    ids = tokenizer(full, add_special_tokens=False, return_tensors="pt")["input_ids"].to(model.device)
    if start is None:  # a template that rewrites the prompt: score the answer's own text
        start = ids.shape[1] - len(tokenizer(answer[-1]["content"], add_special_tokens=False)["input_ids"]) - 1
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1].float()
    targets = ids[0, 1:]
    log_probs = torch.log_softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0]
    return float(log_probs[max(0, start - 1):].sum())


def preference_accuracy(model, tokenizer, pairs: list[dict]) -> float | None:
    """Share of `pairs` ({"prompt", "chosen", "rejected"} conversations) the model ranks the right way round."""
    if not pairs:
        return None
    was_training = model.training
    model.eval()
    try:
        right = sum(_answer_log_prob(model, tokenizer, p["prompt"], p["chosen"]) >
                    _answer_log_prob(model, tokenizer, p["prompt"], p["rejected"]) for p in pairs)
    finally:
        model.train(was_training)
    return right / len(pairs)
