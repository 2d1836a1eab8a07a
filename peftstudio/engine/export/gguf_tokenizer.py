"""The tokenizer half of a GGUF file, written from the run's `tokenizer.json` (what transformers saves).

Two kinds, as llama.cpp names them:
- "gpt2": byte-level BPE with merges (SmolLM, Llama 3, Qwen2/3, Phi-4-mini, SmolLM3).
- "llama": SentencePiece-style BPE with byte fallback (Llama 2, Mistral, Gemma, Phi-3). llama.cpp's SPM
  tokenizer merges the adjacent pair whose joined token has the highest score, so each token's score is
  minus the rank of the first merge that makes it, which reproduces the BPE merge order of
  tokenizer.json; `<0xNN>` tokens are byte tokens, the unknown token is typed as such.
Special token ids, add_bos and the chat template come from gguf's `SpecialVocab`, as in llama.cpp's
convert_hf_to_gguf.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from peftstudio.engine.errors import PlainError

BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")
# llama.cpp identifies byte-level BPE pre-tokenizers by name; these are the families we know by model id.
PRE_TOKENIZERS = (("smollm", "smollm"), ("llama-3", "llama-bpe"), ("llama3", "llama-bpe"), ("qwen", "qwen2"),
                  ("phi-4", "gpt-4o"))


def unsupported_tokenizer(what: str) -> PlainError:
    return PlainError(
        title="This model's tokenizer cannot be written to GGUF",
        what=what,
        why="PEFT Studio writes byte-level BPE tokenizers (Llama 3, Qwen, SmolLM) and SentencePiece-style "
            "ones (Llama 2, Mistral, Gemma, Phi-3) from the run's tokenizer.json.",
        actions=["Export the merged Hugging Face model (hf-merged) and convert it with llama.cpp's "
                 "convert_hf_to_gguf.py.",
                 "Check that the run folder's tokenizer.json is complete."],
        help_topic="export",
    )


def tokenizer_kind(tokenizer_json: dict) -> str:
    """"gpt2" or "llama" for a tokenizer.json, or a plain error."""
    model = tokenizer_json.get("model") or {}
    if model.get("type") != "BPE":
        raise unsupported_tokenizer(f"The tokenizer is a {model.get('type', 'unknown')} model.")
    return "llama" if model.get("byte_fallback") else "gpt2"


def _read(folder: Path) -> dict:
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise unsupported_tokenizer("The run folder has no tokenizer.json.")
    return json.loads(path.read_text(encoding="utf-8"))


def _token_table(tokenizer, vocab_size: int):
    import gguf

    vocab = tokenizer.get_vocab()
    by_id = {i: token for token, i in vocab.items()}
    added = tokenizer.added_tokens_decoder  # id -> AddedToken
    size = max(vocab_size, len(vocab))
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
    return tokens, types


def _merge_scores(tokenizer_json: dict, tokens: list[str]) -> list[float]:
    """Score = minus the rank of the first merge producing the token; tokens no merge makes score lower."""
    rank: dict[str, int] = {}
    for position, merge in enumerate(tokenizer_json["model"].get("merges") or []):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        rank.setdefault(left + right, position)
    floor = len(rank) + 1
    return [-float(rank[token]) if token in rank else -float(floor + i) for i, token in enumerate(tokens)]


def _adds_space_prefix(tokenizer_json: dict) -> bool:
    """Whether the SentencePiece normalizer puts "▁" before the text (Llama 2, Mistral) or not (Gemma)."""
    def steps(part):
        if not part:
            return []
        return part.get("normalizers") or part.get("pretokenizers") or [part]

    for step in steps(tokenizer_json.get("normalizer")):
        if step.get("type") == "Prepend":
            return True
    for step in steps(tokenizer_json.get("pre_tokenizer")):
        if step.get("type") == "Metaspace":
            return step.get("prepend_scheme", "always") != "never" and step.get("add_prefix_space", True)
    return False


def add_tokenizer(writer, tokenizer, tokenizer_folder: Path, vocab_size: int, pre: str,
                  chat_template: str | None = None) -> str:
    """Write the tokenizer keys (with `chat_template` in place of the folder's own when given); returns the kind
    written ("gpt2" or "llama")."""
    import gguf

    tokenizer_json = _read(tokenizer_folder)
    kind = tokenizer_kind(tokenizer_json)
    tokens, types = _token_table(tokenizer, vocab_size)
    writer.add_tokenizer_model(kind)
    if kind == "gpt2":
        writer.add_tokenizer_pre(pre)
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        special = gguf.SpecialVocab(tokenizer_folder, load_merges=True, n_vocab=len(tokens))
        if not special.merges:
            raise unsupported_tokenizer("The tokenizer has no BPE merges.")
    else:
        unknown = tokenizer_json["model"].get("unk_token")
        for i, token in enumerate(tokens):
            if types[i] == gguf.TokenType.NORMAL and BYTE_TOKEN.fullmatch(token):
                types[i] = gguf.TokenType.BYTE
            elif token == unknown:
                types[i] = gguf.TokenType.UNKNOWN
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(_merge_scores(tokenizer_json, tokens))
        writer.add_token_types(types)
        writer.add_add_space_prefix(_adds_space_prefix(tokenizer_json))
        special = gguf.SpecialVocab(tokenizer_folder, load_merges=False, n_vocab=len(tokens))
    if tokenizer.pad_token_id is not None:
        special.special_token_ids.setdefault("pad", tokenizer.pad_token_id)
    special.add_special_token.setdefault("bos", bool(getattr(tokenizer, "add_bos_token", False)))
    if chat_template is not None:
        special.chat_template = chat_template
    special.add_to_gguf(writer, quiet=True)
    return kind


def _pre_tokenizer_steps(tokenizer_json: dict) -> list[dict]:
    pre = tokenizer_json.get("pre_tokenizer") or {}
    return pre.get("pretokenizers") or [pre]


def pre_tokenizer_from_json(tokenizer_json: dict) -> str | None:
    """llama.cpp's name for the splitting rules a byte-level tokenizer.json declares, when we know them.

    llama.cpp's converter recognises pre-tokenizers by hashing a test string's tokens; we read the rules."""
    steps = _pre_tokenizer_steps(tokenizer_json)
    kinds = [step.get("type") for step in steps]
    for step in steps:
        pattern = (step.get("pattern") or {}).get("Regex", "") if step.get("type") == "Split" else ""
        if "\\p{Lu}\\p{Lt}" in pattern:
            return "gpt-4o"
        if "(?i:'s|'t|'re|'ve|'m|'ll|'d)" in pattern:
            return "llama-bpe" if "\\p{N}{1,3}" in pattern else "qwen2" if "\\p{N}|" in pattern else None
    if kinds == ["Digits", "ByteLevel"] and steps[0].get("individual_digits") and steps[1].get("use_regex", True):
        return "smollm"
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        return "gpt-2"
    return None


def pre_tokenizer_for(model_id: str, source_gguf: Path | None, tokenizer_folder: Path | None = None) -> str:
    """llama.cpp's pre-tokenizer name: the source GGUF's own, else what tokenizer.json declares, else a known
    family by model id, else "default"."""
    if source_gguf is not None and source_gguf.exists():
        import gguf

        field = gguf.GGUFReader(str(source_gguf)).fields.get("tokenizer.ggml.pre")
        if field is not None:
            return str(field.contents())
    if tokenizer_folder is not None and (tokenizer_folder / "tokenizer.json").is_file():
        declared = pre_tokenizer_from_json(_read(tokenizer_folder))
        if declared:
            return declared
    lowered = model_id.lower()
    for needle, pre in PRE_TOKENIZERS:
        if needle in lowered:
            return pre
    return "default"
