"""Tool-calling datasets: the OpenAI, ShareGPT and Hermes layouts read into one shape, malformed calls flagged by
row with a safe fix where there is one, and the loss on the assistant's calls but never on results or tools."""
from __future__ import annotations

import json

import pytest

from peftstudio.engine.data import repair_file, validate_file
from peftstudio.engine.data.schema import guess_schema, normalize_row
from peftstudio.engine.data.tokenize import loss_pieces
from peftstudio.engine.data.tool_calls import calls_in_text
from peftstudio.engine.evaluation.tool_accuracy import calls_match, score_answers, tool_cases
from tool_datasets import TOOLS, tool_rows, write_rows


def normalized(row):
    return normalize_row(row, guess_schema([row]))


def shape(example):
    """What matters of an example: roles, texts, calls (name and arguments) and which call each result answers."""
    calls = {}
    turns = []
    for m in example["messages"]:
        for c in m.get("tool_calls") or ():
            calls[c["id"]] = c["name"]
        turns.append((m["role"], m["content"], [(c["name"], c["arguments"]) for c in m.get("tool_calls") or ()],
                      calls.get(m.get("tool_call_id")) if m["role"] == "tool" else None))
    return turns, example.get("tools")


@pytest.mark.parametrize("layout", ["sharegpt", "hermes"])
def test_every_layout_reads_into_the_openai_shape(layout):
    for openai, other in zip(tool_rows(12, layout="openai", seed=3), tool_rows(12, layout=layout, seed=3)):
        mine, theirs = normalized(openai), normalized(other)
        turns, tools = shape(mine)
        other_turns, other_tools = shape(theirs)
        if layout == "hermes":  # its system turn keeps the text around the <tools> block
            assert other_turns[0] == ("system", "You are a helpful assistant.", [], None)
            other_turns = other_turns[1:]
        assert other_turns == turns and other_tools == tools == TOOLS


def test_a_call_turn_without_words_is_a_reply():
    example = normalized(tool_rows(40, seed=4)[next(i for i, r in enumerate(tool_rows(40, seed=4))
                                                     if len(r["messages"]) > 2)])
    assert example["messages"][1]["content"] == "" and example["messages"][1]["tool_calls"]


