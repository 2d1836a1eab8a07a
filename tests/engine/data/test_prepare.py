from helpers import small_config
from peftstudio.engine.data.prepare import prepare, split_indices


def test_preparation_is_cached_by_content_and_settings(alpaca_file, demo_tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("PEFTSTUDIO_CACHE_DIR", str(tmp_path / "cache"))  # an empty cache for this test
    config = small_config(alpaca_file, validation_split=0.2)
    first = prepare(config, demo_tokenizer)
    second = prepare(config, demo_tokenizer)
    assert not first.from_cache and second.from_cache
    assert (second.train, second.validation) == (first.train, first.validation)
    assert len(first.validation) == 8 and len(first.train) == 32
    other = prepare(small_config(alpaca_file, validation_split=0.2, max_seq_length=64), demo_tokenizer)
    assert not other.from_cache  # a setting that changes the result is part of the key
    alpaca_file.write_text(alpaca_file.read_text().replace("Zorblax", "Zorblix"))
    assert not prepare(config, demo_tokenizer).from_cache  # so is the file's content


def test_split_is_seeded_and_disjoint():
    train, validation = split_indices(100, 0.1, seed=7)
    assert split_indices(100, 0.1, seed=7) == (train, validation)
    assert split_indices(100, 0.1, seed=8) != (train, validation)
    assert not set(train) & set(validation) and len(validation) == 10
    assert split_indices(3, 0.1, seed=0)[1] == []  # too small to hold examples back
