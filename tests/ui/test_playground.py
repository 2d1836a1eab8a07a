"""The playground with the real demo model and a run that learned a signature."""
import json

from peftstudio.ui.playground import PlaygroundWidget


def test_streaming_side_by_side_stop_and_export(qtbot, signed_run, tmp_path):
    playground = PlaygroundWidget(signed_run)
    qtbot.addWidget(playground)
    playground.show()
    assert playground.examples.count() >= 4  # use-case prompts and prompts from the run's own data
    playground.compare.setChecked(True)
    playground.sampling_form.widgets["max_new_tokens"].setValue(40)
    pieces = []
    playground.input.setText("What is 9 plus 9?")
    playground.send_button.click()
    playground.worker.token.connect(lambda which, piece: pieces.append(which))
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=300_000)
    qtbot.waitUntil(lambda: "How sure it is" in playground.scores.text(), timeout=60_000)
    assert "Zorblax" in playground.transcript.toPlainText()
    assert "Zorblax" not in playground.answers["base"] and playground.answers["base"]
    assert pieces.count("base") > 1  # streamed piece by piece
    # journey finding 10: plain words that say which way is better, headed panes, the differences marked
    scores = playground.scores.text()
    assert "lower is surer" in scores and "(base model:" in scores and "says differently" in scores
    assert "perplexity" not in scores.lower().split("how sure")[0]
    assert playground.findChild(type(playground.scores), "playground.base.header").text() == \
        "<b>Base model (before fine-tuning)</b>"
    assert playground.history[-1] == {"role": "assistant", "content": playground.answers["tuned"]}
    # the base model answers its own conversation, never the fine-tuned model's signed replies
    assert playground.side_histories["base"][-1] == {"role": "assistant", "content": playground.answers["base"]}
    assert all("Zorblax" not in m["content"] for m in playground.side_histories["base"])
    playground.input.setText("And 2 plus 2?")
    playground.send_button.click()
    assert playground.scores.text() == "Answering..."  # the last answer's scores go at once
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=300_000)

    playground.compare.setChecked(False)
    playground.sampling_form.widgets["max_new_tokens"].setValue(400)
    playground.input.setText("Tell me a very long story about the sea and the stars.")
    playground.send_button.click()
    qtbot.waitUntil(lambda: len(playground.answers.get("tuned", "")) > 0, timeout=120_000)
    playground.stop_button.click()
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=120_000)
    assert len(playground.answers["tuned"].split()) < 150  # stopped well before 400 tokens

    conversation_id = playground.save()
    assert conversation_id >= 1 and f"Saved as conversation {conversation_id}" in playground.scores.text()
    playground.export("json", str(tmp_path / "c.json"))
    playground.export("md", str(tmp_path / "c.md"))
    assert json.loads((tmp_path / "c.json").read_text())["messages"][0]["content"] == "What is 9 plus 9?"
    assert "**User:** What is 9 plus 9?" in (tmp_path / "c.md").read_text()


def test_playground_answers_with_the_exported_gguf_through_llama_cpp(qtbot, signed_run, tmp_path):
    """The run's own GGUF export is offered at once; its answer streams beside the tuned one, with tokens/s."""
    import pytest

    from peftstudio.engine.export import export_run, llama_cpp_available

    if not llama_cpp_available():
        pytest.skip("llama-cpp-python is a test dependency")
    export_run(signed_run, "gguf", tmp_path / "gguf", quant="q8_0", verify=False)
    playground = PlaygroundWidget(signed_run)
    qtbot.addWidget(playground)
    playground.show()
    assert playground.gguf_path is not None and playground.gguf_path.parent == tmp_path / "gguf"
    playground.gguf_check.setChecked(True)
    assert playground.gguf_view.isVisible() and playground.findChild(
        type(playground.scores), "playground.gguf.header").isVisible()
    playground.sampling_form.widgets["max_new_tokens"].setValue(40)
    playground.input.setText("What is 9 plus 9?")
    playground.send_button.click()
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=300_000)
    gguf_text = playground.gguf_view.toPlainText()
    assert "(llama.cpp)" in gguf_text and "tokens/s]" in gguf_text
    assert "Zorblax" in playground.answers["gguf"], playground.answers  # the export learned what the run learned
    playground.grab().save(str(tmp_path / "playground-gguf.png"))


def test_feedback_in_the_playground_trains_the_next_version(qtbot, signed_run, tmp_path):
    """Thumbs, "this one is better" and an edited answer are kept with the version; "Improve this version" turns
    them into a preference dataset that the wizard accepts and a DPO run trains on, as a child version."""
    from peftstudio.engine.history import read_feedback

    playground = PlaygroundWidget(signed_run)
    qtbot.addWidget(playground)
    bar = playground.feedback
    assert not bar.buttons["good"].isEnabled()  # nothing to judge before an answer
    playground.compare.setChecked(True)
    playground.sampling_form.widgets["max_new_tokens"].setValue(24)
    playground.input.setText("What is 4 plus 4?")
    playground.send_button.click()
    qtbot.waitUntil(lambda: playground.worker.isFinished(), timeout=300_000)
    assert bar.buttons["base_better"].isEnabled()
    before = len(read_feedback(signed_run))
    bar.buttons["bad"].click()
    bar.buttons["base_better"].click()
    bar.edit("4 plus 4 is 8.")
    kept = read_feedback(signed_run)[before:]
    assert [r["kind"] for r in kept] == ["thumbs", "pair", "edit"]
    assert kept[1]["chosen"] == playground.answers["base"] and kept[1]["rejected"] == playground.answers["tuned"]
    assert kept[0]["prompt"] == [{"role": "user", "content": "What is 4 plus 4?"}]
    assert "judgement" in bar.count.text()

    with qtbot.waitSignal(bar.improve_requested, timeout=10_000) as improved:
        bar.buttons["improve"].click()
    config, facts = improved.args
    assert config.training_method == "dpo" and config.parent_adapter == str(signed_run.resolve() / "adapter")
    assert facts["continued_from"]["run_id"] == signed_run.name

    # the wizard opens prefilled: the feedback as the dataset, DPO, the version's adapter to start from
    from peftstudio.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.settings.evaluate_after_run = False
    wizard = window.improve_version(config, facts)
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=120_000)
    assert "preference format" in wizard.dataset_page.summary.text()
    assert wizard.state.dataset_report.errors == 0
    for _ in range(4):
        wizard.next()
    assert wizard.currentPage() is wizard.review_page
    assert wizard.state.version_name == facts["version_name"] and wizard.state.annotations == facts
    with qtbot.waitSignal(wizard.launch_requested, timeout=5000) as launched:
        wizard.accept()  # the window launches it, as from any wizard
    config = launched.args[0]
    assert config.training_method == "dpo" and config.parent_adapter == str(signed_run.resolve() / "adapter")
    dashboard = window.dashboards[-1]
    qtbot.waitUntil(lambda: dashboard.status.text().startswith(("Finished", "Failed")), timeout=600_000)
    assert dashboard.status.text().startswith("Finished"), dashboard.status.text()
    from peftstudio.engine.history import default_store, list_versions, version_of_run

    parent = version_of_run(default_store(), signed_run)
    child = next(v for v in list_versions(default_store(), parent["model_name"])
                 if v["config"].get("training_method") == "dpo" and v["config"]["dataset_path"] == config.dataset_path)
    assert child["parent_version"] == parent["version"]
    major, minor, _ = parent["version"].split(".")
    assert child["version"].startswith(f"{major}.") and int(child["version"].split(".")[1]) > int(minor)
