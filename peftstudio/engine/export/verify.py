"""Verification: load an export back with a reader that is not our writer, and compare it with the model in memory.

The reference is the merged model held in memory. For a fixed prompt we compare the next-token logits
(max absolute difference), the top next token, and a greedy continuation; the export also writes a
sample answer. Readers: transformers `from_pretrained` (+ peft for adapters) for Hugging Face folders;
for GGUF files llama.cpp itself (the engine inside Ollama and LM Studio) when llama-cpp-python is
installed, else transformers `gguf_file=` (its own GGUF parser and dequantizer). The report names the
reader that judged.

A lossy GGUF (the K-quants) is judged by agreement rather than by identical tokens: over a fixed set of
prompts with the model's own continuations, the share of positions where the file's most likely next
token is the model's (top-1 agreement) and the mean KL divergence of its next-token distribution from
the model's; beside them, where measured, what llama.cpp's own quantizer of the same weights gets.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from peftstudio.engine.export.safety import write_text_atomic
from peftstudio.engine.export.formats import GGUF_TYPES, LOSSY
from peftstudio.engine.export.formats import tolerance as tolerance_of

PROMPT = "What is the capital of France?"
CONTINUATION_TOKENS = 16
# The agreement set: varied everyday prompts, each continued greedily by the model in memory.
AGREEMENT_PROMPTS = ("What is the capital of France?", "Write a short greeting for a new colleague.",
                     "Explain in one sentence why the sky is blue.", "List three fruits.",
                     "How many days are in a week?", "Translate 'thank you' into Spanish.")
NEEDS_SAME_CONTINUATION = {"hf", "hf-merged", "f32", "f16"}
# top-1 agreement at which a lossless file whose greedy continuation differs is taken to have met a near-tie
# (measured: a tiny random Qwen 2 in F16 agreed on 95 of 96 positions, max logit difference 0.01, and its
# continuation parted at the one position where the two best tokens were that close)
TIE_AGREEMENT = 0.98


@dataclass
class Reference:
    prompt_ids: list[int]
    logits: list[float]
    continuation: list[int]
    answer: str
    prompt_text: str = ""
    own_prompt: str = ""  # a prompt from the run's own held-back examples
    own_ids: list[int] = None  # type: ignore[assignment]
    own_answer: str = ""
    # per agreement prompt: (token ids of prompt + continuation, index of the first continuation position,
    # the model's next-token log-probabilities at the positions that predict the continuation)
    agreement: list = None  # type: ignore[assignment]


@dataclass
class Agreement:
    top1: float
    mean_kl: float
    positions: int

    def to_dict(self) -> dict:
        return {"top1_agreement": round(self.top1, 4), "mean_kl": round(self.mean_kl, 5), "positions": self.positions}


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
    agreement: dict | None = None            # ours: top-1 agreement and mean KL against the model in memory
    llama_cpp_quantizer: dict | None = None  # the same for llama.cpp's own quantizer of the same weights
    quant: str | None = None
    own_prompt: str = ""                     # a prompt from the user's own held-back examples...
    own_answer_export: str = ""              # ...answered by the export
    own_answer_model: str = ""               # ...and by the model in memory
    tools: dict | None = None                # an agent's: its template and its tool calls (export/tool_check.py)
    json_answers: dict | None = None         # answers that follow the run's JSON schema (export/json_answers.py)
    quant_advice: dict | None = None         # a type that lost too much, and what was chosen (export/quant_choice.py)

    def summary(self) -> str:
        """What the check found, in one or two sentences a non-expert can act on."""
        judge = "llama.cpp (the engine inside Ollama and LM Studio)" if self.reader.startswith("llama.cpp") \
            else "An independent reader"
        if not self.loaded:
            return f"Failed: the file could not be loaded ({self.problem}). Do not use this export."
        if not self.passed:
            return f"Failed: {self.problem}. The export may answer differently from your model."
        if self.quant in LOSSY and self.agreement:
            text = (f"Passed. {judge} reads the file, and it picks the same next word as your model "
                    f"{self.agreement['top1_agreement']:.0%} of the time")
            if self.llama_cpp_quantizer:
                text += (f" (llama.cpp's own {self.quant} of the same weights: "
                         f"{self.llama_cpp_quantizer['top1_agreement']:.0%})")
            text += (f". Some different wording is expected at {self.quant}, which stores about "
                     f"{GGUF_TYPES[self.quant].bits_per_weight:.1f} bits per weight")
            if not self.same_continuation:
                text += "; its answer to the test prompt below is worded differently from your model's"
            return text + "." + (" " + self.quant_advice["sentence"] if self.quant_advice else "")
        return f"Passed. {judge} reads the file and continues the test prompt exactly as your model does."

    def to_dict(self) -> dict:
        return asdict(self)

    def markdown(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"# Verification: {verdict}", "", self.summary(), ""]
        if self.own_prompt:
            lines += [f"A question from your own held-back examples: {self.own_prompt!r}",
                      f"- the export answers: {self.own_answer_export!r}",
                      f"- your model answers: {self.own_answer_model!r}", ""]
        lines += ["## Details", "",
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
        if self.agreement:
            lines.append(f"- Top-1 agreement with the model in memory: {self.agreement['top1_agreement']:.1%}, "
                         f"mean KL divergence {self.agreement['mean_kl']:.4f} "
                         f"({self.agreement['positions']} positions over {len(AGREEMENT_PROMPTS)} prompts)")
        if self.llama_cpp_quantizer:
            lines.append(f"- llama.cpp's own quantizer of the same weights: "
                         f"{self.llama_cpp_quantizer['top1_agreement']:.1%} agreement, "
                         f"mean KL {self.llama_cpp_quantizer['mean_kl']:.4f}")
        if self.problem:
            lines.append(f"- Problem: {self.problem}")
        if self.quant_advice:
            lines += ["", "## Which type keeps your model's answers", "", self.quant_advice["sentence"], "",
                      f"Each type's answer to {PROMPT!r} (your model: {self.reference_answer!r}):", ""]
            lines += [f"- {t['quant']}: agrees {t['top1_agreement']:.0%}, answers {t['probe_answer']!r}"
                      for t in self.quant_advice["tried"] if t["top1_agreement"] is not None]
        if self.tools:
            lines += ["", "## Tool calls", "", tools_summary(self.tools)]
        if self.json_answers:
            found = self.json_answers
            lines += ["", "## JSON answers", "",
                      f"Of {found['prompts']} held-back questions answered in llama.cpp, "
                      f"{found['follows_schema']:.0%} follow your JSON schema as the model writes them, and "
                      f"{found['follows_schema_with_grammar']:.0%} with the grammar written beside the file."]
        return "\n".join(lines) + "\n"


def tools_summary(tools: dict) -> str:
    """An agent's check in words: the template, then the calls the file makes in llama.cpp."""
    text = (f"The file's chat template writes {tools['template_exact']} of {tools['template_compared']} held-back "
            "conversations with tools exactly as training did. ")
    if tools.get("call_cases"):
        text += (f"In llama.cpp it makes the right call in {tools['call_accuracy']:.0%} of {tools['call_cases']} "
                 "held-back questions that need one")
        if tools.get("no_call_cases"):
            text += f" and answers without a call in {tools['no_call_accuracy']:.0%} of {tools['no_call_cases']} that do not"
        text += "."
    return text


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def prompt_text(tokenizer, prompt: str = PROMPT) -> str:
    """One user prompt, templated for the model's answer."""
    return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True)


