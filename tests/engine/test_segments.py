"""Per-segment attention over padding-free rows: each example's logits are those it has alone."""
import pytest
import torch

from peftstudio.engine.data.packing import FlatCollator, PaddedCollator
from peftstudio.engine.data.tokenize import IGNORE_INDEX
from peftstudio.engine.training import segments
from peftstudio.engine.token_loss import MODEL_INPUTS, selected_token_loss


def _examples(lengths, vocab, seed=0):
    generator = torch.Generator().manual_seed(seed)
    features = []
    for n in lengths:
        ids = torch.randint(3, vocab, (n,), generator=generator).tolist()
        features.append({"input_ids": ids, "labels": [IGNORE_INDEX] * (n // 3) + ids[n // 3:]})
    return features


def _logits_alone_and_in_a_row(model, features):
    """Each example's logits run alone (transformers' own sdpa), and sliced from one flat row (per segment)."""
    with torch.no_grad():
        alone = [model(input_ids=torch.tensor([f["input_ids"]]), use_cache=False).logits[0] for f in features]
        batch = FlatCollator()(features)
        assert segments.use_segments(model)
        row = model(**{k: v for k, v in batch.items() if k in MODEL_INPUTS}, use_cache=False).logits[0]
    bounds = batch["cu_seq_lens_q"].tolist()
    return alone, [row[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def test_the_flat_row_has_every_token_once_and_no_padding():
    features = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [-100, 9]}]
    batch = FlatCollator()(features)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    assert batch["cu_seq_lens_q"].tolist() == [0, 3, 5] and batch["max_length_q"] == 3
    # the last token of example 1 is not trained to predict the first token of example 2
    assert batch["shift_labels"].tolist() == [[6, 7, IGNORE_INDEX, 9, IGNORE_INDEX]]
    assert int(batch["num_tokens"]) == 5 and "attention_mask" not in batch


def test_demo_model_logits_per_segment_equal_those_alone(demo_folder):
    from peftstudio.engine.models import load_causal_lm

    model = load_causal_lm(demo_folder).eval()
    alone, in_row = _logits_alone_and_in_a_row(model, _examples([40, 7, 23, 61], 49152))
    for a, b in zip(alone, in_row):
        assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    # the control: the same row attended as one sequence mixes the examples
    batch = FlatCollator()(_examples([40, 7, 23, 61], 49152))
    with torch.no_grad():
        mixed = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
    assert not torch.allclose(mixed[40:47], in_row[1], atol=1e-3)


def test_losses_per_segment_equal_padded_losses(demo_folder):
    from peftstudio.engine.models import load_causal_lm

    model = load_causal_lm(demo_folder).eval()
    segments.use_segments(model)
    features = _examples([30, 12, 55], 49152, seed=1)
    with torch.no_grad():
        flat, flat_count = selected_token_loss(model, FlatCollator()(features))
        padded, padded_count = selected_token_loss(model, PaddedCollator(0)(features))  # sdpa with its mask
    assert int(flat_count) == int(padded_count)
    assert abs(float(flat) - float(padded)) < 1e-3 * float(padded)


@pytest.mark.parametrize("model_type, extra", [
    ("qwen3", dict(head_dim=32)),
    ("mistral", dict(sliding_window=8)),  # examples longer than the window: the window applies inside each
    ("gemma3_text", dict(head_dim=32, query_pre_attn_scalar=32, sliding_window=8,
                         layer_types=["sliding_attention", "full_attention"])),
])
def test_family_logits_per_segment_equal_those_alone(model_type, extra):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(model_type, vocab_size=128, hidden_size=64, intermediate_size=128,
                                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                  max_position_embeddings=256, **extra)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()
    alone, in_row = _logits_alone_and_in_a_row(model, _examples([20, 5, 13], 128))
    for a, b in zip(alone, in_row):
        assert torch.allclose(a, b, atol=1e-4), (model_type, (a - b).abs().max())


def test_models_with_their_own_attention_keep_packed_rows():
    from transformers import AutoConfig

    gemma2 = AutoConfig.for_model("gemma2", attn_logit_softcapping=50.0)
    gemma2._attn_implementation = "eager"
    assert "attention" in segments.why_not(gemma2)
    assert segments.why_not(AutoConfig.for_model("gpt_oss")) is not None  # attention sinks
    assert "images" in segments.why_not(AutoConfig.for_model("gemma3"))  # its vision tower attends too
    llama = AutoConfig.for_model("llama")
    llama._attn_implementation = "sdpa"
    assert segments.why_not(llama) is None


def test_the_flash_kernel_is_chosen_only_for_half_precision_cuda_tensors():
    assert not segments.flash_varlen_fits(torch.zeros(1, 2, 3, 4))
    assert not segments.flash_varlen_fits(torch.zeros(1, 2, 3, 4, dtype=torch.bfloat16))  # a CPU tensor
