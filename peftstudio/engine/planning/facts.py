"""ModelFacts: what the planner needs to know about a model's shape (plain data, no reading)."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ModelFacts:
    model_id: str
    architecture: str  # model_type: llama, qwen2, mistral, gemma2, phi3 ...
    layers: int
    hidden_size: int
    heads: int
    kv_heads: int
    intermediate_size: int
    vocab_size: int
    tied_embeddings: bool
    head_dim: int = 0  # 0: hidden_size // heads
    max_position: int = 4096
    parameters: int = 0  # 0: computed from the shapes
    attention_bias: bool = False

    @property
    def dim_per_head(self) -> int:
        return self.head_dim or self.hidden_size // self.heads

    @property
    def embedding_parameters(self) -> int:
        return self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)

    @property
    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(d_in, d_out) of each linear layer in one decoder block, by peft's usual module names."""
        h, d, i = self.hidden_size, self.dim_per_head, self.intermediate_size
        return {"q_proj": (h, self.heads * d), "k_proj": (h, self.kv_heads * d), "v_proj": (h, self.kv_heads * d),
                "o_proj": (self.heads * d, h), "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}

    @property
    def block_linear_parameters(self) -> int:
        return self.layers * sum(a * b for a, b in self.linear_shapes.values())

    @property
    def total_parameters(self) -> int:
        if self.parameters:
            return self.parameters
        h, d = self.hidden_size, self.dim_per_head
        bias = (self.heads + 2 * self.kv_heads) * d if self.attention_bias else 0
        norms = self.layers * 2 * h + h
        return self.embedding_parameters + self.block_linear_parameters + self.layers * bias + norms

    def to_dict(self) -> dict:
        data = asdict(self)
        data["total_parameters"] = self.total_parameters
        return data
