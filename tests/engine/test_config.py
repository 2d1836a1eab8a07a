import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peftstudio.engine.config import DISTRIBUTED_STRATEGIES, OPTIMIZERS, PRECISIONS, SCHEDULERS, TrainingConfig
from peftstudio.engine.errors import PlainError

configs = st.builds(
    TrainingConfig,
    model_name=st.text(min_size=1, max_size=40).filter(lambda s: s.strip()),
    dataset_path=st.text(max_size=60),
    column_mapping=st.dictionaries(st.sampled_from(["prompt", "response"]), st.text(max_size=10), max_size=2),
    system_prompt=st.none() | st.text(max_size=40),
    validation_split=st.floats(0, 0.49),
    peft_method=st.just("lora"),
    lora_r=st.integers(1, 1024), lora_alpha=st.integers(1, 4096), lora_dropout=st.floats(0, 0.99),
    target_modules=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5),
    learning_rate=st.floats(1e-8, 1.0), batch_size=st.integers(1, 4096),
    gradient_accumulation=st.integers(1, 4096), epochs=st.floats(0.01, 1000),
    max_steps=st.none() | st.integers(1, 10**6), warmup_steps=st.integers(0, 10**5),
    optimizer=st.sampled_from(OPTIMIZERS), scheduler=st.sampled_from(SCHEDULERS),
    weight_decay=st.floats(0, 1), max_grad_norm=st.floats(0, 100),
    precision=st.sampled_from(PRECISIONS), quantization=st.sampled_from([None, "8bit", "4bit"]),
    save_steps=st.integers(1, 10**5), save_total=st.integers(1, 100), eval_steps=st.integers(1, 10**5),
    eval_strategy=st.sampled_from(["steps", "epoch", "no"]), max_seq_length=st.integers(16, 131072),
    packing=st.booleans(), gradient_checkpointing=st.booleans(), seed=st.integers(0, 2**32 - 1),
    num_processes=st.integers(1, 1024), distributed_strategy=st.sampled_from(DISTRIBUTED_STRATEGIES),
)


@settings(max_examples=100, deadline=None)
@given(configs)
def test_json_round_trip_is_exact_and_valid(config):
    restored = TrainingConfig.from_json(config.to_json())
    assert restored == config
    assert restored.problems() == []


@pytest.mark.parametrize("field,value", [
    ("lora_r", 0), ("lora_alpha", -1), ("lora_dropout", 1.0), ("learning_rate", 0.0),
    ("learning_rate", float("nan")), ("batch_size", 0), ("epochs", 0), ("max_steps", 0),
    ("optimizer", "adam9000"), ("scheduler", "zigzag"), ("precision", "fp8"), ("quantization", "3bit"),
    ("save_total", 0), ("max_seq_length", 8), ("validation_split", 0.9), ("target_modules", []),
    ("batch_size", True), ("seed", -1),
])
def test_invalid_values_get_a_plain_message_naming_the_field(field, value):
    config = TrainingConfig(**{field: value})
    problems = dict(config.problems())
    assert field in problems
    with pytest.raises(PlainError) as raised:
        config.check()
    assert field in raised.value.what
    assert 2 <= len(raised.value.actions) <= 3


def test_qlora_without_quantization_is_explained():
    problems = dict(TrainingConfig(peft_method="qlora").problems())
    assert "4bit" in problems["quantization"]


def test_unknown_settings_and_bad_json_are_plain_errors():
    with pytest.raises(PlainError) as raised:
        TrainingConfig.from_json(json.dumps({"lora_rank": 8}))
    assert "lora_rank" in raised.value.what
    with pytest.raises(PlainError) as raised:
        TrainingConfig.from_json("{not json")
    assert "line 1" in raised.value.what
