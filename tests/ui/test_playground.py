"""The playground with the real demo model and a run that learned a signature."""
import json

from peftstudio.ui.playground import PlaygroundWidget


def test_streaming_side_by_side_stop_and_export(qtbot, signed_run, tmp_path):
    playground = PlaygroundWidget(signed_run)
    qtbot.addWidget(playground)
    playground.show()
    assert playground.examples.count() >= 4  # use-case prompts and prompts from the run's own data
    playground.compare.setChecked(True)
    playground.max_tokens.setValue(40)
    pieces = []
    playground.input.setText("What is 9 plus 9?")
    playground.send_button.click()
    playground.worker.token.connect(lambda which, piece: pieces.append(which))
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=300_000)
    qtbot.waitUntil(lambda: "tuned:" in playground.scores.text(), timeout=60_000)
    assert "Zorblax" in playground.transcript.toPlainText()
    assert "Zorblax" not in playground.answers["base"] and playground.answers["base"]
    assert pieces.count("base") > 1  # streamed piece by piece
    assert "base: perplexity" in playground.scores.text() and "Differences" in playground.scores.text()
    assert playground.history[-1] == {"role": "assistant", "content": playground.answers["tuned"]}

    playground.compare.setChecked(False)
    playground.max_tokens.setValue(400)
    playground.input.setText("Tell me a very long story about the sea and the stars.")
    playground.send_button.click()
    qtbot.waitUntil(lambda: len(playground.answers.get("tuned", "")) > 0, timeout=120_000)
    playground.stop_button.click()
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=120_000)
    assert len(playground.answers["tuned"].split()) < 150  # stopped well before 400 tokens

    conversation_id = playground.save()
    assert conversation_id >= 1
    playground.export("json", str(tmp_path / "c.json"))
    playground.export("md", str(tmp_path / "c.md"))
    assert json.loads((tmp_path / "c.json").read_text())["messages"][0]["content"] == "What is 9 plus 9?"
    assert "**User:** What is 9 plus 9?" in (tmp_path / "c.md").read_text()
