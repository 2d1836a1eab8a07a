import json

from peftstudio.engine.data.dataset_file import preview
from peftstudio.engine.data.dataset_file import compute_stats
from peftstudio.engine.data.stats import recommended_length
from peftstudio.engine.data.tokenize import tokenize_examples


def test_token_statistics_match_real_tokenization(tmp_path, demo_tokenizer):
    rows = [{"instruction": "Explain item %d " % i + "in detail " * (i % 13), "input": "",
             "output": "Item %d is " % i + "very good " * (i % 7 + 1)} for i in range(100)]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    stats = compute_stats(path, demo_tokenizer)
    examples = [{"messages": [{"role": "user", "content": r["instruction"].strip()},
                              {"role": "assistant", "content": r["output"].strip()}]} for r in rows]
    exact = [len(e["input_ids"]) for e in tokenize_examples(demo_tokenizer, examples, 10_000)]
    assert stats.examples == 100 and stats.rows == 100
    assert abs(stats.tokens_total - sum(exact)) <= 0.02 * sum(exact)
    assert abs(stats.tokens_max - max(exact)) <= 2
    assert stats.tokens_p50 <= stats.tokens_p95 <= stats.tokens_max
    assert sum(stats.histogram_counts) == 100 and len(stats.histogram_edges) == len(stats.histogram_counts) + 1
    assert stats.recommended_max_seq_length >= stats.tokens_p95 and stats.recommended_max_seq_length % 64 == 0
    loss = sum(sum(1 for t in e["labels"][1:] if t != -100) for e in tokenize_examples(demo_tokenizer, examples, 10_000))
    assert abs(stats.loss_tokens_per_epoch - loss) <= 0.05 * loss


def test_recommended_length_is_bounded():
    assert recommended_length(10) == 128
    assert recommended_length(700) == 704
    assert recommended_length(5000, model_max=2048) == 2048


def test_preview_shows_the_exact_model_text(tmp_path, demo_tokenizer):
    path = tmp_path / "d.csv"
    path.write_text("prompt,completion\nHello?,Hi!\n")
    [item] = preview(path, tokenizer=demo_tokenizer)
    assert item["example"]["messages"][1] == {"role": "assistant", "content": "Hi!"}
    assert item["model_text"].endswith("<|im_start|>user\nHello?<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n")


def test_counting_sees_whole_examples_after_a_truncating_tokenizer_call(demo_tokenizer):
    """The fast tokenizer's backend keeps the last call's truncation; the counter must not inherit it."""
    from peftstudio.engine.data.stats import TokenCounter

    text = "once upon a time " * 50
    demo_tokenizer(text, truncation=True, max_length=5)  # what preparing a run does, with its max length
    [count] = TokenCounter(demo_tokenizer).count([{"text": text}])
    assert count > 100
    assert demo_tokenizer.backend_tokenizer.truncation["max_length"] == 5  # left as the caller had it
