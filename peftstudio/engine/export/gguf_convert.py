"""Our own GGUF writer for the Llama family (Llama, SmolLM, Mistral) and Qwen2, on the `gguf` package.

The layout follows llama.cpp's convert_hf_to_gguf.py: llama.cpp's tensor names (from
`gguf.get_tensor_name_map`), its architecture keys, the "gpt2" (byte-level BPE) tokenizer with
merges, token types, special token ids and the chat template, and the interleaved rotary layout that
llama.cpp expects for Llama's q/k projections (`_permute`). Quantization (f16, q8_0) is
`gguf.quants`; 1-D tensors (norms, biases) stay f32 as llama.cpp keeps them.

Tensors are written one at a time (header and tensor infos first), so memory holds the model plus one
converted tensor, never a second copy of the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from peftstudio.engine.errors import PlainError
from peftstudio.engine.export.architectures import ARCHITECTURES

QUANTS = ("f32", "f16", "q8_0")
# llama.cpp identifies BPE pre-tokenizers by name; these are the families we know by model id.
PRE_TOKENIZERS = (("smollm", "smollm"), ("llama-3", "llama-bpe"), ("llama3", "llama-bpe"), ("qwen2", "qwen2"))


@dataclass
class GGUFMetadata:
    name: str
    base_model: str
    finetune: str = "lora"
    description: str = ""
    pre_tokenizer: str | None = None


def unsupported(what: str, why: str) -> PlainError:
    return PlainError(
        title="This model cannot be exported to GGUF yet",
        what=what,
        why=why,
        actions=["Export the merged Hugging Face model (hf-merged) and convert it with llama.cpp's "
                 "convert_hf_to_gguf.py.",
                 "Fine-tune a Llama, SmolLM, Mistral or Qwen2 model, which export to GGUF directly."],
        help_topic="export",
    )


def estimated_bytes(parameters: int, quant: str) -> int:
    return int(parameters * {"f32": 4.0, "f16": 2.0, "q8_0": 34 / 32}[quant]) + 8_000_000


def _permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """HF's half-split rotary layout -> llama.cpp's interleaved one (as in convert_hf_to_gguf.py)."""
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def _tensor_type(shape: tuple[int, ...], quant: str):
    import gguf

    if quant == "f32" or len(shape) == 1:
        return gguf.GGMLQuantizationType.F32
    if quant == "q8_0" and shape[-1] % 32 == 0:
        return gguf.GGMLQuantizationType.Q8_0
    return gguf.GGMLQuantizationType.F16


def _encode(array: np.ndarray, qtype) -> np.ndarray:
    import gguf

    if qtype == gguf.GGMLQuantizationType.F32:
        return array.astype(np.float32)
    if qtype == gguf.GGMLQuantizationType.F16:
        return array.astype(np.float16)
    return gguf.quants.quantize(array.astype(np.float32), qtype)


def _planned_tensors(model, config, arch, permute):
    """(gguf name, hf name, transform) for each tensor to write, in the model's order."""
    import gguf

    name_map = gguf.get_tensor_name_map(arch, config.num_hidden_layers)
    planned = []
    for hf_name, _ in model.state_dict().items():
        if hf_name == "lm_head.weight" and getattr(config, "tie_word_embeddings", False):
            continue  # tied: llama.cpp reuses token_embd
        if "rotary_emb" in hf_name:
            continue
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise unsupported(f"The weight '{hf_name}' has no GGUF equivalent.",
                              "The model's layout differs from the Llama family.")
        transform = None
        if permute and hf_name.endswith("q_proj.weight"):
            transform = config.num_attention_heads
        elif permute and hf_name.endswith("k_proj.weight"):
            transform = config.num_key_value_heads
        planned.append((gguf_name, hf_name, transform))
    return planned


def _add_architecture(writer, config, arch: str) -> None:
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    rope = getattr(config, "rope_parameters", None) or {}
    rope_theta = rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(float(rope_theta))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(config.vocab_size)
    if head_dim != config.hidden_size // config.num_attention_heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    if rope.get("rope_type", "default") not in ("default", None):
        raise unsupported("The model uses a scaled rotary embedding.",
                          f"Rope scaling '{rope.get('rope_type')}' is not written by PEFT Studio's converter yet.")


