"""Trying a fine-tuned model: streaming chat, the same prompt to the base model, honest scores.

The base model is loaded once per model folder and shared: adapters are attached to it with peft, and
the base answer is produced with the adapter disabled (`disable_adapter()`), so it costs no memory.

Scores (documented, comparable between the two answers):
    perplexity     exp(mean loss) of the answer's tokens under the model that wrote it (lower: surer)
    repetition     share of repeated word 3-grams in the answer (0 is best)
    prompt_overlap share of the answer's words that already appear in the prompt (high: parroting)
    length         words in the answer
"""
from __future__ import annotations

import contextlib
import difflib
import math
import threading
from pathlib import Path
from typing import Callable

from peftstudio.engine.data.prepare import normalized_examples, split_indices
from peftstudio.engine.data.tokenize import thinking_keywords, tokenize_examples
from peftstudio.engine.data.tool_render import template_inputs
from peftstudio.engine.errors import PlainError, from_exception
from peftstudio.engine.models import load_causal_lm, load_tokenizer, resolve_model, trainable_folder
from peftstudio.engine.planning.profiles import get_profile
from peftstudio.engine.quality import repetition_rate
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.sampling import Sampling


_BASES: dict[tuple, tuple] = {}
_LOCKS: dict[tuple, threading.RLock] = {}  # one per shared base: see ChatModel.using  # (model folder, rope scaling) -> (model, tokenizer): one copy in memory


class ChatModel:
    def __init__(self, run_dir: Path):

        run_dir = Path(run_dir)
        if not RunFolder(run_dir).has_adapter():
            raise RunFolder(run_dir).no_adapter("chat with")
        self.run_dir = run_dir
        folder = RunFolder(run_dir)
        self.config = folder.config()
        self.model, self.tokenizer = self._attach(folder.adapter)
        self.info = folder.info()

    def _attach(self, adapter: Path):
        from peft import PeftModel


        folder = str(trainable_folder(resolve_model(self.config.model_path or self.config.model_name)))
        rope = (self.config.rope_scaling, self.config.max_seq_length) if self.config.rope_scaling else None
        key = (folder, rope)  # a run trained with RoPE scaling answers with the same stretched positions
        self._key = key
        _LOCKS.setdefault(key, threading.RLock())
        if key not in _BASES:
            base = load_causal_lm(Path(folder), rope=rope).eval()
            _BASES[key] = (PeftModel.from_pretrained(base, str(adapter), adapter_name=self.run_dir.name),
                           load_tokenizer(Path(folder)))
        model, tokenizer = _BASES[key]
        if self.run_dir.name not in model.peft_config:
            model.load_adapter(str(adapter), adapter_name=self.run_dir.name)
        model.set_adapter(self.run_dir.name)
        return model, tokenizer

    @contextlib.contextmanager
    def using(self):
        """The shared base with this run's adapter active, for as long as the caller uses it. The playground, a
        scorecard scoring in the background and comparisons may share one base in memory, each with its own
        adapter: without this, one could switch the adapter (or switch it off) under another's generation."""
        with _LOCKS[self._key]:
            self.model.set_adapter(self.run_dir.name)
            yield self.model

    # ---- generation --------------------------------------------------------------------------
    def _prompt_ids(self, messages: list[dict], sampling: Sampling, tools: list[dict] | None = None):
        if sampling.system_prompt and not any(m["role"] == "system" for m in messages):
            messages = [{"role": "system", "content": sampling.system_prompt}] + messages
        # with tools: rendered exactly as training rendered them (the template's own, or the fallback)
        messages, extra = template_inputs(self.tokenizer, {"messages": messages, **({"tools": tools} if tools else {})})
        extra.update(thinking_keywords(self.tokenizer, self.config.thinking))  # answer as it was taught to
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)
        return self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(self.model.device)

    def generate(self, messages: list[dict], sampling: Sampling | None = None, on_token: Callable[[str], None] | None
                 = None, stop: threading.Event | None = None, use_adapter: bool = True,
                 tools: list[dict] | None = None) -> str:
        """The reply, streamed piece by piece to `on_token`; `stop` ends it early (what was said is kept);
        `tools` (OpenAI function entries) are offered to the model as in training."""
        with self.using():
            return self._generate(messages, sampling, on_token, stop, use_adapter, tools)

    def _generate(self, messages, sampling, on_token, stop, use_adapter, tools=None) -> str:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        sampling = sampling or Sampling()
        stop = stop or threading.Event()
        inputs = self._prompt_ids(messages, sampling, tools)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)

        class Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return stop.is_set()

        options = dict(max_new_tokens=sampling.max_new_tokens, repetition_penalty=sampling.repetition_penalty,
                       streamer=streamer, stopping_criteria=StoppingCriteriaList([Stop()]),
                       pad_token_id=self.tokenizer.pad_token_id)
        if sampling.temperature > 0:
            options.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p,
                           top_k=sampling.top_k)
        else:
            options.update(do_sample=False)
        errors = []

        def run():
            try:
                with torch.no_grad():
                    if use_adapter:
                        self.model.generate(**inputs, **options)
                    else:
                        with self.model.disable_adapter():
                            self.model.generate(**inputs, **options)
            except Exception as exc:  # noqa: BLE001 - surfaced below as a plain error
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        pieces = []
        for piece in streamer:
            pieces.append(piece)
            if on_token is not None and piece:
                on_token(piece)
        thread.join()
        if errors:
            raise from_exception(errors[0], self.run_dir)
        return "".join(pieces).strip()

    def answer_perplexity(self, messages: list[dict], answer: str, use_adapter: bool = True) -> float:
        with self.using():
            return self._answer_perplexity(messages, answer, use_adapter)

    def _answer_perplexity(self, messages: list[dict], answer: str, use_adapter: bool) -> float:
        import contextlib

        import torch

        from peftstudio.engine.data.packing import PaddedCollator  # lazy: defers torch
        from peftstudio.engine.token_loss import selected_token_loss  # lazy: defers torch

        example = {"messages": messages + [{"role": "assistant", "content": answer or " "}]}
        features = tokenize_examples(self.tokenizer, [example], max_length=4096)
        if not features:
            return float("inf")
        batch = {k: v.to(self.model.device) for k, v in PaddedCollator(self.tokenizer.pad_token_id)(features).items()}
        context = contextlib.nullcontext() if use_adapter else self.model.disable_adapter()
        with torch.no_grad(), context:
            loss, _ = selected_token_loss(self.model, batch, reduction="mean")
        return math.exp(min(float(loss), 50))

    def compare(self, prompt: str, sampling: Sampling | None = None, tools: list[dict] | None = None) -> dict:
        """Property 15: the fine-tuned and the base model's answers to the same prompt, with scores and a diff."""
        messages = [{"role": "user", "content": prompt}]
        tuned = self.generate(messages, sampling, use_adapter=True, tools=tools)
        base = self.generate(messages, sampling, use_adapter=False, tools=tools)
        return {"prompt": prompt, "tuned": tuned, "base": base, "diff": word_diff(base, tuned),
                "scores": {"tuned": self.scores(messages, prompt, tuned, True),
                           "base": self.scores(messages, prompt, base, False)}}

    def scores(self, messages, prompt: str, answer: str, use_adapter: bool) -> dict:
        words = answer.split()
        prompt_words = {w.lower().strip(".,!?") for w in prompt.split()}
        return {"perplexity": self.answer_perplexity(messages, answer, use_adapter),
                "repetition": repetition_rate([w.lower() for w in words]),
                "prompt_overlap": sum(w.lower().strip(".,!?") in prompt_words for w in words) / max(1, len(words)),
                "length": len(words)}


