"""Which model architectures our GGUF writer exports (no heavy imports: the wizard asks at once)."""
from __future__ import annotations

# HF architecture -> (GGUF architecture, permute q/k for llama.cpp's rotary layout)
ARCHITECTURES = {
    "LlamaForCausalLM": ("llama", True),
    "MistralForCausalLM": ("llama", True),
    "Qwen2ForCausalLM": ("qwen2", False),
}
# model_type (config.json) of every architecture above, for the catalog's "exports to GGUF" note
EXPORTABLE_MODEL_TYPES = frozenset(name.removesuffix("ForCausalLM").lower() for name in ARCHITECTURES)


def exportable(model_type: str) -> bool:
    """Whether a model of this type (config.json's model_type) can be exported to GGUF by our writer."""
    return model_type in EXPORTABLE_MODEL_TYPES