def _add_tokenizer(writer, tokenizer, tokenizer_folder: Path, config, pre: str) -> None:
    import gguf

    backend = getattr(tokenizer, "backend_tokenizer", None)
    model_type = backend.model.__class__.__name__ if backend is not None else ""
    if model_type != "BPE" or getattr(backend.model, "byte_fallback", False):
        raise unsupported("The model's tokenizer is a SentencePiece tokenizer.",
                          "PEFT Studio's converter writes byte-level BPE tokenizers (SmolLM, Llama 3, Qwen2).")
    vocab = tokenizer.get_vocab()
    by_id = {i: token for token, i in vocab.items()}
    added = tokenizer.added_tokens_decoder  # id -> AddedToken
    size = max(config.vocab_size, len(vocab))
    tokens, types = [], []
    for i in range(size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if added[i].special else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    special = gguf.SpecialVocab(tokenizer_folder, load_merges=True, n_vocab=len(tokens))
    if not special.merges:
        raise unsupported("The tokenizer has no BPE merges.", "The tokenizer files are incomplete.")
    if tokenizer.pad_token_id is not None:
        special.special_token_ids.setdefault("pad", tokenizer.pad_token_id)
    special.add_to_gguf(writer, quiet=True)
    writer.add_add_bos_token(bool(getattr(tokenizer, "add_bos_token", False)))


def pre_tokenizer_for(model_id: str, source_gguf: Path | None) -> str:
    """llama.cpp's pre-tokenizer name: the source GGUF's own, else a known family, else "default"."""
    if source_gguf is not None and source_gguf.exists():
        import gguf

        field = gguf.GGUFReader(str(source_gguf)).fields.get("tokenizer.ggml.pre")
        if field is not None:
            return str(field.contents())
    lowered = model_id.lower()
    for needle, pre in PRE_TOKENIZERS:
        if needle in lowered:
            return pre
    return "default"


def write_gguf(model, tokenizer, tokenizer_folder: Path, path: Path, quant: str, meta: GGUFMetadata,
               progress: Callable[[float, str], None] | None = None) -> dict:
    """Write `model` (a merged transformers causal LM) as one GGUF file; returns a summary."""
    import gguf
    import torch

    if quant not in QUANTS:
        raise unsupported(f"'{quant}' is not a GGUF type PEFT Studio writes.", f"Choose one of {', '.join(QUANTS)}.")
    config = model.config
    architecture = (getattr(config, "architectures", None) or [model.__class__.__name__])[0]
    if architecture not in ARCHITECTURES:
        raise unsupported(f"{architecture} models are not supported by the GGUF converter.",
                          "It knows the Llama family (Llama, SmolLM, Mistral) and Qwen2.")
    arch_name, permute = ARCHITECTURES[architecture]
    arch = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch_name)
    planned = _planned_tensors(model, config, arch, permute)
    state = model.state_dict()

    writer = gguf.GGUFWriter(path, arch_name)
    try:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(meta.name)
        writer.add_finetune(meta.finetune)
        writer.add_description(meta.description)
        writer.add_base_model_count(1)
        writer.add_base_model_name(0, meta.base_model)
        _add_architecture(writer, config, arch_name)
        file_type = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                     "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[quant]
        writer.add_file_type(file_type)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        _add_tokenizer(writer, tokenizer, tokenizer_folder, config, meta.pre_tokenizer or "default")

        types = {}
        for gguf_name, hf_name, _ in planned:
            tensor = state[hf_name]
            shape = tuple(tensor.shape)
            qtype = _tensor_type(shape, quant)
            types[gguf_name] = qtype
            byte_shape = gguf.quant_shape_to_byte_shape(shape, qtype) if qtype == gguf.GGMLQuantizationType.Q8_0 \
                else shape
            dtype = {gguf.GGMLQuantizationType.F32: np.float32, gguf.GGMLQuantizationType.F16: np.float16}.get(
                qtype, np.uint8)
            nbytes = int(np.prod(byte_shape)) * np.dtype(dtype).itemsize
            writer.add_tensor_info(gguf_name, byte_shape, np.dtype(dtype), nbytes,
                                   raw_dtype=qtype if dtype == np.uint8 else None)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for done, (gguf_name, hf_name, heads) in enumerate(planned, 1):
            with torch.no_grad():
                array = state[hf_name].detach().to(torch.float32).cpu().numpy()
            if heads is not None:
                array = _permute(array, heads)
            writer.write_tensor_data(_encode(array, types[gguf_name]))
            if progress:
                progress(done / len(planned), f"Writing {gguf_name}")
    finally:
        writer.close()
    counts: dict[str, int] = {}
    for qtype in types.values():
        counts[qtype.name] = counts.get(qtype.name, 0) + 1
    return {"architecture": arch_name, "tensors": len(planned), "tensor_types": counts, "quant": quant,
            "bytes": path.stat().st_size}