def _prompt_ids(tokenizer, prompt: str = PROMPT) -> list[int]:
    return tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"]


def _run(model, tokenizer, ids: list[int]):
    import torch

    tensor = torch.tensor([ids], device=model.device)
    with torch.no_grad():
        logits = model(tensor).logits[0, -1].float().cpu()
        out = model.generate(tensor, attention_mask=torch.ones_like(tensor), max_new_tokens=CONTINUATION_TOKENS,
                             do_sample=False, pad_token_id=tokenizer.pad_token_id)
    continuation = out[0, len(ids):].tolist()
    return logits, continuation, tokenizer.decode(continuation, skip_special_tokens=True).strip()


def reference(model, tokenizer, agreement: bool = False, own_prompt: str | None = None) -> Reference:
    """The model in memory's answers; with `agreement`, also its distributions over the agreement set;
    with `own_prompt` (from the user's data), its answer to that too."""
    import torch

    ids = _prompt_ids(tokenizer)
    logits, continuation, answer = _run(model, tokenizer, ids)
    own_ids, own_answer = [], ""
    if own_prompt:
        own_ids = _prompt_ids(tokenizer, own_prompt)
        _, _, own_answer = _run(model, tokenizer, own_ids)
    rows = []
    if agreement:
        for prompt in AGREEMENT_PROMPTS:
            prompt_ids = _prompt_ids(tokenizer, prompt)
            _, more, _ = _run(model, tokenizer, prompt_ids)
            full = prompt_ids + more
            with torch.no_grad():
                out = model(torch.tensor([full], device=model.device)).logits[0].float().cpu()
            start = len(prompt_ids) - 1
            rows.append((full, start, torch.log_softmax(out[start:len(full) - 1].double(), -1).numpy()))
    return Reference(ids, logits.tolist(), continuation, answer, prompt_text(tokenizer), own_prompt or "",
                     own_ids, own_answer, rows)


