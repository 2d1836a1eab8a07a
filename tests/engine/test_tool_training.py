"""An agent taught on the demo model: a generated tool-calling dataset (three tools, rows that need no call), the
tools in the system prompt (the demo's template has none of its own), and tool-call accuracy on held-back
conversations whose argument values no training row has. Then the same run through `eval --json` (its `tools`
section) and `chat --tools --json` (the calls parsed)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import small_config
from peftstudio.engine.data.schema import guess_schema, normalize_row
from peftstudio.engine.evaluation.tool_accuracy import tool_accuracy, tool_cases
from peftstudio.engine.runs.events import Status
from peftstudio.engine.training.session import TrainingSession
from tool_datasets import TOOLS, tool_rows, write_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def agent_run(tmp_path_factory):
    """About 2 minutes on 2 CPU cores: 80 conversations, 20 steps of 4 (one epoch)."""
    folder = tmp_path_factory.mktemp("agent")
    dataset = write_rows(folder / "tools.jsonl", tool_rows(80, held=False, seed=1))
    session = TrainingSession.create(small_config(dataset, max_steps=20, batch_size=4, learning_rate=2e-3,
                                                  max_seq_length=384, lora_r=16, lora_alpha=32, save_steps=20,
                                                  validation_split=0.1, eval_strategy="no"))
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    return session


@pytest.fixture(scope="module")
def held_back_accuracy(agent_run):
    from peftstudio.engine.inference import ChatModel

    held = tool_rows(24, held=True, seed=2)  # cities, minutes, amounts and currencies no training row has
    cases = tool_cases([normalize_row(r, guess_schema([r])) for r in held])
    chat = ChatModel(agent_run.folder.path)
    with chat.using():
        return (tool_accuracy(chat.model, chat.tokenizer, cases, use_adapter=False),
                tool_accuracy(chat.model, chat.tokenizer, cases, use_adapter=True))


def test_tool_call_accuracy_rises_from_near_zero_to_a_clear_majority(held_back_accuracy):
    base, tuned = held_back_accuracy
    assert base["call_cases"] >= 12 and base["no_call_cases"] >= 3
    assert base["call_accuracy"] <= 0.1  # the demo model has never seen these tools
    assert tuned["call_accuracy"] >= 0.6 and tuned["name_accuracy"] >= 0.8
    assert tuned["no_call_accuracy"] >= 0.6  # and it still answers a greeting without calling anything
    assert tuned["valid_json_rate"] >= 0.9
    print("held-back tool calls, base -> tuned:", {k: (base[k], tuned[k]) for k in ("call_accuracy", "no_call_accuracy",
                                                                            "name_accuracy")})


def test_eval_scores_tool_calls_base_and_tuned(agent_run):
    done = subprocess.run([sys.executable, "-m", "peftstudio", "eval", str(agent_run.folder.path), "--no-skills",
                           "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    tools = json.loads(done.stdout)["tools"]
    assert tools["cases"] == 8  # a tenth of the 80 rows, the run's own held-back split
    for side in ("base", "tuned"):
        assert set(tools[side]) >= {"accuracy", "call_accuracy", "no_call_accuracy", "name_accuracy",
                                    "valid_json_rate"}
    assert tools["tuned"]["accuracy"] > tools["base"]["accuracy"]
    assert tools["samples"] and all("expected" in s for s in tools["samples"])


def test_chat_with_tools_returns_the_calls_parsed(agent_run, tmp_path):
    tools_file = tmp_path / "tools.json"
    tools_file.write_text(json.dumps([t["function"] for t in TOOLS]))
    done = subprocess.run([sys.executable, "-m", "peftstudio", "chat", str(agent_run.folder.path), "--tools",
                           str(tools_file), "--prompt", "What is the weather in Paris?", "--temperature", "0",
                           "--compare-base", "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["tuned_tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    assert isinstance(result["base_tool_calls"], list) and "<tool_call>" in result["tuned"]
    bad = subprocess.run([sys.executable, "-m", "peftstudio", "chat", str(agent_run.folder.path), "--tools",
                          str(tmp_path / "missing.json"), "--prompt", "hi", "--json"],
                         capture_output=True, text=True, timeout=900)
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"]["title"] == "The tools file cannot be read"
    assert "Traceback" not in bad.stderr


def test_the_exported_agent_calls_tools_in_llama_cpp_at_q4_k_m(agent_run, tmp_path):
    """The Done-when's last number: the same held-back conversations, answered by the Q4_K_M file in llama.cpp
    from the prompt its own chat template writes."""
    from peftstudio.engine.export import export_run
    from peftstudio.engine.export.ollama import parse_modelfile

    result = export_run(agent_run.folder.path, "ollama", tmp_path / "agent", quant="q4_k_m")
    assert result.ok, result.report.problem
    tools = result.report.tools
    assert tools["template_exact"] == tools["template_compared"] == 8  # the run's held-back rows
    assert tools["call_cases"] >= 4 and tools["call_accuracy"] >= 0.5, tools
    modelfile = parse_modelfile((result.folder / "Modelfile").read_text(encoding="utf-8"))
    assert "$.Tools" in modelfile["template"] and "{{ if .ToolCalls }}<tool_call>" in modelfile["template"]
    assert result.details["ollama_template"] == "translated, with tools"
    assert "## Tool calls" in (result.folder / "VERIFICATION.md").read_text(encoding="utf-8")
    print("Q4_K_M in llama.cpp:", {k: tools[k] for k in ("call_accuracy", "no_call_accuracy", "call_cases",
                                                          "no_call_cases", "valid_json_rate")})


def test_the_playground_shows_the_call_as_a_card_and_goes_on_with_a_mocked_result(qtbot, agent_run):
    from PySide6.QtCore import QUrl

    from peftstudio.ui.playground import PlaygroundWidget

    playground = PlaygroundWidget(agent_run.folder.path)
    qtbot.addWidget(playground)
    playground.show()
    assert "get_weather" in playground.tools_panel.editor.toPlainText()  # the run's own tools, to start with
    playground.sampling_form.widgets["temperature"].setValue(0)
    playground.input.setText("What is the weather in Paris?")
    playground.send_button.click()
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=300_000)
    call = playground.history[-1]["tool_calls"][0]
    assert (call["name"], call["arguments"]) == ("get_weather", {"city": "Paris"})
    shown = playground.transcript.toPlainText()
    assert "Calls get_weather" in shown and "<tool_call>" not in shown  # a card, not the raw text
    assert playground.tools_panel.result_row.isVisible()
    playground.tools_panel.mock_button.click()  # a stand-in result, and the conversation goes on
    qtbot.waitUntil(lambda: playground.worker.isFinished() and playground.history[-1]["role"] == "assistant"
                    and not playground.history[-1].get("tool_calls"), timeout=300_000)
    roles = [m["role"] for m in playground.history]
    assert roles == ["user", "assistant", "tool", "assistant"] and playground.history[2]["tool_call_id"] == call["id"]
    assert "Tool result:" in playground.transcript.toPlainText()
    assert not playground.tools_panel.result_row.isVisible()

    # a reasoning block is folded under a link that unfolds it; what the model wrote is escaped
    playground.transcript.append("<p><b>Fine-tuned:</b> ")
    playground._answer_start = len(playground.transcript.toPlainText())
    playground._answer("tuned", "<think>Oslo is <b>cold</b> in winter.</think>Take a coat.")
    assert "Reasoning (5 words): show" in playground.transcript.toPlainText()
    assert "Oslo is" not in playground.transcript.toPlainText().split("Reasoning")[-1]
    assert not playground.reasoning_view.isVisible()
    playground.transcript.anchorClicked.emit(QUrl("reasoning:0"))
    assert playground.reasoning_view.isVisible()
    assert playground.reasoning_view.toPlainText() == "Oslo is <b>cold</b> in winter."
    playground.transcript.anchorClicked.emit(QUrl("reasoning:0"))
    assert not playground.reasoning_view.isVisible()
    playground.tools_panel.editor.setPlainText("[not json")
    assert "Not a list of functions" in playground.tools_panel.status.text()
