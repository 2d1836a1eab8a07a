"""Model facts without loading weights: from config.json, safetensors headers or GGUF metadata.

The parameter count is read from safetensors headers when the files are there (exact), else
computed from the architecture (embeddings + per layer attention, MLP and norms).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

from peftstudio.engine.errors import PlainError
from peftstudio.engine.models import MODEL_CONFIG_FILE, converted_path, is_converted, resolve_model
from peftstudio.engine.planning.catalog import catalog_entry
from peftstudio.engine.planning.facts import ModelFacts  # noqa: F401 - re-exported: the readers below return it


def facts_from_config(config: dict, model_id: str, parameters: int = 0) -> ModelFacts:
    text = config.get("text_config", config)  # multimodal wrappers keep the language model inside
    heads = text.get("num_attention_heads") or text.get("n_head")
    return ModelFacts(
        model_id=model_id, architecture=text.get("model_type", config.get("model_type", "unknown")),
        layers=text.get("num_hidden_layers") or text.get("n_layer"), hidden_size=text.get("hidden_size") or
        text.get("n_embd"), heads=heads, kv_heads=text.get("num_key_value_heads") or heads,
        intermediate_size=text.get("intermediate_size") or 4 * (text.get("hidden_size") or text.get("n_embd")),
        vocab_size=text.get("vocab_size"), tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        head_dim=text.get("head_dim") or 0, max_position=text.get("max_position_embeddings") or 4096,
        parameters=parameters, attention_bias=bool(text.get("attention_bias", text.get("model_type") == "qwen2")),
    )


def safetensors_parameter_count(folder: Path) -> int:
    """Sum of tensor sizes from the safetensors headers (8-byte length + JSON): no weights are read."""
    total = 0
    for file in sorted(folder.glob("*.safetensors")):
        with open(file, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        for name, info in header.items():
            if name != "__metadata__":
                count = 1
                for dim in info["shape"]:
                    count *= dim
                total += count
    return total


def facts_from_folder(folder: Path, model_id: str | None = None) -> ModelFacts:
    config = json.loads((folder / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    return facts_from_config(config, model_id or folder.name, safetensors_parameter_count(folder))


def facts_from_gguf(path: Path, model_id: str | None = None) -> ModelFacts:
    from gguf import GGUFReader

    reader = GGUFReader(str(path))

    def value(key, default=None):
        field = reader.fields.get(key)
        if field is None:
            return default
        return field.contents()

    arch = value("general.architecture", "llama")
    heads = value(f"{arch}.attention.head_count")
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    vocab = len(tokens.data) if tokens is not None else value(f"{arch}.vocab_size")
    tied = not any(t.name == "output.weight" for t in reader.tensors)
    parameters = sum(int(t.n_elements) for t in reader.tensors)
    return ModelFacts(
        model_id=model_id or path.stem, architecture=arch, layers=value(f"{arch}.block_count"),
        hidden_size=value(f"{arch}.embedding_length"), heads=heads,
        kv_heads=value(f"{arch}.attention.head_count_kv", heads),
        intermediate_size=value(f"{arch}.feed_forward_length"), vocab_size=vocab, tied_embeddings=tied,
        max_position=value(f"{arch}.context_length", 4096), parameters=parameters,
    )


def model_facts(ref: str) -> ModelFacts:
    """Facts for a model id, folder or .gguf file: local files first, then the curated catalog."""
    entry = catalog_entry(ref)
    try:
        source = resolve_model(ref)
    except PlainError:
        if entry is not None:
            return entry.facts
        raise
    if source.is_gguf:
        if is_converted(source):  # reading the converted copy's headers is instant; GGUF parsing takes seconds
            return facts_from_folder(converted_path(source), source.model_id)
        if entry is not None:
            return entry.facts
        return facts_from_gguf(source.folder / source.gguf_file, source.model_id)
    return facts_from_folder(source.folder, source.model_id)