def scores_in_words(tuned: dict, base: dict | None = None) -> list[str]:
    """The answer scores as sentences a non-expert can read, each saying which way is better."""
    def pair(key: str, fmt: str) -> str:
        return fmt.format(tuned[key]) + (f" (base model: {fmt.format(base[key])})" if base else "")

    lines = [f"How sure it is of its answer: {pair('perplexity', '{:.1f}')}, lower is surer"
             + ("" if not base else " - the fine-tuned model is surer" if tuned["perplexity"] < base["perplexity"]
                else " - the base model is surer"),
             f"Repeats itself: {pair('repetition', '{:.0%}')}, lower is better",
             f"Copies words from your question: {pair('prompt_overlap', '{:.0%}')}, lower usually means a "
             "more original answer",
             f"Length: {pair('length', '{} words')}"]
    return lines


def word_diff(base: str, tuned: str) -> list[dict]:
    """Word-level differences: [{"op": equal|insert|delete|replace, "base": text, "tuned": text}]."""
    a, b = base.split(), tuned.split()
    return [{"op": op, "base": " ".join(a[i1:i2]), "tuned": " ".join(b[j1:j2])}
            for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()]


def run_tools(run_dir: Path) -> list[dict]:
    """An agent's tools (the first list its dataset declares): the playground starts with them."""
    folder = RunFolder(Path(run_dir))
    if not (folder.info().get("data") or {}).get("tool_examples"):
        return []
    try:
        examples, _ = normalized_examples(folder.config())
    except PlainError:
        return []
    return next((example["tools"] for example in examples if example.get("tools")), [])


def example_prompts(profile_id: str, run_dir: Path | None = None, count_from_data: int = 3) -> list[dict]:
    """Property 14: at least 3 prompts for the use case, plus prompts from the run's own validation split."""
    try:
        prompts = [{"source": "use case", "prompt": p} for p in get_profile(profile_id).example_prompts]
    except PlainError:
        prompts = []
    if len(prompts) < 3:
        prompts += [{"source": "general", "prompt": p} for p in
                    ("Introduce yourself in one sentence.", "What can you help me with?",
                     "Explain your main topic to a beginner.")][: 3 - len(prompts)]
    if run_dir is not None:
        prompts += [{"source": "your data", "prompt": p} for p in validation_prompts(run_dir, count_from_data)]
    return prompts


def validation_prompts(run_dir: Path, count: int) -> list[str]:
    """User turns of the run's held-back examples: what did it learn?"""
    config = RunFolder(run_dir).config()
    try:
        examples, _ = normalized_examples(config)
    except PlainError:
        return []
    _, validation = split_indices(len(examples), config.validation_split, config.seed)
    prompts = []
    for i in validation[:count]:
        user = next((m["content"] for m in examples[i].get("messages", []) if m["role"] == "user"), None)
        if user:
            prompts.append(user)
    return prompts


def save_conversation(store, run_id: str, title: str, messages: list[dict]) -> int:
    import json

    with store.transaction() as db:
        cursor = db.execute("INSERT INTO conversations(run_id, title, messages, saved) VALUES (?, ?, ?, "
                            "datetime('now'))", (run_id, title, json.dumps(messages)))
        return cursor.lastrowid


def conversation_markdown(title: str, messages: list[dict]) -> str:
    lines = [f"# {title}", ""]
    for m in messages:
        lines += [f"**{m['role'].capitalize()}:** {m['content']}", ""]
    return "\n".join(lines)