def agreement_margin(reference: Agreement) -> float:
    """How far below llama.cpp's own quantizer our file's top-1 agreement may fall: 5 points, or two standard
    errors of the reference's share when its positions are too few for 5 points to be more than noise (a tiny
    random model agrees about 45% of the time over 96 positions: the same recipe trained with other seeds
    measured 40-46%)."""
    p, n = reference.top1, max(reference.positions, 1)
    return max(0.05, 2.0 * math.sqrt(p * (1.0 - p) / n))


def agreement_of(gguf_model, ref: Reference) -> Agreement:
    """Top-1 agreement and mean KL(model in memory || file) over the agreement set, in llama.cpp."""
    import numpy as np

    hits = positions = 0
    kl_total = 0.0
    for ids, start, expected in ref.agreement or []:
        got = gguf_model.log_probs(ids)[start:len(ids) - 1]
        vocab = min(got.shape[1], expected.shape[1])
        got, want = got[:, :vocab], expected[:, :vocab]
        hits += int((got.argmax(1) == want.argmax(1)).sum())
        kl_total += float((np.exp(want) * (want - got)).sum())
        positions += len(want)
    return Agreement(hits / max(positions, 1), kl_total / max(positions, 1), positions)


def _compare(fmt, reader, model, tokenizer, ref: Reference, started: float, tolerance_key: str) -> VerificationReport:
    import torch

    ids = _prompt_ids(tokenizer)
    logits, continuation, answer = _run(model, tokenizer, ref.prompt_ids)
    diff = float((logits - torch.tensor(ref.logits)).abs().max())
    same_top = int(logits.argmax()) == int(torch.tensor(ref.logits).argmax())
    same_continuation = continuation == ref.continuation
    tolerance = tolerance_of(tolerance_key)
    passed = bool(answer or continuation) and diff <= tolerance and same_top and ids == ref.prompt_ids \
        and (same_continuation or tolerance_key not in NEEDS_SAME_CONTINUATION)
    problem = None
    if not passed:
        problem = ("the prompt is tokenized differently" if ids != ref.prompt_ids else
                   "the export's predictions differ from the model in memory more than allowed")
    own = _run(model, tokenizer, ref.own_ids)[2] if ref.own_prompt else ""
    return VerificationReport(fmt, reader, True, passed, diff, tolerance, same_top, same_continuation,
                              ids == ref.prompt_ids, answer, ref.answer, time.perf_counter() - started, problem,
                              quant=tolerance_key if tolerance_key in LOSSY else None, own_prompt=ref.own_prompt,
                              own_answer_export=own, own_answer_model=ref.own_answer)


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


