"""Documents to clean text with their structure: PDF, DOCX, Markdown, HTML, plain text, or a folder of them.

The result is Markdown-like text: headings as `#` lines, list items as `- `, tables as `| a | b |` rows, so the
passage splitter (passages.py) can keep a passage under its heading. The readers are the field's small libraries:
pypdf (PDF text), python-docx (Word paragraphs with their styles, and tables), markdownify (HTML to Markdown,
after BeautifulSoup drops scripts, styles and navigation). markitdown does all of this too, but pulls in magika's
onnxruntime and pdfminer; these four together are about 1 MB.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from peftstudio.engine.errors import PlainError

SUPPORTED = (".pdf", ".docx", ".md", ".markdown", ".html", ".htm", ".txt")


@dataclass
class Document:
    path: Path
    text: str  # Markdown-like: headings, lists and tables kept
    pages: int | None = None  # PDFs

    @property
    def name(self) -> str:
        return self.path.name


def unreadable(path: Path, why: str) -> PlainError:
    return PlainError(
        title="A document could not be read",
        what=f"{path.name} could not be turned into text.",
        why=why,
        actions=["Open the file in its program and save it again (for a scanned PDF: export it with text "
                 "recognition, OCR).", "Leave this file out and use the others."],
        help_topic="datasets")


def _pdf(path: Path) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise unreadable(path, "The PDF is protected with a password.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise unreadable(path, f"It is not a readable PDF ({exc}).") from None
    text = "\n\n".join(pages)
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)  # words hyphenated across lines
    return text, len(pages)


def _docx(path: Path) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as exc:
        raise unreadable(path, f"It is not a readable Word document ({exc}).") from None
    lines: list[str] = []
    for block in document.iter_inner_content():  # paragraphs and tables in document order
        if isinstance(block, Table):
            for number, row in enumerate(block.rows):
                cells = [cell.text.strip() for cell in row.cells]
                lines.append("| " + " | ".join(cells) + " |")
                if number == 0:  # the first row is the header, as Markdown writes it
                    lines.append("|" + " --- |" * len(cells))
            lines.append("")
            continue
        if not isinstance(block, Paragraph) or not block.text.strip():
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if style == "Title" or level:
            lines += ["", "#" * (int(level.group(1)) if level else 1) + " " + block.text.strip(), ""]
        elif style.startswith("List"):
            lines.append("- " + block.text.strip())
        else:
            lines += [block.text.strip(), ""]
    return "\n".join(lines)


def _html(path: Path) -> str:
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    soup = BeautifulSoup(_plain(path), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        tag.decompose()
    return markdownify(str(soup), heading_style="ATX", bullets="-")


def _plain(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def read_document(path: str | Path) -> Document:
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise PlainError(
            title="This kind of document is not supported",
            what=f"{path.name} is a {suffix or 'file without an extension'}.",
            why=f"PEFT Studio reads {', '.join(SUPPORTED)}.",
            actions=["Save it as PDF, Word (.docx), Markdown, HTML or plain text.", "Leave this file out."],
            help_topic="datasets")
    try:
        if suffix == ".pdf":
            text, pages = _pdf(path)
            document = Document(path, clean(text), pages)
        elif suffix == ".docx":
            document = Document(path, clean(_docx(path)))
        elif suffix in (".html", ".htm"):
            document = Document(path, clean(_html(path)))
        else:
            document = Document(path, clean(_plain(path)))
    except OSError as exc:
        raise unreadable(path, f"The file could not be opened ({exc.strerror or exc}).") from None
    if not document.text:
        raise unreadable(path, "It holds no text (a scanned PDF holds only pictures of pages).")
    return document


def document_files(paths) -> list[Path]:
    """The supported files among `paths`; folders are searched (sorted, hidden files left out)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.exists():
            found.append(path)
        else:
            raise PlainError(title="A document was not found", what=f"{path} does not exist.",
                             why="The path may have a typo, or the file was moved.",
                             actions=["Check the path.", "Choose the files again."], help_topic="datasets")
    if not found:
        raise PlainError(title="No documents were found", what="The folders hold no PDF, Word, Markdown, HTML or "
                         "text files.", why=f"PEFT Studio reads {', '.join(SUPPORTED)}.",
                         actions=["Choose the files themselves.", "Save the documents in one of these formats."],
                         help_topic="datasets")
    return found


def read_documents(paths) -> list[Document]:
    return [read_document(path) for path in document_files(paths)]
