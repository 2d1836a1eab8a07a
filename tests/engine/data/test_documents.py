"""Issue 24: documents written in the test (PDF, Word, Markdown, HTML) become clean text with their structure, and
passages that stay under their headings; unreadable input gets a plain error."""
from __future__ import annotations

import pytest

from document_writers import FACTS, write_all
from peftstudio.engine.data import read_document, read_documents, split_passages
from peftstudio.engine.data.passages import approximate_tokens
from peftstudio.engine.errors import PlainError


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("documents"))


@pytest.mark.parametrize("kind", ["pdf", "docx", "md", "html"])
def test_each_kind_keeps_its_fact_under_its_heading(documents, kind):
    title, heading, fact = FACTS[kind]
    document = read_document(documents[kind])
    flat = " ".join(document.text.split())
    assert fact in flat
    passages = split_passages(document)
    holding = [p for p in passages if fact in " ".join(p.text.split())]
    assert len(holding) == 1
    if kind != "pdf":  # a PDF's text has no heading marks: its headings stay as lines of the passage
        assert holding[0].heading == f"{title} > {heading}"
        assert f"# {title}" in document.text and f"## {heading}" in document.text
    else:
        assert document.pages == 1 and heading in holding[0].text


def test_structure_is_kept_and_noise_dropped(documents):
    word = read_document(documents["docx"]).text
    assert "- It carries carts and walkers" in word  # a list item
    assert "| Year | Event |\n| --- | --- |\n| 1887 | Opened |" in word  # a table
    html = read_document(documents["html"]).text
    assert "- Morning light" in html
    assert "var x" not in html and "color: red" not in html and "Home | About" not in html  # scripts, styles, nav


def test_a_folder_is_read_and_passages_fit_the_budget(documents, tmp_path):
    folder = documents["md"].parent
    (folder / ".hidden.md").write_text("# secret\n\nnot for training", encoding="utf-8")
    (folder / "notes.xyz").write_text("not a document", encoding="utf-8")
    read = read_documents([folder])
    assert sorted(d.name for d in read) == ["garden.html", "history.docx", "reactor.pdf", "tea.md"]
    long = tmp_path / "long.md"
    sentences = " ".join(f"Sentence number {i} says something about the topic." for i in range(400))
    long.write_text(f"# Big\n\n{sentences}\n\n## Small\n\nA short closing section with a few more words in it, long enough to keep.",
                    encoding="utf-8")
    passages = split_passages(read_document(long), max_tokens=100)
    assert all(approximate_tokens(p.text) <= 100 for p in passages)
    assert {p.heading for p in passages} == {"Big", "Big > Small"}
    assert " ".join(p.text for p in passages if p.heading == "Big") == sentences  # nothing lost between passages
    assert len({p.id for p in passages}) == len(passages)
    assert [p.id for p in split_passages(read_document(long), max_tokens=100)] == [p.id for p in passages]


@pytest.mark.parametrize("name, content, title", [
    ("slides.pptx", b"PK\x03\x04", "This kind of document is not supported"),
    ("broken.pdf", b"%PDF-1.4 garbage", "A document could not be read"),
    ("broken.docx", b"not a zip", "A document could not be read"),
    ("empty.md", b"   \n\n", "A document could not be read"),
])
def test_unreadable_documents_get_a_plain_error(tmp_path, name, content, title):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PlainError) as caught:
        read_document(path)
    assert caught.value.title == title and len(caught.value.actions) >= 2


def test_missing_paths_and_empty_folders_are_said_plainly(tmp_path):
    with pytest.raises(PlainError) as missing:
        read_documents([tmp_path / "nope.pdf"])
    assert missing.value.title == "A document was not found"
    with pytest.raises(PlainError) as empty:
        read_documents([tmp_path])
    assert empty.value.title == "No documents were found"
