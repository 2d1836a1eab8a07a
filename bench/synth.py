"""Documents to examples: conversion speed per format and generation speed with the demo teacher, batched
against one prompt at a time (the baseline, in the same process).

Conversion: 12 documents of each kind written here (PDF by fpdf2, Word by python-docx, Markdown, HTML), each
with 6 sections of 5 paragraphs; reported as passages per second (read + split). Generation: question-answer
rows from those passages with SmolLM2-135M-Instruct in transformers, 16 rows, the default reply lengths,
batch 8 (our default) against batch 1. Usage: python bench/synth.py [--rows N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(REPO / ".test-cache"))
os.environ.setdefault("PEFTSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="bench-synth-"))

PARAGRAPH = ("Section {s}, paragraph {p}: the device described here keeps its settings in a small memory and reads "
             "them again when it starts. Values outside the allowed range are replaced by safe defaults.")


def write_documents(folder: Path, copies: int = 12) -> dict[str, list[Path]]:
    import docx
    from fpdf import FPDF

    sections = [(f"Section {s}", [PARAGRAPH.format(s=s, p=p) for p in range(5)]) for s in range(6)]
    made: dict[str, list[Path]] = {"pdf": [], "docx": [], "md": [], "html": []}
    for n in range(copies):
        pdf = FPDF()
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        word = docx.Document()
        markdown, html = [f"# Manual {n}"], [f"<h1>Manual {n}</h1>"]
        for heading, paragraphs in sections:
            pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
            word.add_heading(heading, level=2)
            markdown.append(f"## {heading}")
            html.append(f"<h2>{heading}</h2>")
            for text in paragraphs:
                pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
                word.add_paragraph(text)
                markdown.append(text)
                html.append(f"<p>{text}</p>")
        for kind, path in (("pdf", folder / f"m{n}.pdf"), ("docx", folder / f"m{n}.docx"),
                           ("md", folder / f"m{n}.md"), ("html", folder / f"m{n}.html")):
            if kind == "pdf":
                pdf.output(str(path))
            elif kind == "docx":
                word.save(str(path))
            else:
                path.write_text("\n\n".join(markdown if kind == "md" else html), encoding="utf-8")
            made[kind].append(path)
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=16)
    args = parser.parse_args()
    from peftstudio.cli import quiet_libraries
    from peftstudio.engine.data import read_document, split_passages, synthesize
    from peftstudio.engine.teachers import teacher_from

    quiet_libraries()
    folder = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    made = write_documents(folder)
    for kind, files in made.items():
        started = time.perf_counter()
        passages = sum(len(split_passages(read_document(path))) for path in files)
        seconds = time.perf_counter() - started
        print(f"convert {kind:<5} {len(files)} documents, {passages} passages in {seconds:.2f} s: "
              f"{passages / seconds:.0f} passages/s")
    teacher = teacher_from("HuggingFaceTB/SmolLM2-135M-Instruct", batch_size=8)
    speeds = {}
    for batch in (1, 8):
        teacher.batch_size = batch
        out = folder / f"rows-{batch}.jsonl"
        started = time.perf_counter()
        result = synthesize(made["md"], teacher, "question-answering", args.rows, out, batch_size=batch)
        speeds[batch] = result.rows / (time.perf_counter() - started)
        print(f"generate batch {batch}: {result.rows} rows in {time.perf_counter() - started:.1f} s: "
              f"{speeds[batch]:.2f} examples/s")
    print(f"batched generation vs one prompt at a time: {speeds[8] / speeds[1]:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
