import json

import pytest

from peftstudio.engine.data.repair import repair_file
from peftstudio.engine.data.dataset_file import validate_file
from peftstudio.engine.errors import PlainError
from dataset_writers import write_dataset


def test_fix_round_trip_leaves_a_clean_file_and_the_original_untouched(tmp_path):
    rows = [{"instruction": f"  Question {i} about gardens  ", "input": "", "output": f"Answer {i}.\x07"}
            for i in range(60)]
    rows += [rows[0], {"instruction": "Caf\u00c3\u00a9 or tea?", "input": "", "output": "Caf\u00c3\u00a9."},
             {"instruction": "no reply", "input": "", "output": ""}]
    source = tmp_path / "raw.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + '\n{"broken": \n', encoding="utf-8")
    before = source.read_bytes()
    report = repair_file(source, tmp_path / "fixed.jsonl")
    assert source.read_bytes() == before
    assert report.counts["dropped_duplicate"] == 1 and report.counts["dropped_empty"] == 1
    assert report.counts["dropped_malformed"] == 1 and report.counts["cleaned_text"] >= 60
    fixed = [json.loads(line) for line in (tmp_path / "fixed.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(fixed) == report.rows_out == 61
    assert fixed[0] == {"instruction": "Question 0 about gardens", "input": "", "output": "Answer 0."}
    assert {"instruction": "Café or tea?", "input": "", "output": "Café."} in fixed
    again = validate_file(tmp_path / "fixed.jsonl")
    assert again.results == [] and again.exit_code == 0


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json_wrapped", "parquet"])
def test_fix_converts_any_format_to_jsonl_in_the_same_schema(tmp_path, fmt):
    rows = [{"question": f"What is {i}?", "answer": f"It is {i}."} for i in range(5)] * 2
    source = write_dataset(rows, tmp_path, fmt)
    report = repair_file(source, tmp_path / "out" / "fixed.jsonl")
    fixed = [json.loads(x) for x in (tmp_path / "out" / "fixed.jsonl").read_text().splitlines()]
    assert fixed == rows[:5] and report.counts["dropped_duplicate"] == 5
    assert report.counts["converted_format"] == 1


def test_chat_repair_trims_unanswered_turns_and_keeps_sharegpt(tmp_path):
    rows = [{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"},
                               {"from": "human", "value": "Are you there?"}]}]
    source = tmp_path / "chat.jsonl"
    source.write_text(json.dumps(rows[0]) + "\n")
    report = repair_file(source, tmp_path / "fixed.jsonl")
    assert json.loads((tmp_path / "fixed.jsonl").read_text()) == {
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}
    assert report.counts["removed_unanswered_turn"] == 1


def test_fix_refuses_to_overwrite_the_original(tmp_path):
    source = tmp_path / "d.jsonl"
    source.write_text(json.dumps({"prompt": "a", "completion": "b"}) + "\n")
    with pytest.raises(PlainError):
        repair_file(source, source)


def test_conversations_the_assistant_opens_are_trimmed_or_dropped_never_left_as_a_lone_reply(tmp_path):
    def chat(*turns):
        return {"messages": [{"role": role, "content": text} for role, text in turns]}

    rows = [chat(("user", f"q{i}"), ("assistant", f"a{i}")) for i in range(6)] + [
        chat(("assistant", "Hello, how can I help?"), ("user", "Capital of France?"), ("assistant", "Paris.")),
        chat(("assistant", "I speak first"), ("user", "and nobody answers me")),
        chat(("system", "Be brief."), ("assistant", "a lone reply")),
    ]
    source = tmp_path / "opening.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = validate_file(source)
    codes = {(r.code, r.row, r.level) for r in report.results}
    assert ("role_order", 7, "warning") in codes
    assert {("no_exchange", 8, "error"), ("no_reply", 9, "error")} <= codes
    assert report.rows_usable == 7  # the two without an exchange cannot be trained on

    fixed = tmp_path / "fixed.jsonl"
    repair_file(source, fixed)
    kept = [json.loads(line)["messages"] for line in fixed.read_text().splitlines()]
    assert len(kept) == 7
    assert kept[-1] == [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]
    assert all(m[0]["role"] in ("system", "user") for m in kept)
    assert validate_file(fixed).errors == 0
