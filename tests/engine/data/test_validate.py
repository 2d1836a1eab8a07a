import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peftstudio.engine.data.dataset_file import validate_file

GOOD = {"instruction": "Say hi", "input": "", "output": "Hi there"}


def jsonl(tmp_path, rows, name="d.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def codes(report):
    return {r.code for r in report.results}


def good_rows(n):
    return [{"instruction": f"Question number {i} about topic {i * 7}", "input": "", "output": f"Answer {i}"}
            for i in range(n)]


def test_a_clean_file_has_no_problems(tmp_path):
    report = validate_file(jsonl(tmp_path, good_rows(60)))
    assert report.results == [] and report.exit_code == 0 and report.rows_usable == 60


def test_each_check_finds_its_problem_with_row_numbers(tmp_path):
    rows = good_rows(60) + [
        '{"instruction": "broken", ',  # line 61: malformed
        {"instruction": "No answer field"},  # 62: missing
        {"instruction": "   ", "output": "x"},  # 63: empty
        {"instruction": "Caf\u00c3\u00a9 au lait?", "output": "Yes"},  # 64: mojibake
        {"instruction": "Tab\x07bell", "output": "ok"},  # 65: control character
        dict(good_rows(1)[0]),  # 66: exact duplicate of line 1
        {"instruction": "QUESTION number 0 about topic 0!", "input": "", "output": "answer 0"},  # 67: near dup
        {"instruction": "Write to me at jane.doe@example.org", "output": "Sure"},  # 68: personal data
        {"instruction": "Long one", "output": "word " * 3000},  # 69: length outlier
    ]
    report = validate_file(jsonl(tmp_path, rows))
    by_code = {r.code: r for r in report.results}
    expected = {"malformed_line": 61, "missing_field": 62, "empty_value": 63, "mojibake": 64,
                "control_characters": 65, "duplicate": 66, "near_duplicate": 67, "personal_data": 68,
                "length_outlier": 69}
    for code, row in expected.items():
        assert code in by_code, code
        assert by_code[code].row == row, (code, by_code[code].row)
    assert by_code["malformed_line"].level == "error" and report.exit_code == 1
    assert "Line 61" in by_code["malformed_line"].message


def test_conversation_role_order_is_checked(tmp_path):
    rows = good_rows(55) + [
        {"messages": [{"role": "assistant", "content": "I start"}, {"role": "user", "content": "ok"},
                      {"role": "assistant", "content": "fine"}]},
        {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                      {"role": "assistant", "content": "c"}]},
        {"messages": [{"role": "user", "content": "only a question"}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                      {"role": "user", "content": "dangling"}]},
    ]
    path = jsonl(tmp_path, [{"messages": [{"role": "user", "content": r["instruction"]},
                                          {"role": "assistant", "content": r["output"]}]}
                            if "instruction" in r else r for r in rows])
    report = validate_file(path)
    assert report.schema.name == "openai"
    rows_of = {}
    for r in report.results:
        rows_of.setdefault(r.code, []).append(r.row)
    assert rows_of["role_order"] == [56, 57]
    assert rows_of["no_reply"] == [58]
    assert rows_of["unanswered_turn"] == [59]


def test_unbalanced_csv_quotes_are_reported_with_the_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('instruction,output\n"Hi",Hello\n"Unclosed,Oops\nmore,rows\n', encoding="utf-8")
    report = validate_file(path, min_examples=1)
    [bad] = [r for r in report.results if r.code == "malformed_line"]
    assert bad.row == 3 and "never closed" in bad.message
    assert report.rows_usable == 1


def test_too_few_examples_and_suggested_mapping(tmp_path):
    path = jsonl(tmp_path, [{"query": "q", "reply": "r"}, {"query": "q2", "reply": "r2"}])
    report = validate_file(path, min_examples=10)
    assert report.schema.mapping == {"prompt": "query", "response": "reply"} and report.schema.suggested
    assert {"too_few_examples", "suggested_mapping"} <= codes(report)
    assert report.exit_code == 0  # warnings only


def test_unknown_columns_are_an_error_with_the_column_names(tmp_path):
    report = validate_file(jsonl(tmp_path, [{"foo": 1, "bar": 2}] * 3))
    [result] = report.results
    assert result.code == "unknown_schema" and "bar, foo" in result.message and report.exit_code == 1
    mapped = validate_file(jsonl(tmp_path, [{"foo": "a", "bar": "b"}] * 3, "m.jsonl"),
                           column_mapping={"prompt": "foo", "response": "bar"}, min_examples=1)
    assert mapped.rows_usable == 3 and mapped.exit_code == 0


def test_truncation_is_counted_in_model_tokens(tmp_path, demo_tokenizer):
    rows = good_rows(50) + [{"instruction": "Tell a long story", "output": "once upon a time " * 200}] * 3
    report = validate_file(jsonl(tmp_path, rows), tokenizer=demo_tokenizer, max_seq_length=256)
    [result] = [r for r in report.results if r.code == "truncated"]
    assert result.message.startswith("3 examples are longer than 256 tokens")


broken_rows = st.lists(st.sampled_from([
    '{"instruction": "x"', '{"output": "only output"}', '{"instruction": "", "output": "y"}',
    '{"instruction": "Caf\\u00c3\\u00a9", "output": "z"}', '[1, 2]', '{"instruction": "a\\u0007", "output": "b"}',
    json.dumps(GOOD), json.dumps(GOOD),
]), min_size=1, max_size=20)


# **Feature: simplified-llm-optimization, Property 8: Dataset validation provides suggestions**
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(broken_rows)
def test_every_problem_comes_with_a_specific_actionable_suggestion(tmp_path, lines):
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate_file(path)
    assert report.results, "a file with problems must report them"
    for result in report.results:
        assert result.level in ("error", "warning", "info")
        assert len(result.suggestion) > 15 and result.suggestion != result.message
        assert result.row is None or result.row >= 1
        if result.level == "error" and result.code != "unknown_schema":
            assert result.row is not None  # errors point at a row or line


def test_a_text_problem_is_reported_once_per_row_naming_its_columns(tmp_path):
    """Journey finding 9: garbled accents in both columns are one warning that names both."""
    from peftstudio.engine.data import validate_file

    path = tmp_path / "shop.csv"
    path.write_text("question,answer\nCan I pay by card? â€” yes,\"Yes, we accept cards â€” all of them.\"\n"
                    "Opening hours?,Nine to five.\n", encoding="utf-8")
    report = validate_file(path, min_examples=1)
    garbled = [r for r in report.results if r.code == "mojibake"]
    assert len(garbled) == 1 and "in 'question' and 'answer'" in garbled[0].message
