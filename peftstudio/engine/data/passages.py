"""A document's text cut into passages that stay under their heading and fit the model's context.

Written here because the libraries that do it (LangChain's text splitters, semchunk) come with far more than
these forty lines: blocks (paragraphs, lists, tables) are gathered under the current heading path until the next
block would pass the token budget; a heading always starts a new passage; a block larger than the budget is cut
at sentence ends. Tokens are counted with the model's tokenizer when one is given, else as characters / 4.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable

from peftstudio.engine.data.documents import Document

DEFAULT_TOKENS = 384  # a passage, the teacher's prompt around it and its answer fit a 2k context
MIN_TOKENS = 12  # shorter leftovers (a lone heading, a page number) are not worth a question


@dataclass(frozen=True)
class Passage:
    id: str  # stable for the same document text: generation resumes by it
    document: str  # the file's name
    heading: str  # "Chapter > Section", or ""
    text: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def approximate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _blocks(text: str):
    """(heading level or 0, text) for each heading and each block between blank lines."""
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().split("\n")
        pending: list[str] = []
        for line in lines:
            heading = re.match(r"^(#{1,6})\s+(.*)$", line.strip())
            if heading:
                if pending:
                    yield 0, "\n".join(pending)
                    pending = []
                yield len(heading.group(1)), heading.group(2).strip()
            elif line.strip():
                pending.append(line.rstrip())
        if pending:
            yield 0, "\n".join(pending)


def _sentences(block: str, budget: int, count: Callable[[str], int]) -> list[str]:
    pieces, current = [], ""
    for sentence in re.split(r"(?<=[.!?])\s+", block):
        candidate = f"{current} {sentence}".strip()
        if current and count(candidate) > budget:
            pieces.append(current)
            current = sentence
        else:
            current = candidate
    return pieces + ([current] if current else [])


def split_passages(document: Document, max_tokens: int = DEFAULT_TOKENS,
                   count: Callable[[str], int] = approximate_tokens) -> list[Passage]:
    passages: list[Passage] = []
    headings: list[str] = []
    current: list[str] = []

    def flush() -> None:
        text = "\n\n".join(current).strip()
        current.clear()
        if text and count(text) >= MIN_TOKENS:
            digest = hashlib.sha1(f"{document.name}\n{len(passages)}\n{text}".encode()).hexdigest()[:12]
            passages.append(Passage(digest, document.name, " > ".join(headings), text))

    for level, text in _blocks(document.text):
        if level:
            flush()
            headings[level - 1:] = [text]
            continue
        for piece in (_sentences(text, max_tokens, count) if count(text) > max_tokens else [text]):
            if current and count("\n\n".join(current + [piece])) > max_tokens:
                flush()
            current.append(piece)
    flush()
    return passages
