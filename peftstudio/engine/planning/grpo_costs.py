"""What a GRPO run costs and the two numbers the planner chooses for it: answers per prompt (num_generations) and
the longest answer (max_completion_length).

Each step the model writes `num_generations` answers to each prompt of the batch (generation: one forward pass
per new token over the whole group, memory-bound), scores them, then trains on every answer once (forward and
backward over prompt + answer), and, with a KL beta, runs the frozen base (the adapter switched off) forward over
the same tokens. So, against a supervised step over the same tokens:
  memory  the batch is batch_size x num_generations sequences of (prompt + longest answer) tokens;
  time    1 (train) + 1/3 (the reference forward, when kl_beta > 0) + GENERATION_COST x the answers' share of the
          tokens (each answer token is generated once before it is trained on).
GENERATION_COST is the cost of generating a token relative to training on one, measured with bench/grpo.py on
the demo model (CPU, fp32); see the bench's note.
"""
from __future__ import annotations

import math

from peftstudio.engine.rewards import parse_reward

# bench/grpo.py (demo model, CPU fp32, 2 prompts x 4 answers of up to 32 tokens): generating took 52-54% of a
# step, which in this model is 2.9 (ours) and 3.1 (TRL used directly) x the training cost of a token: generation
# is one memory-bound forward pass per new token over the whole group, training one pass over all of them
GENERATION_COST = 3.0
REFERENCE_FORWARD = 1 / 3  # a forward pass is a third of forward + backward
GENERATIONS = {"cuda": 8, "cpu": 4}  # TRL's default group is 8; on a CPU 4 keeps a step under a minute
LONGEST_ANSWER = {"cuda": 256, "cpu": 96}  # tokens, when no reward says how long an answer should be
TOKENS_PER_WORD = 1.4  # English text in a BPE vocabulary
HELD_BACK_PROMPTS = 16  # training/grpo.py measures this many held-back prompts before and after
ROOM = 16  # tokens beyond the longest passing answer, so an answer that runs over is seen (and scored low)


def is_grpo(config) -> bool:
    return config.training_method == "grpo"


def sequences_per_prompt(config) -> int:
    return config.num_generations


def sequence_length(config) -> int:
    """Tokens of one GRPO sequence: the prompt (max_seq_length holds the prompts' length) and the answer."""
    return config.max_seq_length + config.max_completion_length


def time_factor(config, prompt_tokens: float) -> float:
    answer_share = config.max_completion_length / max(1.0, prompt_tokens + config.max_completion_length)
    return 1.0 + (REFERENCE_FORWARD if config.kl_beta > 0 else 0.0) + GENERATION_COST * answer_share


def tokens_per_prompt(config, prompt_tokens: float) -> float:
    """Tokens trained on per prompt: each of its answers, with the prompt before it."""
    return config.num_generations * (prompt_tokens + config.max_completion_length)


def longest_answer(rewards: list[str], device: str) -> tuple[int, str]:
    """(tokens, reason): from a length reward's window when there is one, else the device's default."""
    for text in rewards:
        try:
            spec = parse_reward(text)
        except Exception:  # noqa: BLE001 - a bad reward is reported where the rewards are chosen
            continue
        if spec.name == "length":
            high = float(spec.arguments.get("max", 50))
            words = spec.arguments.get("unit", "words") == "words"
            tokens = math.ceil(high * TOKENS_PER_WORD if words else high / 4) + ROOM
            tokens = max(16, min(tokens, LONGEST_ANSWER[device] * 4))
            unit = "words" if words else "characters"
            return tokens, (f"The length reward passes answers of up to {high:g} {unit} (about "
                            f"{tokens - ROOM} tokens); {tokens} leaves room to see answers that run over.")
    tokens = LONGEST_ANSWER[device]
    where = "a GPU" if device == "cuda" else "a CPU"
    return tokens, (f"{tokens} tokens per answer: room for a short worked answer; time and memory grow with it "
                    f"(on {where}).")


def choose(config, device: str, reasons: dict) -> None:
    """Set num_generations, max_completion_length and their reasons on `config` (the planner's GRPO step)."""
    config.num_generations = GENERATIONS[device]
    reasons["num_generations"] = (f"{config.num_generations} answers per prompt: GRPO learns from how they differ; "
                                  + ("8 is the usual group on a GPU." if device == "cuda" else
                                     "4 keeps each step short on a CPU (8 on a GPU)."))
    config.max_completion_length, reasons["max_completion_length"] = longest_answer(config.rewards, device)
    reasons["kl_beta"] = ("0.04, the original GRPO value: the model stays near where it started and keeps its "
                          "general skills." if config.kl_beta > 0 else "0: the model may move freely.")
