"""Peak training memory of a LoRA/QLoRA run, from the model's shapes (no weights loaded).

    total = weights + lora_state + activations + logits + overhead

weights       frozen parameters x bytes per parameter: fp32 4 B, bf16/fp16 2 B, int8 1 B, nf4 0.52 B
              (4 bits + double-quantized block constants). With quantization only the decoder blocks'
              linear layers are quantized; embeddings, lm_head and norms stay in the compute dtype.
lora_state    LoRA parameters = layers x sum over target modules of r x (d_in + d_out); each costs 16 B
              with AdamW (fp32 weight, gradient and two moments) and 12 B with SGD (momentum).
activations   what autograd keeps per token for the backward pass. Per decoder layer and token, in the
              compute dtype: ACT_HIDDEN x hidden (RMSNorm's fp32 intermediates, rotary copies of q and k,
              q/k/v and attention output, LoRA dropout copies and masks) + ACT_INTERMEDIATE x intermediate
              (gate, up, activation, product, the down projection's LoRA input) + 2 x kv width. sdpa keeps
              no seq x seq matrix here (measured: the per-token cost is the same at 128 and 256 tokens).
              With gradient checkpointing only the layer inputs (hidden per token per layer) are kept,
              plus one layer's activations during recomputation. ACT_HIDDEN and ACT_INTERMEDIATE were
              fitted to the demo model's measured peaks (bench/memory_accuracy.py): about 2x the count of
              tensors a reading of the modeling code gives, because of those fp32 and rotary copies.
              On CUDA (bf16 autocast, fused sdpa kernels) far less is kept: ACT_HIDDEN_CUDA and
              ACT_INTERMEDIATE_CUDA were fitted to torch.cuda.max_memory_allocated on an H200
              (bench/gpu_check.py: SmolLM2-135M and a 0.8B Llama shape, 2-8 x 512-2048 tokens).
logits        the vocabulary projection for the loss in fp32: our trainer projects only loss-carrying
              tokens (about LOSS_SHARE of them), holding logits, their softmax and gradient (3 copies).
overhead      CUDA context and allocator reserve on GPUs (600 MB + 8%); allocator slack on the CPU
              (64 MB; the libraries themselves are already loaded when the planner reads free memory).
method        DoRA's kept activations and trained embeddings (engine/planning/method_costs.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from peftstudio.engine.planning.facts_reader import ModelFacts

BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0}
QUANT_BYTES = {"8bit": 1.0, "4bit": 0.52}
ACT_HIDDEN = 40.0
ACT_INTERMEDIATE = 6.0
ACT_HIDDEN_CUDA = 22.3
ACT_INTERMEDIATE_CUDA = 0.32
LOSS_SHARE = 0.6
CPU_RUNTIME = 64 * 2**20
CUDA_CONTEXT = 600 * 2**20
CUDA_FRAGMENTATION = 0.08


@dataclass
class MemoryBreakdown:
    weights: float
    lora_state: float
    activations: float
    logits: float
    overhead: float
    lora_parameters: int
    method: float = 0.0  # what the adapter method adds (DoRA, trained embeddings): planning/method_costs.py

    @property
    def total(self) -> float:
        return self.weights + self.lora_state + self.activations + self.logits + self.overhead + self.method

    def to_dict(self) -> dict:
        data = asdict(self)
        data["total"] = self.total
        return data


def target_shapes(facts: ModelFacts, target_modules: list[str]) -> list[tuple[int, int]]:
    shapes = facts.linear_shapes
    if target_modules == ["all-linear"]:
        return list(shapes.values())
    return [shapes[name] for name in target_modules if name in shapes]


def lora_parameters(facts: ModelFacts, r: int, target_modules: list[str]) -> int:
    return facts.layers * sum(r * (d_in + d_out) for d_in, d_out in target_shapes(facts, target_modules))


def weight_bytes(facts: ModelFacts, precision: str, quantization: str | None) -> float:
    compute = BYTES[precision]
    if quantization is None:
        return facts.total_parameters * compute
    linear = facts.block_linear_parameters
    return linear * QUANT_BYTES[quantization] + (facts.total_parameters - linear) * compute


def activation_bytes_per_token(facts: ModelFacts, precision: str, gradient_checkpointing: bool,
                               device: str = "cpu") -> float:
    b = BYTES[precision]
    kv_width = facts.kv_heads * facts.dim_per_head
    hidden, intermediate = (ACT_HIDDEN_CUDA, ACT_INTERMEDIATE_CUDA) if device == "cuda" else \
        (ACT_HIDDEN, ACT_INTERMEDIATE)
    per_layer = b * (hidden * facts.hidden_size + intermediate * facts.intermediate_size + 2 * kv_width)
    if gradient_checkpointing:
        return facts.layers * b * facts.hidden_size + per_layer
    return facts.layers * per_layer


def estimate_memory(facts: ModelFacts, *, batch_size: int, seq_len: int, r: int, target_modules: list[str],
                    precision: str, quantization: str | None, gradient_checkpointing: bool, device: str,
                    optimizer: str = "adamw", loss_share: float = LOSS_SHARE, devices: int = 1,
                    strategy: str = "ddp") -> MemoryBreakdown:
    """Peak memory in bytes of one device in a training step with `batch_size` sequences of `seq_len` tokens.

    With several devices: data parallel (ddp) keeps everything on each device; ZeRO-2 shards the adapter's
    gradients and optimizer state; ZeRO-3 and FSDP also shard the weights (divided by the device count).
    """
    tokens = batch_size * seq_len
    n_lora = lora_parameters(facts, r, target_modules)
    state = 12 if optimizer == "sgd" else 16
    activations = tokens * activation_bytes_per_token(facts, precision, gradient_checkpointing, device)
    logits = 3 * 4.0 * max(1.0, tokens * loss_share) * facts.vocab_size
    weights = weight_bytes(facts, precision, quantization)
    if devices > 1 and strategy in ("fsdp", "zero3"):
        weights /= devices
        state /= devices
    elif devices > 1 and strategy == "zero2":
        state = 4 + (state - 4) / devices  # the adapter weights stay whole, gradients and moments are sharded
    subtotal = weights + n_lora * state + activations + logits
    overhead = CUDA_CONTEXT + CUDA_FRAGMENTATION * subtotal if device == "cuda" else CPU_RUNTIME
    return MemoryBreakdown(weights, n_lora * state, activations, logits, overhead, n_lora)
