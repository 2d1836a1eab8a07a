from peftstudio.engine.data.schema import Schema, detect_schema, normalize_row
from peftstudio.engine.data.tokenize import IGNORE_INDEX, tokenize_examples


def labelled_text(tokenizer, example):
    ids = [t for t in example["labels"] if t != IGNORE_INDEX]
    return tokenizer.decode(ids)


def test_loss_is_on_the_assistant_reply_only(demo_tokenizer):
    example = {"messages": [{"role": "user", "content": "Say hello"},
                            {"role": "assistant", "content": "Hello there, friend."}]}
    [tokenized] = tokenize_examples(demo_tokenizer, [example], max_length=256)
    text = labelled_text(demo_tokenizer, tokenized)
    assert text.startswith("Hello there, friend.<|im_end|>")
    assert "Say hello" not in text
    full = demo_tokenizer.decode(tokenized["input_ids"])
    assert "You are a helpful AI assistant named SmolLM" in full  # the template's default system prompt


def test_every_assistant_turn_of_a_conversation_carries_loss(demo_tokenizer):
    example = {"messages": [{"role": "system", "content": "Be brief."},
                            {"role": "user", "content": "One?"}, {"role": "assistant", "content": "Uno."},
                            {"role": "user", "content": "Two?"}, {"role": "assistant", "content": "Dos."}]}
    [tokenized] = tokenize_examples(demo_tokenizer, [example], max_length=256)
    text = labelled_text(demo_tokenizer, tokenized)
    assert "Uno." in text and "Dos." in text
    assert "One?" not in text and "Be brief." not in text


def test_plain_text_trains_on_every_token(demo_tokenizer):
    [tokenized] = tokenize_examples(demo_tokenizer, [{"text": "The quick brown fox."}], max_length=64)
    assert tokenized["labels"] == tokenized["input_ids"]


def test_examples_truncated_before_the_reply_are_dropped(demo_tokenizer):
    long_prompt = "word " * 200
    examples = [{"messages": [{"role": "user", "content": long_prompt}, {"role": "assistant", "content": "ok"}]},
                {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}]
    out = tokenize_examples(demo_tokenizer, examples, max_length=64)
    assert len(out) == 1 and all(len(e["input_ids"]) <= 64 for e in out)


def test_schemas_normalize_to_the_same_conversation():
    rows = {
        "alpaca": {"instruction": "Q", "input": "", "output": "A"},
        "openai": {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]},
        "sharegpt": {"conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]},
        "prompt_completion": {"prompt": "Q", "completion": "A"},
        "question_answer": {"question": "Q", "answer": "A"},
    }
    for name, row in rows.items():
        schema = detect_schema([row])
        assert schema.name == name
        assert normalize_row(row, schema)["messages"] == [{"role": "user", "content": "Q"},
                                                          {"role": "assistant", "content": "A"}]
    mapped = detect_schema([{"query": "Q", "response": "A"}])
    assert mapped == Schema("mapped", {"prompt": "query", "response": "response"}, suggested=True)