def test_the_loss_falls_on_calls_and_answers_never_on_results_or_the_tool_list(demo_folder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(demo_folder)
    row = next(r for r in tool_rows(20, seed=5) if r["messages"][1].get("tool_calls")
               and r["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather")
    pieces = loss_pieces(tokenizer, normalized(row), max_length=1024)
    learned = "".join(text for text, kind in pieces if kind == "loss")
    read = "".join(text for text, kind in pieces if kind == "context")
    call = row["messages"][1]["tool_calls"][0]["function"]
    assert "<tool_call>" in learned and call["name"] in learned and row["messages"][-1]["content"] in learned
    assert "<tools>" in read and "get_weather" in read and "<tool_response>" in read  # the fallback layout
    result = row["messages"][2]["content"]
    assert result in read and result not in learned and "<tool_response>" not in learned  # read, not learned
    assert "<tools>" not in learned


def test_a_template_that_takes_tools_renders_them_itself(demo_folder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(demo_folder)
    tokenizer.chat_template = (  # a minimal tools-aware template in the shape of Qwen's
        "{% if tools %}TOOLS:{% for t in tools %}{{ t.function.name }};{% endfor %}\n{% endif %}"
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}"
        "{% for c in m.tool_calls or [] %}CALL {{ c.function.name }} {{ c.function.arguments | tojson }}{% endfor %}"
        "</{{ m.role }}>\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
    row = next(r for r in tool_rows(20, seed=5) if r["messages"][1].get("tool_calls"))
    pieces = loss_pieces(tokenizer, normalized(row), max_length=1024)
    text = "".join(t for t, _ in pieces)
    assert text.startswith("TOOLS:get_weather;set_timer;convert_currency;") and "<tool_call>" not in text
    learned = "".join(t for t, kind in pieces if kind == "loss")
    result_turn = f"<tool>{row['messages'][2]['content']}</tool>"
    assert "CALL " in learned and result_turn in text and "<tool>" not in learned


BAD_ROWS = [
    ("tool_arguments_not_json", {"name": "get_weather", "arguments": "{city: Paris"}),
    ("tool_undeclared", {"name": "get_wether", "arguments": {"city": "Paris"}}),
    ("tool_arguments_schema", {"name": "set_timer", "arguments": {"minutes": "ten"}}),
]


def test_malformed_tool_records_are_flagged_by_row_and_safe_ones_fixed(tmp_path):
    rows = tool_rows(6, seed=6)
    for code, call in BAD_ROWS:
        arguments = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
        rows.append({"tools": TOOLS, "messages": [
            {"role": "user", "content": "Do it."},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c9", "type": "function", "function": {"name": call["name"], "arguments": arguments}}]},
            {"role": "tool", "tool_call_id": "c9", "content": "ok"}, {"role": "assistant", "content": "Done."}]})
    rows.append({"tools": TOOLS, "messages": [  # a result with no call before it
        {"role": "user", "content": "Hi"}, {"role": "tool", "content": "stray"},
        {"role": "assistant", "content": "Hello."}]})
    rows.append({"tools": TOOLS, "messages": [  # a result answering an id no call has
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        {"role": "tool", "tool_call_id": "zz", "content": "20C"}, {"role": "assistant", "content": "20C."}]})
    rows.append({"tools": TOOLS, "messages": [  # a call left without its result
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a2", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        {"role": "assistant", "content": "It is sunny."}]})
    path = write_rows(tmp_path / "tools.jsonl", rows)
    report = validate_file(path, min_examples=1)
    found = {(r.code, r.row) for r in report.results if r.code.startswith("tool")}
    assert found == {("tool_arguments_not_json", 7), ("tool_undeclared", 8), ("tool_arguments_schema", 9),
                     ("tool_result_without_call", 10), ("tool_id_mismatch", 11), ("tool_result_missing", 12)}
    by_code = {r.code: r for r in report.results}
    assert "'get_wether'" in by_code["tool_undeclared"].message and "minutes" in by_code["tool_arguments_schema"].message
    assert by_code["tool_result_without_call"].auto_fixable and by_code["tool_id_mismatch"].auto_fixable
    assert not by_code["tool_arguments_not_json"].auto_fixable and report.rows_usable == 6
    fixed = repair_file(path, tmp_path / "fixed.jsonl")
    assert fixed.counts["fixed_tool_turn"] == 2 and fixed.counts["dropped_bad_tool_call"] == 4
    again = validate_file(tmp_path / "fixed.jsonl", min_examples=1)
    assert again.errors == 0 and again.rows_usable == 8 and again.schema.name == "openai"
    written = [json.loads(line) for line in (tmp_path / "fixed.jsonl").read_text().splitlines()]
    assert written[-1]["messages"][2]["tool_call_id"] == "a1"  # the wrong id was given the waiting call's


def test_calls_are_read_back_from_what_a_model_writes():
    hermes = 'Sure.\n<tool_call>\n{"name": "set_timer", "arguments": {"minutes": 5}}\n</tool_call>'
    assert calls_in_text(hermes) == ([{"name": "set_timer", "arguments": {"minutes": 5}}], True)
    assert calls_in_text('{"name": "get_weather", "parameters": {"city": "Oslo"}}') == \
        ([{"name": "get_weather", "arguments": {"city": "Oslo"}}], True)
    assert calls_in_text("<tool_call>{name: x}</tool_call>") == ([{"name": "", "arguments": None}], False)
    assert calls_in_text("It is sunny.") == ([], True)
    assert calls_match([{"name": "a", "arguments": {"n": 1, "m": "x"}}], [{"name": "a", "arguments": {"m": "x", "n": 1.0}}])
    assert not calls_match([{"name": "a", "arguments": {"n": 1}}], [{"name": "a", "arguments": {"n": 2}}])


def test_tool_accuracy_counts_calls_and_quiet_answers():
    examples = [normalized(r) for r in tool_rows(30, seed=7)]
    cases = tool_cases(examples)
    perfect = ["\n".join(f"<tool_call>{json.dumps(c)}</tool_call>" for c in case["expected"]) or "Hello."
               for case in cases]
    scores = score_answers(cases, perfect)
    assert scores["accuracy"] == 1.0 and scores["call_cases"] + scores["no_call_cases"] == len(cases) == 30
    assert 0 < scores["no_call_cases"] < 30 and scores["valid_json_rate"] == 1.0
    silent = score_answers(cases, ["I cannot."] * len(cases))
    assert silent["call_accuracy"] == 0.0 and silent["no_call_accuracy"] == 1.0


def test_a_tool_whose_own_schema_is_broken_is_said_once_and_never_a_traceback(tmp_path):
    broken = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "obj"}}}]
    row = {"tools": broken, "messages": [
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
        {"role": "tool", "tool_call_id": "a1", "content": "20C"}, {"role": "assistant", "content": "20C."}]}
    report = validate_file(write_rows(tmp_path / "t.jsonl", [row]), min_examples=1)
    [said] = [r for r in report.results if r.code == "tool_schema_invalid"]
    assert said.level == "warning" and said.row == 1 and "get_weather" in said.message and report.rows_usable == 1