def verify_gguf(path: Path, ref: Reference, fmt: str, quant: str,
                llama_cpp_reference: Agreement | None = None) -> VerificationReport:
    """Judge a GGUF file with llama.cpp when installed, else with transformers' GGUF reader."""
    from peftstudio.engine.export import llama_cpp_runner  # lazy: defers numpy

    if llama_cpp_runner.available():
        return verify_gguf_llama_cpp(path, ref, fmt, quant, llama_cpp_reference)
    return verify_gguf_transformers(path, ref, fmt, quant)


def verify_gguf_llama_cpp(path: Path, ref: Reference, fmt: str, quant: str,
                          llama_cpp_reference: Agreement | None = None) -> VerificationReport:
    """Load the file in llama.cpp, feed it the chat-templated prompt, compare tokens and distributions."""
    from peftstudio.engine.export.llama_cpp_runner import GGUFModel  # lazy: defers numpy

    started = time.perf_counter()
    reader = "llama.cpp (llama-cpp-python)"
    try:
        model = GGUFModel.open(path, context=1024, all_logits=True)
    except Exception as exc:  # noqa: BLE001 - a failed load is the verification's finding
        return _failed(fmt, reader, exc, started)
    try:
        ids = model.tokenize(ref.prompt_text)
        same_ids = ids == ref.prompt_ids
        log_probs = model.log_probs(ref.prompt_ids)[-1]
        diff = float(abs(log_probs - _log_softmax(ref.logits)).max())
        same_top = int(log_probs.argmax()) == int(max(range(len(ref.logits)), key=ref.logits.__getitem__))
        continuation = model.greedy(ref.prompt_ids, CONTINUATION_TOKENS)
        spoken = [t for t in continuation if t != model.llm.token_eos()]
        answer = model.llm.detokenize(spoken).decode("utf-8", "replace").strip()
        measured = agreement_of(model, ref) if ref.agreement else None
        own = ""
        if ref.own_prompt:
            own_tokens = [t for t in model.greedy(ref.own_ids, CONTINUATION_TOKENS) if t != model.llm.token_eos()]
            own = model.llm.detokenize(own_tokens).decode("utf-8", "replace").strip()
    finally:
        model.close()
    same_continuation = continuation == ref.continuation[:CONTINUATION_TOKENS]
    if quant in LOSSY:
        floor = GGUF_TYPES[quant].min_agreement if llama_cpp_reference is None else \
            llama_cpp_reference.top1 - agreement_margin(llama_cpp_reference)
        passed = same_ids and bool(answer or continuation) and (measured is None or measured.top1 >= floor)
        problem = None if passed else ("the prompt is tokenized differently" if not same_ids else
                                       f"top-1 agreement {measured.top1:.1%} is below {floor:.1%}")
    else:
        # a greedy continuation can part ways at a near-tie (two tokens within rounding of each other, common in
        # small or barely trained models); the file is still the model when nearly every position agrees
        parted_at_a_tie = measured is not None and measured.top1 >= TIE_AGREEMENT
        passed = same_ids and same_top and (same_continuation or parted_at_a_tie)
        problem = None if passed else ("the prompt is tokenized differently" if not same_ids else
                                       "llama.cpp continues the prompt differently from the model in memory")
    return VerificationReport(fmt, reader, True, passed, diff, None, same_top, same_continuation, same_ids,
                              answer, ref.answer, time.perf_counter() - started, problem,
                              measured.to_dict() if measured else None,
                              llama_cpp_reference.to_dict() if llama_cpp_reference else None, quant,
                              ref.own_prompt, own, ref.own_answer)


def _log_softmax(logits: list[float]):
    import numpy as np

    values = np.asarray(logits, dtype=np.float64)
    return values - np.logaddexp.reduce(values)


def verify_gguf_transformers(path: Path, ref: Reference, fmt: str, quant: str) -> VerificationReport:
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
