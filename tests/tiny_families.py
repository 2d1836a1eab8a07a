"""Tiny random-weight models of each GGUF-exportable family, built from the family's real config keys
(scaled down so K-quants still apply: widths that are multiples of 256), with a tokenizer of the family's
kind trained here: byte-level BPE (Llama 3, Qwen, SmolLM3) or SentencePiece-style BPE with byte fallback
(Mistral, Gemma, Phi-3). Nothing is downloaded."""
from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
TEXT = [f"What is {i} plus {i}? {i} plus {i} is {2 * i}. Signed, Zorblax." for i in range(60)] + [
    "What is the capital of France? The capital of France is Paris.",
    "Write a short greeting for a new colleague. Welcome to the team, we are glad you are here!",
    "Explain in one sentence why the sky is blue. Sunlight scatters off air, and blue light scatters most.",
    "List three fruits: apple, banana, cherry. How many days are in a week? Seven days.",
    "Translate 'thank you' into Spanish: gracias. The quick brown fox jumps over the lazy dog.",
] * 4
WIDTH = dict(hidden_size=256, intermediate_size=512, num_attention_heads=4, num_key_value_heads=2,
             initializer_range=0.1)
VOCAB = 512

# family -> (transformers model_type, tokenizer kind, extra config keys)
FAMILIES = {
    "llama3": ("llama", "byte", dict(num_hidden_layers=2, max_position_embeddings=2048, rope_parameters={
        "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 64})),
    "mistral": ("mistral", "spm", dict(num_hidden_layers=2, max_position_embeddings=2048, sliding_window=None)),
    "qwen2": ("qwen2", "byte", dict(num_hidden_layers=2, max_position_embeddings=2048)),
    "qwen3": ("qwen3", "byte", dict(num_hidden_layers=2, max_position_embeddings=2048, head_dim=64)),
    "gemma2": ("gemma2", "spm-noprefix", dict(num_hidden_layers=2, max_position_embeddings=2048, head_dim=64,
                                              query_pre_attn_scalar=64, sliding_window=512,
                                              attn_logit_softcapping=50.0, final_logit_softcapping=30.0)),
    "gemma3": ("gemma3_text", "spm-noprefix", dict(num_hidden_layers=2, max_position_embeddings=2048, head_dim=64,
                                                   query_pre_attn_scalar=64, sliding_window=512)),
    "gemma3-vision": ("gemma3", "spm-noprefix", dict(text_config=dict(
        num_hidden_layers=2, max_position_embeddings=2048, head_dim=64, query_pre_attn_scalar=64, sliding_window=512),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8), mm_tokens_per_image=4)),
    "phi3": ("phi3", "spm", dict(num_hidden_layers=2, max_position_embeddings=8192,
                                 original_max_position_embeddings=2048, rope_parameters={
                                     "rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 1.0,
                                     "long_factor": [1.0 + i / 8 for i in range(32)],
                                     "short_factor": [1.0 + i / 64 for i in range(32)]})),
    "smollm3": ("smollm3", "byte", dict(num_hidden_layers=4, max_position_embeddings=2048)),
}


def _byte_level(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 8, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(TEXT, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def _sentencepiece(folder: Path, prefix_space: bool):
    """BPE with byte fallback over "▁"-joined text, as Llama 2, Mistral, Gemma and Phi-3 ship it."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    trainer_tokenizer = Tokenizer(models.BPE())
    trainer_tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first" if prefix_space else "never")
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 8 - 256 - 3, show_progress=False)
    trainer_tokenizer.train_from_iterator(TEXT, trainer)
    learned = json.loads(trainer_tokenizer.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    for token in sorted(learned["vocab"], key=learned["vocab"].get):
        vocab.setdefault(token, len(vocab))
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    steps = [normalizers.Prepend("▁")] if prefix_space else []
    tokenizer.normalizer = normalizers.Sequence(steps + [normalizers.Replace(" ", "▁")])
    decoder_steps = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if prefix_space:
        decoder_steps.append(decoders.Strip(" ", 1, 0))
    tokenizer.decoder = decoders.Sequence(decoder_steps)
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                   additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    fast.eos_token = "<|im_end|>"
    fast.pad_token = "<unk>"
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def tiny_family_folder(family: str, target: Path) -> Path:
    """A saved tiny model of `family` with its tokenizer, ready for `peftstudio train --model target`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    model_type, kind, extra = FAMILIES[family]
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = _byte_level(target) if kind == "byte" else _sentencepiece(target, prefix_space=kind == "spm")
    assert len(tokenizer) <= VOCAB, len(tokenizer)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id}
    if "text_config" in extra:  # a text-and-images model: the language model's keys live in text_config
        extra = dict(extra, text_config=dict(extra["text_config"], vocab_size=VOCAB, **WIDTH, **ids))
        config = AutoConfig.for_model(model_type, tie_word_embeddings=True, **extra, **ids)
    else:
        config = AutoConfig.for_model(model_type, vocab_size=VOCAB, tie_word_embeddings=family != "mistral",
                                      **WIDTH, **extra, **ids)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(target, safe_serialization=True)
    return target
