"""The curated model catalog: popular instruction models with their architecture, known without a download.

Numbers are the models' published `config.json` values; parameters are computed from them.
"""
from __future__ import annotations

from dataclasses import dataclass

from peftstudio.engine.planning.facts import ModelFacts


@dataclass(frozen=True)
class CatalogEntry:
    model_id: str
    name: str
    family: str
    facts: ModelFacts
    gated: bool = False  # needs a Hugging Face token and accepted license
    note: str = ""


def _entry(model_id, name, family, arch, layers, hidden, heads, kv, inter, vocab, tied, gated=False, head_dim=0,
           max_position=32768, bias=False, note=""):
    facts = ModelFacts(model_id, arch, layers, hidden, heads, kv, inter, vocab, tied, head_dim, max_position,
                       attention_bias=bias)
    return CatalogEntry(model_id, name, family, facts, gated, note)


CATALOG: list[CatalogEntry] = [
    _entry("HuggingFaceTB/SmolLM2-135M-Instruct", "SmolLM2 135M", "SmolLM2", "llama", 30, 576, 9, 3, 1536, 49152,
           True, max_position=8192, note="The demo model: works offline, trains on any laptop."),
    _entry("HuggingFaceTB/SmolLM2-360M-Instruct", "SmolLM2 360M", "SmolLM2", "llama", 32, 960, 15, 5, 2560, 49152,
           True, max_position=8192),
    _entry("HuggingFaceTB/SmolLM2-1.7B-Instruct", "SmolLM2 1.7B", "SmolLM2", "llama", 24, 2048, 32, 32, 8192, 49152,
           True, max_position=8192),
    _entry("Qwen/Qwen2.5-0.5B-Instruct", "Qwen2.5 0.5B", "Qwen2.5", "qwen2", 24, 896, 14, 2, 4864, 151936, True,
           bias=True),
    _entry("Qwen/Qwen2.5-1.5B-Instruct", "Qwen2.5 1.5B", "Qwen2.5", "qwen2", 28, 1536, 12, 2, 8960, 151936, True,
           bias=True),
    _entry("Qwen/Qwen2.5-3B-Instruct", "Qwen2.5 3B", "Qwen2.5", "qwen2", 36, 2048, 16, 2, 11008, 151936, True,
           bias=True),
    _entry("Qwen/Qwen2.5-7B-Instruct", "Qwen2.5 7B", "Qwen2.5", "qwen2", 28, 3584, 28, 4, 18944, 152064, False,
           bias=True),
    _entry("meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2 1B", "Llama 3", "llama", 16, 2048, 32, 8, 8192, 128256,
           True, gated=True, max_position=131072),
    _entry("meta-llama/Llama-3.2-3B-Instruct", "Llama 3.2 3B", "Llama 3", "llama", 28, 3072, 24, 8, 8192, 128256,
           True, gated=True, max_position=131072),
    _entry("meta-llama/Llama-3.1-8B-Instruct", "Llama 3.1 8B", "Llama 3", "llama", 32, 4096, 32, 8, 14336, 128256,
           False, gated=True, max_position=131072),
    _entry("mistralai/Mistral-7B-Instruct-v0.3", "Mistral 7B v0.3", "Mistral", "mistral", 32, 4096, 32, 8, 14336,
           32768, False, gated=True),
    _entry("google/gemma-2-2b-it", "Gemma 2 2B", "Gemma 2", "gemma2", 26, 2304, 8, 4, 9216, 256000, True,
           gated=True, head_dim=256, max_position=8192),
    _entry("microsoft/Phi-3.5-mini-instruct", "Phi-3.5 mini", "Phi-3.5", "phi3", 32, 3072, 32, 32, 8192, 32064,
           False, max_position=131072),
    _entry("Qwen/Qwen2.5-Coder-1.5B-Instruct", "Qwen2.5 Coder 1.5B", "Qwen2.5", "qwen2", 28, 1536, 12, 2, 8960,
           151936, True, bias=True, note="Tuned for code."),
    # 2025 families: reasoning-capable Qwen3, Gemma 3, SmolLM3 and Phi-4-mini
    _entry("Qwen/Qwen3-0.6B", "Qwen3 0.6B", "Qwen3", "qwen3", 28, 1024, 16, 8, 3072, 151936, True, head_dim=128,
           max_position=40960, note="Thinks before answering (thinking blocks) unless told not to."),
    _entry("Qwen/Qwen3-1.7B", "Qwen3 1.7B", "Qwen3", "qwen3", 28, 2048, 16, 8, 6144, 151936, True, head_dim=128,
           max_position=40960),
    _entry("Qwen/Qwen3-4B", "Qwen3 4B", "Qwen3", "qwen3", 36, 2560, 32, 8, 9728, 151936, True, head_dim=128,
           max_position=40960),
    _entry("Qwen/Qwen3-8B", "Qwen3 8B", "Qwen3", "qwen3", 36, 4096, 32, 8, 12288, 151936, False, head_dim=128,
           max_position=40960),
    _entry("google/gemma-3-1b-it", "Gemma 3 1B", "Gemma 3", "gemma3_text", 26, 1152, 4, 1, 6912, 262144, True,
           gated=True, head_dim=256, max_position=32768),
    _entry("google/gemma-3-4b-it", "Gemma 3 4B", "Gemma 3", "gemma3", 34, 2560, 8, 4, 10240, 262208, True,
           gated=True, head_dim=256, max_position=131072,
           note="Text and images; PEFT Studio fine-tunes and exports the text part."),
    _entry("HuggingFaceTB/SmolLM3-3B", "SmolLM3 3B", "SmolLM3", "smollm3", 36, 2048, 16, 4, 11008, 128256, True,
           max_position=65536, note="Open data and recipe; reasons with /think or answers directly with /no_think."),
    _entry("microsoft/Phi-4-mini-instruct", "Phi-4 mini", "Phi-4", "phi3", 32, 3072, 24, 8, 8192, 200064, True,
           max_position=131072),
]


def catalog_entry(model_id: str) -> CatalogEntry | None:
    wanted = model_id.strip().lower()
    return next((e for e in CATALOG if e.model_id.lower() == wanted), None)


def smaller_models(model_id: str) -> list[CatalogEntry]:
    """Catalog models of the same family with fewer parameters, largest first."""
    entry = catalog_entry(model_id)
    if entry is None:
        return []
    size = entry.facts.total_parameters
    same = [e for e in CATALOG if e.family == entry.family and e.facts.total_parameters < size]
    return sorted(same, key=lambda e: -e.facts.total_parameters)
