"""What a teacher is asked per use case, and how its replies become training rows.

Each recipe asks short, single-purpose questions (one question, then its answer; one summary; one request), so
even a small local teacher gives usable text without having to produce JSON. Every row keeps the passage it was
made from in `source` (set here from the passage itself, never from the teacher's reply).

    question-answering, chatbot, code-generation   qa:      a question the passage answers, then its answer
    summarization                                  summary: the passage and its summary
    creative-writing                               style:   the request this passage would answer, answered by
                                                            the passage itself (your writing is the target)
    domain-adaptation                              text:    the passage as plain text (no teacher needed)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from peftstudio.engine.data.passages import Passage

QUESTION = ("Read the passage below and write one question that it answers. Reply with the question only."
            "{avoid}\n\nPassage{where}:\n{text}")
AVOID = " Ask about a different detail than: {asked}."
ANSWER = ("Answer the question using only the passage. Reply with the answer only, in one or two sentences."
          "\n\nPassage{where}:\n{text}\n\nQuestion: {question}")
SUMMARY = "Summarize the passage below in two or three sentences. Reply with the summary only.\n\nPassage:\n{text}"
REQUEST = ("Here is a piece of writing. Write the request someone would have made to get exactly this text, "
           "as one sentence. Reply with the request only.\n\nText:\n{text}")
SUMMARY_INSTRUCTION = "Summarize this text."

PROFILE_RECIPES = {"question-answering": "qa", "chatbot": "qa", "code-generation": "qa", "summarization": "summary",
                   "creative-writing": "style", "domain-adaptation": "text"}
RECIPE_WORDS = {"qa": "questions and answers grounded in each passage", "summary": "a summary of each passage",
                "style": "requests answered by your own text, in your style", "text": "the passages as plain text"}


@dataclass(frozen=True)
class Task:
    """One row to make: which passage, and which variant (the n-th row from that passage)."""
    passage: Passage
    variant: int

    @property
    def id(self) -> str:
        return f"{self.passage.id}:{self.variant}"


def recipe_for(profile_id: str | None) -> str:
    return PROFILE_RECIPES.get(profile_id or "", "qa")


def _where(passage: Passage) -> str:
    return f" (from {passage.heading})" if passage.heading else ""


def first_line(reply: str, prefixes: tuple[str, ...] = ()) -> str:
    """The teacher's reply without labels, quotes or a second thought."""
    text = reply.strip()
    for prefix in prefixes:
        text = re.sub(rf"^\s*{prefix}\s*[:.-]\s*", "", text, flags=re.IGNORECASE)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].strip(" \"'") if lines else ""


def clean_answer(reply: str) -> str:
    text = re.sub(r"^\s*(answer|summary)\s*:\s*", "", reply.strip(), flags=re.IGNORECASE)
    return text.strip()


def question_prompt(task: Task, asked: list[str]) -> str:
    avoid = AVOID.format(asked="; ".join(asked[-3:])) if asked else ""
    return QUESTION.format(avoid=avoid, where=_where(task.passage), text=task.passage.text)


def answer_prompt(task: Task, question: str) -> str:
    return ANSWER.format(where=_where(task.passage), text=task.passage.text, question=question)


def source(task: Task) -> dict:
    return {"task": task.id, "document": task.passage.document, "heading": task.passage.heading,
            "passage": task.passage.text}


def qa_row(task: Task, question: str, answer: str) -> dict:
    return {"instruction": question, "input": "", "output": clean_answer(answer), "source": source(task)}


def summary_row(task: Task, summary: str) -> dict:
    return {"instruction": SUMMARY_INSTRUCTION, "input": task.passage.text, "output": clean_answer(summary),
            "source": source(task)}


def style_row(task: Task, request: str) -> dict:
    return {"instruction": first_line(request, ("request",)), "input": "", "output": task.passage.text,
            "source": source(task)}


def text_row(task: Task) -> dict:
    return {"text": task.passage.text, "source": source(task)}
