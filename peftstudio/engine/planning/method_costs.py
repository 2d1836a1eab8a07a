"""What each adapter method adds to a run's memory and time, for the planner.

rsLoRA, LoRA+ and NEFTune cost nothing measurable (a different scale, parameter groups, noise on the
embeddings). The others:
DoRA          per adapted layer, peft keeps the base layer's output for the magnitude's gradient (d_out per
              token) and computes the norm of W + BA once per forward (one weight-sized temporary at a time).
              Its time factor was measured with bench/methods.py on the demo model (CPU, fp32): DORA_TIME.
              The activation multiplier DORA_ACTIVATIONS was fitted to the same run's peak memory.
embeddings    "all": the input embedding and the output layer become trainable copies (fp32 weight, gradient
              and two AdamW moments: 16 B per parameter; one copy when the model ties them); "new-tokens":
              the same for a handful of rows (negligible).
preference    DPO, ORPO and SimPO read a chosen and a rejected answer per example: twice the sequences, so
              twice the activations and logits; DPO and KTO also run the frozen reference (the adapter switched
              off or its copy) forward without gradients. Time: PREFERENCE_TIME per method, from the passes
              each makes (forward + backward of 2 sequences, plus a third of that for the reference forward).
PiSSA/OLoRA   on a GPU no extra memory (the residual replaces the weight). On the CPU the loaded model's file
              pages stay mapped beside the rewritten weights: measured +850 MB resident for the demo model,
              REWRITE_COPIES x the adapted weights (425 MB in fp32). PiSSA's full SVD at the start takes
              about SVD_FLOPS m n min(m, n) FLOPs per matrix (fast PiSSA about 2 (16 + r) m n); SVD_FLOPS was
              calibrated to the 9-12 s the demo model's SVDs took on this 2-core CPU (LAPACK's SVD runs far below
              the matrix-multiply rate the estimates assume).
"""
from __future__ import annotations

from peftstudio.engine.config import REWRITES_BASE
from peftstudio.engine.planning import grpo_costs
from peftstudio.engine.planning.facts import ModelFacts
from peftstudio.engine.planning.memory_model import target_shapes

DORA_TIME = 1.6  # measured: 0.62x LoRA's loss tokens/s (bench/methods.py, idle 2-core CPU)
DORA_ACTIVATIONS = 1.75  # fitted: +407 MB measured at batch 4 x 96 tokens (the planner now says +402 MB)
REWRITE_COPIES = 2.0  # measured: +935 MB at peak in bench/methods.py (the planner says +810 MB)
SVD_FLOPS = 20.0  # calibrated, see above
PREFERENCE_TIME = {"sft": 1.0, "dpo": 2.67, "kto": 2.67, "orpo": 2.0, "simpo": 2.0}
STATE_BYTES = 16  # fp32 weight, gradient and two AdamW moments per trainable parameter


def method_memory(facts: ModelFacts, config, bytes_per_value: float, tokens: int, device: str = "cpu") -> float:
    """Extra peak bytes of the run's adapter method over plain LoRA, for `tokens` tokens per step."""
    extra = 0.0
    shapes = target_shapes(facts, config.target_modules)
    if config.lora_init in REWRITES_BASE and not config.parent_adapter and device == "cpu":
        extra += REWRITE_COPIES * facts.layers * sum(m * n for m, n in shapes) * bytes_per_value
    if config.use_dora and shapes:
        kept = facts.layers * sum(d_out for _, d_out in shapes) * tokens * bytes_per_value * DORA_ACTIVATIONS
        largest = max(d_in * d_out for d_in, d_out in shapes) * bytes_per_value
        extra += kept + largest
    if config.train_embeddings == "all":
        copies = 1 if facts.tied_embeddings else 2
        extra += copies * facts.vocab_size * facts.hidden_size * STATE_BYTES
    return extra


def method_time_factor(config, prompt_tokens: float = 0.0) -> float:
    """How much longer each step takes than a supervised step with plain LoRA over the same tokens."""
    if grpo_costs.is_grpo(config):
        method = grpo_costs.time_factor(config, prompt_tokens)
    else:
        method = PREFERENCE_TIME.get(config.training_method, 1.0)
    return (DORA_TIME if config.use_dora else 1.0) * method


def sequences_per_example(config) -> int:
    """Chosen and rejected answers are two sequences per example (KTO adds a mismatched one for its KL term);
    GRPO answers each prompt num_generations times."""
    if grpo_costs.is_grpo(config):
        return grpo_costs.sequences_per_prompt(config)
    return 1 if config.training_method == "sft" else 2


def sequence_length(config) -> int:
    """Tokens per sequence in a step (a GRPO answer comes after its prompt)."""
    return grpo_costs.sequence_length(config) if grpo_costs.is_grpo(config) else config.max_seq_length


def tokens_per_example(config, tokens_mean: float) -> float:
    """Tokens trained on per example of the dataset (a GRPO prompt: every one of its answers)."""
    return grpo_costs.tokens_per_prompt(config, tokens_mean) if grpo_costs.is_grpo(config) else tokens_mean


def startup_seconds(facts: ModelFacts, config, flops_per_second: float) -> float:
    """Time before the first step that the method adds (PiSSA's SVD of every adapted matrix)."""
    if config.lora_init not in ("pissa", "pissa-fast") or config.parent_adapter:
        return 0.0
    shapes = target_shapes(facts, config.target_modules)
    if config.lora_init == "pissa":
        flops = sum(SVD_FLOPS * m * n * min(m, n) for m, n in shapes)
    else:
        flops = sum(2.0 * (16 + config.lora_r) * m * n for m, n in shapes)
    return facts.layers * flops / max(flops_per_second, 1.0)


def method_notes(config) -> list[str]:
    """What the chosen methods cost, in words, for the settings page."""
    notes = []
    if config.use_dora:
        notes.append(f"DoRA: each step takes about {DORA_TIME:.1f}x as long, and a little more memory.")
    if config.train_embeddings == "all":
        notes.append("Training all embeddings: a full trainable copy of the embedding and output layers.")
    if config.lora_init == "pissa":
        notes.append("PiSSA: an SVD of every adapted layer before the first step.")
    if grpo_costs.is_grpo(config):
        notes.append(f"GRPO: {config.num_generations} answers of up to {config.max_completion_length} tokens per "
                     "prompt are written and scored each step.")
    return notes
