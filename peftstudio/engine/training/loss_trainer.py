"""A Trainer whose loss only computes logits where there is something to predict (engine/token_loss.py), and
which counts loss-carrying tokens and examples for the throughput metrics."""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import Trainer

from peftstudio.engine.errors import PlainError
from peftstudio.engine.token_loss import selected_token_loss
from peftstudio.engine.training.adapter_setup import loraplus_optimizer
from peftstudio.engine.training.distributed import all_reduce_sum


class LossTokenTrainer(Trainer):
    # our loss is divided by the token count of the whole accumulated step already
    loss_is_scaled_for_ga = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = True  # makes the Trainer count num_items_in_batch for us
        self.loss_tokens_seen = 0
        self.input_tokens_seen = 0  # real tokens, padding excluded: what the compute is spent on
        self.examples_seen = 0

    # set by the session before training: LoRA+'s B/A learning-rate ratio (1 = plain), and the optimizer state of
    # the version this run continues (its last checkpoint's optimizer.pt), when the user carries it over
    loraplus_lr_ratio = 1.0
    carried_optimizer_state: "Path | None" = None

    def create_optimizer(self, model=None):
        if self.optimizer is None and self.loraplus_lr_ratio > 1.0:
            self.optimizer = loraplus_optimizer(self.model if model is None else model, self.args,
                                                self.loraplus_lr_ratio)
        optimizer = super().create_optimizer(model)
        if self.carried_optimizer_state is not None:
            state = torch.load(self.carried_optimizer_state, map_location="cpu", weights_only=True)
            # the moments carry over; this run's learning rates and schedule rule
            hyper = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
            try:
                optimizer.load_state_dict(state)
            except ValueError as exc:
                raise PlainError(
                    title="The earlier optimizer state does not fit this run",
                    what="The version you continue was trained with different optimizer groups (LoRA+ on or "
                         "off, or another optimizer).",
                    why="Its saved optimizer state only fits the same optimizer with the same groups.",
                    actions=["Continue with a fresh optimizer state.",
                             "Or use the same LoRA+ ratio and optimizer as the earlier version."],
                    help_topic="settings") from exc
            for group, saved in zip(optimizer.param_groups, hyper):
                group.pop("initial_lr", None)
                group.update(saved)
            self.carried_optimizer_state = None
        return optimizer

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        # after a recovery the config's learning rate is lower than the one the checkpoint was saved with:
        # rescale the resumed schedule so it continues from the same point at the new rate
        scheduler = getattr(self, "lr_scheduler", None)
        if checkpoint is None or scheduler is None or not getattr(scheduler, "base_lrs", None):
            return
        factor = self.args.learning_rate / scheduler.base_lrs[0]
        if abs(factor - 1) > 1e-12:
            scheduler.base_lrs = [base * factor for base in scheduler.base_lrs]
            for group in self.optimizer.param_groups:
                group["lr"] *= factor
                if "initial_lr" in group:
                    group["initial_lr"] *= factor

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        examples = inputs.pop("num_examples", None)
        tokens = inputs.pop("num_tokens", None)
        loss_sum, count = selected_token_loss(model, inputs)
        denominator = num_items_in_batch if num_items_in_batch is not None else count.clamp(min=1)
        loss = loss_sum / denominator
        if num_items_in_batch is not None and self.args.average_tokens_across_devices:
            # num_items_in_batch counts every rank's tokens and DDP averages gradients over ranks: scale back
            # so the update is the mean over all tokens, exactly as in one process (as Trainer.compute_loss does)
            loss = loss * self.accelerator.num_processes
        if model.training:
            local = [int(count), int(tokens) if tokens is not None else int(inputs["input_ids"].numel()),
                     int(examples) if examples is not None else int(inputs["input_ids"].shape[0])]
            loss_tokens, input_tokens, seen = all_reduce_sum(local)  # totals over every rank
            self.loss_tokens_seen += loss_tokens
            self.input_tokens_seen += input_tokens
            self.examples_seen += seen
        return (loss, {"loss": loss}) if return_outputs else loss
