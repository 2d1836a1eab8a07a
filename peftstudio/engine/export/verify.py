"""Verification: load an export back with a reader that is not our writer, and compare it with the model in memory.

The reference is the merged model held in memory. For a fixed prompt we compare the next-token logits
(max absolute difference), the top next token, and a greedy continuation; the export also writes a
sample answer. Readers: transformers `from_pretrained` (+ peft for adapters) for Hugging Face folders,
transformers `gguf_file=` (its own GGUF parser and dequantizer) for GGUF files.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from peftstudio.engine.export.safety import write_text_atomic

PROMPT = "What is the capital of France?"
CONTINUATION_TOKENS = 16
# Largest acceptable max |logit difference| per format; q8_0 is lossy by design, so it must only keep
# the same top next token.
TOLERANCE = {"hf": 1e-3, "hf-merged": 1e-3, "f32": 1e-3, "f16": 0.25, "q8_0": 3.0}
NEEDS_SAME_CONTINUATION = {"hf", "hf-merged", "f32", "f16"}


@dataclass
class Reference:
    prompt_ids: list[int]
    logits: list[float]
    continuation: list[int]
    answer: str


@dataclass
class VerificationReport:
    format: str
    reader: str
    loaded: bool
    passed: bool
    max_abs_logit_diff: float | None = None
    tolerance: float | None = None
    same_top_token: bool | None = None
    same_continuation: bool | None = None
    same_tokenization: bool | None = None
    sample_answer: str = ""
    reference_answer: str = ""
    seconds: float = 0.0
    problem: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def markdown(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"# Verification: {verdict}", "",
                 f"- Format: {self.format}", f"- Loaded back with: {self.reader}",
                 f"- Prompt: {PROMPT!r}",
                 f"- Max absolute difference of next-token logits: {_fmt(self.max_abs_logit_diff)} "
                 f"(allowed: {_fmt(self.tolerance)})",
                 f"- Same most likely next token: {self.same_top_token}",
                 f"- Same greedy continuation ({CONTINUATION_TOKENS} tokens): {self.same_continuation}",
                 f"- Same tokenization of the prompt: {self.same_tokenization}",
                 f"- Answer of the export: {self.sample_answer!r}",
                 f"- Answer of the model in memory: {self.reference_answer!r}",
                 f"- Took {self.seconds:.1f} s"]
        if self.problem:
            lines.append(f"- Problem: {self.problem}")
        return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def _prompt_ids(tokenizer) -> list[int]:
    text = tokenizer.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False,
                                         add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _run(model, tokenizer, ids: list[int]):
    import torch

    tensor = torch.tensor([ids], device=model.device)
    with torch.no_grad():
        logits = model(tensor).logits[0, -1].float().cpu()
        out = model.generate(tensor, attention_mask=torch.ones_like(tensor), max_new_tokens=CONTINUATION_TOKENS,
                             do_sample=False, pad_token_id=tokenizer.pad_token_id)
    continuation = out[0, len(ids):].tolist()
    return logits, continuation, tokenizer.decode(continuation, skip_special_tokens=True).strip()


def reference(model, tokenizer) -> Reference:
    ids = _prompt_ids(tokenizer)
    logits, continuation, answer = _run(model, tokenizer, ids)
    return Reference(ids, logits.tolist(), continuation, answer)


def _compare(fmt, reader, model, tokenizer, ref: Reference, started: float, tolerance_key: str) -> VerificationReport:
    import torch

    ids = _prompt_ids(tokenizer)
    logits, continuation, answer = _run(model, tokenizer, ref.prompt_ids)
    diff = float((logits - torch.tensor(ref.logits)).abs().max())
    same_top = int(logits.argmax()) == int(torch.tensor(ref.logits).argmax())
    same_continuation = continuation == ref.continuation
    tolerance = TOLERANCE[tolerance_key]
    passed = bool(answer or continuation) and diff <= tolerance and same_top and ids == ref.prompt_ids \
        and (same_continuation or tolerance_key not in NEEDS_SAME_CONTINUATION)
    problem = None
    if not passed:
        problem = ("the prompt is tokenized differently" if ids != ref.prompt_ids else
                   "the export's predictions differ from the model in memory more than allowed")
    return VerificationReport(fmt, reader, True, passed, diff, tolerance, same_top, same_continuation,
                              ids == ref.prompt_ids, answer, ref.answer, time.perf_counter() - started, problem)


def _failed(fmt: str, reader: str, exc: Exception, started: float) -> VerificationReport:
    return VerificationReport(fmt, reader, loaded=False, passed=False, seconds=time.perf_counter() - started,
                              problem=f"it could not be loaded: {str(exc)[:300]}")


def verify_hf(folder: Path, ref: Reference, fmt: str, base_folder: Path | None = None) -> VerificationReport:
    """Load a Hugging Face export with transformers (and peft when it is an adapter)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    reader = "transformers AutoModelForCausalLM.from_pretrained" + (" + peft PeftModel" if base_folder else "")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        if base_folder is not None:
            from peft import PeftModel

            base = AutoModelForCausalLM.from_pretrained(str(base_folder), dtype="auto", use_safetensors=True)
            model = PeftModel.from_pretrained(base, str(folder)).eval()
        else:
            model = AutoModelForCausalLM.from_pretrained(str(folder), dtype="auto", use_safetensors=True).eval()
    except Exception as exc:  # noqa: BLE001 - a failed load is the verification's finding
        return _failed(fmt, reader, exc, started)
    return _compare(fmt, reader, model, tokenizer, ref, started, fmt)


def verify_gguf(path: Path, ref: Reference, fmt: str, quant: str) -> VerificationReport:
    """Load a GGUF file with transformers' own GGUF reader (it dequantizes to float32)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    reader = "transformers from_pretrained(gguf_file=...)"
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name).eval()
    except Exception as exc:  # noqa: BLE001 - a failed load is the verification's finding
        return _failed(fmt, reader, exc, started)
    return _compare(fmt, reader, model, tokenizer, ref, started, quant)


def save_report(folder: Path, report: VerificationReport) -> None:
    write_text_atomic(folder / "verification.json", json.dumps(report.to_dict(), indent=2))
    write_text_atomic(folder / "VERIFICATION.md", report.markdown())
