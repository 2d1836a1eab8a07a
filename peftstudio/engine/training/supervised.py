"""Supervised fine-tuning's own pieces: its measure of a model (the loss on held-back examples), its sample of
repetition, and its trainer (our LossTokenTrainer with the collator the run's packing asks for)."""
from __future__ import annotations

from peftstudio.engine.data.tokenize import IGNORE_INDEX
from peftstudio.engine.quality import repetition_rate

VALIDATION_SAMPLE = 64  # held-back examples measured before training (enough for a stable mean, and quick)


def validation_loss(model, tokenizer, data) -> float | None:
    """Mean loss per target token of `model` on (the start of) the validation split."""
    import torch

    from peftstudio.engine.data.packing import PaddedCollator  # lazy: defers torch
    from peftstudio.engine.token_loss import selected_token_loss  # lazy: defers torch

    features = data.validation[:VALIDATION_SAMPLE]
    if not features:
        return None
    collate, total, count = PaddedCollator(tokenizer.pad_token_id), 0.0, 0
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(features), 8):
            batch = {k: v.to(device) for k, v in collate(features[start:start + 8]).items()}
            loss, n = selected_token_loss(model, batch)
            total, count = total + float(loss), count + int(n)
    return total / max(1, count)


def sample_repetition(model, tokenizer, data) -> float | None:
    """Share of repeated 3-grams in a greedy answer to the first validation prompt (None without one)."""
    import torch

    def prompt_length(example) -> int:
        return next((i for i, t in enumerate(example["labels"]) if t != IGNORE_INDEX), len(example["labels"]))

    # an example whose first token is already learned has no prompt to answer (nothing to generate from)
    example = next((e for e in data.validation if prompt_length(e) > 0), None)
    if example is None:
        return None
    ids = torch.tensor([example["input_ids"][:prompt_length(example)]], device=next(model.parameters()).device)
    model.eval()
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=48,
                             do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return repetition_rate(out[0, ids.shape[1]:].tolist())


def build_trainer(config, model, tokenizer, data, arguments: dict, callbacks: list, segments: bool):
    """The Trainer for a supervised run: padding-free rows, packed rows or padded batches, as the run decided."""
    from transformers import TrainingArguments

    from peftstudio.engine.data.packing import FlatCollator, PackedCollator, PaddedCollator  # lazy: defers torch
    from peftstudio.engine.training.loss_trainer import LossTokenTrainer  # lazy: defers torch, transformers

    pad_id = tokenizer.pad_token_id
    collator = FlatCollator() if segments else \
        PackedCollator(pad_id, config.max_seq_length) if config.packing else PaddedCollator(pad_id)
    has_eval = arguments["eval_strategy"] != "no"
    return LossTokenTrainer(model=model, args=TrainingArguments(**arguments), train_dataset=data.train,
                            eval_dataset=data.validation if has_eval else None, data_collator=collator,
                            callbacks=callbacks)
