"""A judge model compares the base and the fine-tuned answer to the same prompt, with a rubric per use case.

Judges: an OpenAI-compatible server (`http://localhost:11434` for Ollama, `:1234` for LM Studio,
`llama_cpp.server`), a GGUF file through llama.cpp, or a local Hugging Face model. Every pair is judged
twice, the answers swapped the second time, so a judge that prefers the first (or second) answer cancels
out. The tuned model's win rate counts a tie as half a win; its 95% interval is Wilson's. The judge's raw
replies are kept.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from peftstudio.engine.teachers import openai_teacher, teacher_from, transformers_teacher

RUBRICS = {
    "chatbot": "helpful, correct, polite, and in the tone the user asked for",
    "question-answering": "factually correct and to the point, without invented details",
    "summarization": "faithful to the text, complete on the key points, and short",
    "creative-writing": "vivid, original, and in the requested style and form",
    "code-generation": "correct, runnable code that does what was asked, clearly explained",
    "domain-adaptation": "accurate in the domain's terms and facts",
}
PROMPT = ("You compare two answers to the same request. A better answer is {rubric}.\n\n"
          "Request:\n{request}\n\nAnswer A:\n{first}\n\nAnswer B:\n{second}\n\n"
          "Which answer is better? Reply with one letter only: A, B, or T for a tie.")
Ask = Callable[[str], str]


def _verdict(reply: str) -> str:
    """'A', 'B' or 'T' from the judge's reply; anything unreadable counts as a tie."""
    match = re.search(r"\b([ABT])\b", reply.strip().upper())
    return match.group(1) if match else "T"


def _judge(teacher) -> Ask:
    return lambda prompt: teacher.ask(prompt, max_tokens=8)  # one letter is all a verdict needs


def openai_judge(url: str, model: str = "judge", timeout: float = 120.0) -> Ask:
    """An OpenAI-compatible chat endpoint; the user chose it, so only that server sees the prompts."""
    return _judge(openai_teacher(url, model, timeout))


def transformers_judge(model_ref: str) -> Ask:
    return _judge(transformers_teacher(model_ref, batch_size=1))


def judge_from(spec: str) -> tuple[str, Ask]:
    """(a description, the ask function) for a URL, a .gguf path, or a Hugging Face folder or id."""
    teacher = teacher_from(spec, batch_size=1)
    return teacher.description, _judge(teacher)


def wilson(successes: float, count: int, z: float = 1.96) -> tuple[float, float]:
    if count == 0:
        return 0.0, 1.0
    p = successes / count
    centre = (p + z * z / (2 * count)) / (1 + z * z / count)
    spread = z * math.sqrt(p * (1 - p) / count + z * z / (4 * count * count)) / (1 + z * z / count)
    return max(0.0, centre - spread), min(1.0, centre + spread)


@dataclass
class Judgement:
    win_rate: float
    low: float
    high: float
    judgments: int
    verdicts: list[dict]

    def to_dict(self) -> dict:
        return {"win_rate": self.win_rate, "interval": [self.low, self.high], "judgments": self.judgments,
                "verdicts": self.verdicts}


def judge_pairs(ask: Ask, prompts: list[str], base: list[str], tuned: list[str], profile_id: str | None,
                progress: Callable[[int, int], None] | None = None, cancel=None) -> Judgement:
    """Each pair twice (tuned as A, then as B); the tuned model's wins over all judgments."""
    rubric = RUBRICS.get(profile_id or "", RUBRICS["chatbot"])
    verdicts, points = [], 0.0
    total = 2 * len(prompts)
    for index, (request, base_answer, tuned_answer) in enumerate(zip(prompts, base, tuned)):
        for tuned_first in (True, False):
            if cancel is not None and cancel.is_set():
                break
            first, second = (tuned_answer, base_answer) if tuned_first else (base_answer, tuned_answer)
            reply = ask(PROMPT.format(rubric=rubric, request=request, first=first, second=second))
            verdict = _verdict(reply)
            winner = "tie" if verdict == "T" else ("tuned" if (verdict == "A") == tuned_first else "base")
            points += {"tuned": 1.0, "tie": 0.5, "base": 0.0}[winner]
            verdicts.append({"prompt": request, "tuned_shown_as": "A" if tuned_first else "B", "reply": reply,
                             "winner": winner})
            if progress is not None:
                progress(len(verdicts), total)
    count = len(verdicts)
    low, high = wilson(points, count)
    return Judgement(points / count if count else 0.0, low, high, count, verdicts)
