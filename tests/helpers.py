"""Helpers shared by the tests (importable as `helpers`: tests/ is on sys.path, see conftest.py)."""
from __future__ import annotations

from pathlib import Path


def signature_rows(count: int = 40) -> list[dict]:
    """A small distinctive dataset: the assistant always signs with a made-up phrase."""
    return [{"instruction": f"What is {i} plus {i}?", "input": "",
             "output": f"{i} plus {i} is {2 * i}. Signed, Zorblax."} for i in range(count)]


def small_config(dataset: Path, **overrides):
    from peftstudio.engine.config import TrainingConfig

    settings = dict(dataset_path=str(dataset), max_steps=6, batch_size=4, learning_rate=1e-3,
                    max_seq_length=96, save_steps=3, eval_steps=100, lora_r=8, lora_alpha=16)
    settings.update(overrides)
    return TrainingConfig(**settings)


def tiny_llama_folder(target: Path, demo_folder: Path) -> Path:
    """A random-weight Llama with the demo model's real tokenizer, small enough to train in a second.

    Scaled down from the family's real config keys (the demo model is a Llama); safetensors only."""
    import shutil

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model("llama", vocab_size=49152, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                  bos_token_id=1, eos_token_id=2, tie_word_embeddings=True)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(target, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (demo_folder / name).exists():
            shutil.copy(demo_folder / name, target / name)
    return target
