"""Our own streaming GGUF writer on the `gguf` package, for the architectures in `architectures.py`.

The layout follows llama.cpp's convert_hf_to_gguf.py: llama.cpp's tensor names (from
`gguf.get_tensor_name_map`), its architecture keys (`gguf_hparams`), the tokenizer (`gguf_tokenizer`),
the interleaved rotary layout llama.cpp expects for Llama-style q/k projections (`_permute`), Gemma's
(1 + w) norms, and the extra rope-factor tensors of Llama 3.x and Phi-3. Each tensor's type comes from
`gguf_quant.tensor_types` (llama.cpp's own per-tensor choice for the K-quant mixes); K-quants are our
numpy encoder (`kquants`), the other types `gguf.quants`.

Tensors are written one at a time (header and tensor infos first), so memory holds the model plus one
converted tensor, never a second copy of the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from peftstudio.engine.export import gguf_hparams, gguf_quant
from peftstudio.engine.export.architectures import families, Architecture, ARCHITECTURES
from peftstudio.engine.export.gguf_hparams import unsupported
from peftstudio.engine.export.formats import QUANTS
from peftstudio.engine.export.gguf_tokenizer import add_tokenizer, pre_tokenizer_for  # noqa: F401 - exporters use it


@dataclass
class GGUFMetadata:
    name: str
    base_model: str
    finetune: str = "lora"
    description: str = ""
    pre_tokenizer: str | None = None
    chat_template: str | None = None  # instead of the tokenizer's own (an agent's: export/tool_templates.py)


def _permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """HF's half-split rotary layout -> llama.cpp's interleaved one (as in convert_hf_to_gguf.py)."""
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


@dataclass
class PlannedTensor:
    gguf_name: str
    shape: tuple[int, ...]
    source: str | None = None           # the state-dict name, or None for an extra tensor
    data: np.ndarray | None = None      # an extra tensor's values
    permute_heads: int | None = None
    plus_one: bool = False


def architecture_of(model) -> Architecture:
    config = model.config
    name = (getattr(config, "architectures", None) or [model.__class__.__name__])[0]
    if name not in ARCHITECTURES:
        raise unsupported(f"{name} models are not supported by the GGUF converter.",
                          f"It knows these families: {families()}.")
    return ARCHITECTURES[name]


def text_config(model, arch: Architecture):
    """The language model's config (a text-and-images model keeps it in `text_config`)."""
    return model.config.get_text_config() if arch.text_of else model.config


def plan_tensors(model, arch: Architecture) -> list[PlannedTensor]:
    """Every tensor to write, extras first, then the model's in state-dict order."""
    import gguf

    config = text_config(model, arch)
    kind = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch.gguf_name)
    name_map = gguf.get_tensor_name_map(kind, config.num_hidden_layers)
    planned = [PlannedTensor(name, tuple(values.shape), data=values)
               for name, values in gguf_hparams.extra_tensors(config, arch)]
    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    tied = getattr(config, "tie_word_embeddings", False) or getattr(model.config, "tie_word_embeddings", False)
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and tied:
            continue  # tied: llama.cpp reuses token_embd
        if "rotary_emb" in hf_name:
            continue
        source = hf_name
        if arch.text_of:  # only the language model goes into the GGUF (the image part is llama.cpp's mmproj)
            if hf_name.startswith(arch.text_of):
                hf_name = "model." + hf_name[len(arch.text_of):]
            elif hf_name != "lm_head.weight":
                continue
        gguf_name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise unsupported(f"The weight '{hf_name}' has no GGUF equivalent.",
                              f"The model's layout differs from {arch.family}'s.")
        item = PlannedTensor(gguf_name, tuple(tensor.shape), source=source,
                             plus_one=arch.norm_plus_one and hf_name.endswith("norm.weight"))
        if arch.permute_qk and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            item.permute_heads = config.num_attention_heads
        elif arch.permute_qk and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            item.permute_heads = kv_heads
        planned.append(item)
    return planned


def _values(item: PlannedTensor, state) -> np.ndarray:
    import torch

    if item.data is not None:
        return item.data
    with torch.no_grad():
        array = state[item.source].detach().to(torch.float32).cpu().numpy()
    if item.plus_one:
        array = array + np.float32(1.0)
    if item.permute_heads is not None:
        array = _permute(array, item.permute_heads)
    return array


def write_gguf(model, tokenizer, tokenizer_folder: Path, path: Path, quant: str, meta: GGUFMetadata,
               progress: Callable[[float, str], None] | None = None) -> dict:
    """Write `model` (a merged transformers causal LM) as one GGUF file; returns a summary."""
    import gguf

    if quant not in QUANTS:
        raise unsupported(f"'{quant}' is not a GGUF type PEFT Studio writes.", f"Choose one of {', '.join(QUANTS)}.")
    arch = architecture_of(model)
    config = text_config(model, arch)
    planned = plan_tensors(model, arch)
    types = gguf_quant.tensor_types([(t.gguf_name, t.shape) for t in planned], quant, config.num_hidden_layers)
    state = model.state_dict()

    writer = gguf.GGUFWriter(path, arch.gguf_name)
    try:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(meta.name)
        writer.add_finetune(meta.finetune)
        writer.add_description(meta.description)
        writer.add_base_model_count(1)
        writer.add_base_model_name(0, meta.base_model)
        gguf_hparams.add_architecture(writer, config, arch)
        writer.add_file_type(gguf_quant.file_type(quant))
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        tokenizer_kind = add_tokenizer(writer, tokenizer, tokenizer_folder, config.vocab_size,
                                       meta.pre_tokenizer or "default", meta.chat_template)
        for item in planned:
            qtype = gguf.GGMLQuantizationType[types[item.gguf_name]]
            if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
                dtype = np.dtype(np.float32 if qtype == gguf.GGMLQuantizationType.F32 else np.float16)
                writer.add_tensor_info(item.gguf_name, item.shape, dtype, int(np.prod(item.shape)) * dtype.itemsize)
            else:
                byte_shape = gguf.quant_shape_to_byte_shape(item.shape, qtype)
                writer.add_tensor_info(item.gguf_name, byte_shape, np.dtype(np.uint8), int(np.prod(byte_shape)),
                                       raw_dtype=qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for done, item in enumerate(planned, 1):
            writer.write_tensor_data(gguf_quant.encode(_values(item, state), types[item.gguf_name]))
            if progress:
                progress(done / len(planned), f"Writing {item.gguf_name}")
    finally:
        writer.close()
    counts: dict[str, int] = {}
    for kind in types.values():
        counts[kind] = counts.get(kind, 0) + 1
    return {"architecture": arch.gguf_name, "tensors": len(planned), "tensor_types": counts, "quant": quant,
            "tokenizer": tokenizer_kind, "bytes": path.stat().st_size}
