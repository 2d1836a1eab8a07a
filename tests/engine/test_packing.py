import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from peftstudio.engine.data.packing import PackedCollator, PaddedCollator, pack_rows
from peftstudio.engine.data.tokenize import IGNORE_INDEX, tokenize_examples
from peftstudio.engine.token_loss import selected_token_loss


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 512), min_size=1, max_size=64), st.integers(512, 2048))
def test_pack_rows_places_every_example_once_within_the_row_length(lengths, row_length):
    rows = pack_rows(lengths, row_length)
    placed = sorted(i for row in rows for i in row)
    assert placed == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= row_length for row in rows)


def test_packed_rows_keep_examples_apart():
    features = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [-100, 9]}]
    batch = PackedCollator(pad_token_id=0, row_length=16)(features)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    # the last token of example 1 must not be trained to predict the first token of example 2
    assert batch["shift_labels"].tolist() == [[6, 7, IGNORE_INDEX, 9, IGNORE_INDEX]]
    assert "attention_mask" not in batch


def test_per_example_losses_with_packing_equal_those_without(demo_folder, demo_tokenizer):
    from peftstudio.engine.models import load_causal_lm

    model = load_causal_lm(demo_folder).eval()
    texts = [("Name a colour.", "Blue."), ("Count to five.", "One, two, three, four, five."),
             ("Write a haiku about rain.", "Soft rain on the roof,\nthe garden drinks in silence,\nclouds move on."),
             ("What is 2+2?", "4")]
    examples = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
                for q, a in texts]
    features = tokenize_examples(demo_tokenizer, examples, max_length=128)
    pad = demo_tokenizer.pad_token_id
    with torch.no_grad():
        alone = [selected_token_loss(model, PaddedCollator(pad)([f]), reduction="mean")[0].item() for f in features]
        # pack all four into rows (two rows: the row length forces a split), then score each example alone
        row_length = sum(len(f["input_ids"]) for f in features) // 2 + 8
        packed = PackedCollator(pad, row_length=row_length)(features)
        assert packed["input_ids"].shape[0] >= 2
        row_of, start_of = _locate(features, row_length)
        for i, feature in enumerate(features):
            only_i = torch.full_like(packed["shift_labels"], IGNORE_INDEX)
            r, s = row_of[i], start_of[i]
            n = len(feature["input_ids"])
            only_i[r, s:s + n] = packed["shift_labels"][r, s:s + n]
            inputs = {"input_ids": packed["input_ids"], "position_ids": packed["position_ids"], "shift_labels": only_i}
            loss = selected_token_loss(model, inputs, reduction="mean")[0].item()
            assert abs(loss - alone[i]) < 1e-4, (i, loss, alone[i])


def _locate(features, row_length):
    """Where the collator put each example: it packs with `pack_rows`, in order within a row."""
    row_of, start_of = {}, {}
    for r, row in enumerate(pack_rows([len(f["input_ids"]) for f in features], row_length)):
        offset = 0
        for i in row:
            row_of[i], start_of[i] = r, offset
            offset += len(features[i]["input_ids"])
    return row_of, start_of


def test_packing_without_position_ids_would_leak(demo_folder, demo_tokenizer):
    """The control: the same packed rows with plain positions give different losses (cross-talk)."""
    from peftstudio.engine.models import load_causal_lm

    model = load_causal_lm(demo_folder).eval()
    examples = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
                {"messages": [{"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye!"}]}]
    features = tokenize_examples(demo_tokenizer, examples, max_length=64)
    packed = PackedCollator(demo_tokenizer.pad_token_id, row_length=512)(features)
    with torch.no_grad():
        separate = selected_token_loss(model, packed, reduction="sum")[0].item()
        leaky = dict(packed, position_ids=torch.arange(packed["input_ids"].shape[1]).unsqueeze(0))
        mixed = selected_token_loss(model, leaky, reduction="sum")[0].item()
    assert abs(separate - mixed) > 1e-3
