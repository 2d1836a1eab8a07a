"""Issue 24: examples generated from documents by the demo model as teacher, through local transformers and a real
OpenAI-compatible server (llama.cpp's, on localhost); every row keeps its source passage, the report is
attached, and a stopped generation resumes without duplicating rows."""
from __future__ import annotations

import json
import threading

import pytest

from document_writers import write_all
from peftstudio.cli import main
from peftstudio.engine.data import (read_documents, read_made, report_path, split_passages, synthesize,
                                    validate_file)
from peftstudio.engine.data.synth_checks import grounding, row_flags
from peftstudio.engine.models import DEMO_MODEL_ID
from peftstudio.engine.teachers import teacher_from

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    folder = tmp_path_factory.mktemp("documents")
    write_all(folder)
    return folder


@pytest.fixture(scope="module")
def passages(documents):
    return {p.text: p for d in read_documents([documents]) for p in split_passages(d)}


@pytest.fixture(scope="module")
def local_teacher():
    return teacher_from(DEMO_MODEL_ID, batch_size=1)


def assert_sourced(rows, passages):
    for row in rows:  # never an invented source: the passage is one the documents really have, whole
        source = row["source"]
        assert source["passage"] in passages, source
        assert passages[source["passage"]].document == source["document"]
        assert passages[source["passage"]].heading == source["heading"]
        assert source["task"].split(":")[0] == passages[source["passage"]].id
        assert isinstance(row["review"]["flags"], list)


def test_local_teacher_stops_and_resumes_without_duplicating_rows(documents, passages, local_teacher, tmp_path):
    out = tmp_path / "made.jsonl"
    cancel = threading.Event()
    first = synthesize([documents], local_teacher, "question-answering", 3, out, batch_size=1, cancel=cancel,
                       on_row=lambda row: cancel.set(), reply_tokens=24)
    assert first.stopped and first.rows == 1 and first.report is None and not report_path(out).exists()
    kept = out.read_text(encoding="utf-8")
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"instruction": "cut short by a cra')  # a crash in the middle of a line
    seen = []
    second = synthesize([documents], local_teacher, "question-answering", 3, out, batch_size=1,
                        progress=lambda done, total, message: seen.append((done, total)), reply_tokens=24)
    assert not second.stopped and second.made == 2 and second.rows == 3
    assert out.read_text(encoding="utf-8").startswith(kept)  # the first row is kept as it was
    rows = read_made(out)
    assert len({r["source"]["task"] for r in rows}) == 3  # nothing made twice
    assert len({r["source"]["passage"] for r in rows}) == 3  # one passage each before any gets a second
    assert all(r["instruction"] and r["output"] for r in rows)
    assert_sourced(rows, passages)
    assert seen[0] == (1, 3) and seen[-1] == (3, 3)
    report = json.loads(report_path(out).read_text(encoding="utf-8"))
    assert report["rows"] == 3 and report["validation"]["rows_usable"] == 3  # the validator read every row
    assert report["validation"]["schema"]["name"] == "alpaca"
    assert report["flagged_rows"] == len(report["flags"]) == second.flagged
    third = synthesize([documents], local_teacher, "question-answering", 3, out, batch_size=1, reply_tokens=24)
    assert third.made == 0 and third.rows == 3  # already complete: nothing generated again


def test_your_own_text_becomes_the_answer_for_creative_writing(documents, passages, local_teacher, tmp_path):
    out = tmp_path / "style.jsonl"
    result = synthesize([documents], local_teacher, "creative-writing", 2, out, reply_tokens=24)
    rows = read_made(out)
    assert result.rows == 2
    assert all(r["output"] == r["source"]["passage"] and r["instruction"] for r in rows)  # the request it answers
    assert_sourced(rows, passages)


def test_a_server_on_this_machine_is_a_teacher_too(documents, passages, llama_cpp_server, tmp_path):
    out = tmp_path / "summaries.jsonl"
    teacher = teacher_from(llama_cpp_server)
    result = synthesize([documents], teacher, "summarization", 2, out, reply_tokens=32)
    rows = read_made(out)
    assert result.rows == 2 and not result.stopped
    assert all(r["input"] == r["source"]["passage"] and r["output"] for r in rows)  # summarize this passage
    assert_sourced(rows, passages)
    assert validate_file(out, min_examples=1).rows_usable == 2


def test_plain_passages_need_no_teacher_and_the_command_line_writes_a_report(documents, passages, tmp_path,
                                                                              capsys):
    out = tmp_path / "passages.jsonl"
    assert main(["synth", str(documents), "--profile", "domain-adaptation", "--count", "5", "--out", str(out),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["rows"] == 5 and result["passages"] == len(passages) == 5
    rows = read_made(out)
    assert sorted(r["text"] for r in rows) == sorted(passages)  # every passage once, as written
    assert json.loads(report_path(out).read_text(encoding="utf-8"))["validation"]["schema"]["name"] == "text"
    assert main(["synth", str(tmp_path / "nothing-here"), "--count", "2", "--out", str(tmp_path / "x.jsonl"),
                 "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["title"] == "A document was not found"


def test_checks_flag_ungrounded_answers_personal_data_and_cut_off_text():
    passage = "The Zorblax reactor runs at exactly 451 kelvin during normal operation."
    source = {"passage": passage, "task": "x:0", "document": "d", "heading": ""}
    good = {"instruction": "How hot does it run?", "input": "", "output": "It runs at 451 kelvin.", "source": source}
    assert row_flags(good) == [] and grounding(good["output"], passage) == 1.0
    invented = dict(good, output="It powers the whole city of Paris and was designed by engineers in 1950.")
    assert row_flags(invented) == ["not grounded in its passage"]
    private = dict(good, output="Write to ana@example.com or call +1 555 123 4567 about the 451 kelvin reactor.")
    assert any(flag.startswith("personal data") for flag in row_flags(private))
    cut = dict(good, output="The reactor runs at exactly 451 kelvin during normal operation and then it")
    assert "cut off" in row_flags(cut)
    assert row_flags(dict(good, output="")) == ["empty"]
