"""The GGUF writer on tiny random Qwen2 and Mistral models: read back by transformers, same logits."""
from __future__ import annotations

import shutil

import pytest
import torch

from peftstudio.engine.export.gguf_convert import GGUFMetadata, write_gguf

TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=512)


@pytest.mark.parametrize("family", ["qwen2", "mistral"])
def test_other_families_round_trip_through_gguf(family, demo_folder, demo_tokenizer, tmp_path):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(family, vocab_size=demo_tokenizer.vocab_size, tie_word_embeddings=False,
                                  bos_token_id=1, eos_token_id=2, **TINY)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    if family == "qwen2":  # non-zero q/k/v biases, so a lost or misplaced bias would show
        for layer in model.model.layers:
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                torch.nn.init.normal_(proj.bias, std=0.5)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(demo_folder / name, tmp_path / name)
    path = tmp_path / f"{family}.gguf"
    summary = write_gguf(model, demo_tokenizer, demo_folder, path, "f32", GGUFMetadata(f"tiny-{family}-test", f"tiny-{family}"))
    assert summary["architecture"] == ("qwen2" if family == "qwen2" else "llama")

    loaded = AutoModelForCausalLM.from_pretrained(str(tmp_path), gguf_file=path.name).eval()
    ids = torch.tensor([[1, 400, 2301, 17, 9999, 42, 2]])
    with torch.no_grad():
        expected, got = model(ids).logits, loaded(ids).logits
    assert torch.allclose(expected, got, atol=1e-4), (expected - got).abs().max()
