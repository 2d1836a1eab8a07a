"""The one table of model architectures our GGUF writer exports (no heavy imports: the wizard asks at once).

Each row says how a transformers architecture becomes llama.cpp's: its GGUF architecture name, whether
q/k projections are permuted to llama.cpp's interleaved rotary layout, whether RMSNorm weights are
stored as (1 + w) (Gemma), and which extra keys `gguf_hparams` writes. Anything not in the table gets
the plain error that points to `hf-merged`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    gguf_name: str        # llama.cpp's architecture name (gguf.MODEL_ARCH_NAMES)
    model_type: str       # config.json's model_type
    family: str           # what a user calls it
    permute_qk: bool = False
    norm_plus_one: bool = False
    extras: str = ""      # the hparams writer for family-specific keys ("gemma2", "gemma3", "phi3")
    text_of: str = ""     # for a text-and-images model: the prefix of its language model's weights


ARCHITECTURES: dict[str, Architecture] = {
    "LlamaForCausalLM": Architecture("llama", "llama", "Llama 2/3.x, SmolLM2", permute_qk=True),
    "MistralForCausalLM": Architecture("llama", "mistral", "Mistral", permute_qk=True),
    "Qwen2ForCausalLM": Architecture("qwen2", "qwen2", "Qwen2/2.5"),
    "Qwen3ForCausalLM": Architecture("qwen3", "qwen3", "Qwen3"),
    "Gemma2ForCausalLM": Architecture("gemma2", "gemma2", "Gemma 2", norm_plus_one=True, extras="gemma2"),
    "Gemma3ForCausalLM": Architecture("gemma3", "gemma3_text", "Gemma 3", norm_plus_one=True, extras="gemma3"),
    # Gemma 3 4B and larger see images too; the GGUF holds the text part, as llama.cpp's converter writes it
    "Gemma3ForConditionalGeneration": Architecture("gemma3", "gemma3", "Gemma 3", norm_plus_one=True,
                                                   extras="gemma3", text_of="model.language_model."),
    "Phi3ForCausalLM": Architecture("phi3", "phi3", "Phi-3/3.5/4-mini", extras="phi3"),
    "SmolLM3ForCausalLM": Architecture("smollm3", "smollm3", "SmolLM3", permute_qk=True, extras="smollm3"),
}
# model_type (config.json) of every architecture above, for the catalog's "exports to GGUF" note
EXPORTABLE_MODEL_TYPES = frozenset(arch.model_type for arch in ARCHITECTURES.values())


def exportable(model_type: str) -> bool:
    """Whether a model of this type (config.json's model_type) can be exported to GGUF by our writer."""
    return model_type in EXPORTABLE_MODEL_TYPES


def families() -> str:
    return ", ".join(sorted({arch.family for arch in ARCHITECTURES.values()}))
