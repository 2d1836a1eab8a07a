"""The tokenizer half of our GGUF files: llama.cpp's pre-tokenizer name read from tokenizer.json's rules,
SentencePiece scores that reproduce the BPE merge order, and the space-prefix rule."""
from __future__ import annotations

from peftstudio.engine.export.gguf_tokenizer import _adds_space_prefix, _merge_scores, pre_tokenizer_from_json

SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|%s| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"


def sequence(*steps):
    return {"pre_tokenizer": {"type": "Sequence", "pretokenizers": list(steps)}}


def split(regex):
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated"}


def test_pre_tokenizer_names_follow_the_declared_rules():
    byte_level = {"type": "ByteLevel", "use_regex": False}
    assert pre_tokenizer_from_json(sequence(split(SPLIT % "\\p{N}{1,3}"), byte_level)) == "llama-bpe"
    assert pre_tokenizer_from_json(sequence(split(SPLIT % "\\p{N}"), byte_level)) == "qwen2"
    assert pre_tokenizer_from_json(sequence(split("[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}]*"), byte_level)) \
        == "gpt-4o"
    assert pre_tokenizer_from_json(sequence({"type": "Digits", "individual_digits": True},
                                            {"type": "ByteLevel", "use_regex": True})) == "smollm"
    assert pre_tokenizer_from_json({"pre_tokenizer": {"type": "ByteLevel", "use_regex": True}}) == "gpt-2"
    assert pre_tokenizer_from_json(sequence(split("\\w+"), byte_level)) is None  # unknown: the caller falls back


def test_sentencepiece_scores_rank_tokens_by_their_first_merge():
    tokenizer_json = {"model": {"merges": ["▁ t", "h e", "▁t he", "▁ t"]}}
    tokens = ["<unk>", "▁", "t", "▁t", "he", "▁the", "x"]
    scores = _merge_scores(tokenizer_json, tokens)
    assert scores[3] > scores[4] > scores[5]  # earlier merges win, as BPE applies them
    assert max(scores[0], scores[1], scores[2], scores[6]) < scores[5]  # tokens no merge makes come last


def test_space_prefix_read_from_normalizer_or_metaspace():
    assert _adds_space_prefix({"normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"}, {"type": "Replace"}]}})
    assert not _adds_space_prefix({"normalizer": {"type": "Replace"}})  # Gemma
    assert _adds_space_prefix({"pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "first"}})
    assert not _adds_space_prefix({"pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "never"}})
