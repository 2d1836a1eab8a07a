"""The real wizard, driven with qtbot, on dataset files written by the tests and the demo model."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from helpers import signature_rows
from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.planning.hardware import hardware_profile
from peftstudio.engine.history.presets import Preset, load_preset, save_preset
from peftstudio.engine.config import form_settings, setting
from peftstudio.ui.wizard.wizard import TrainingWizard


def write_rows(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def wizard(qtbot):
    wizard = TrainingWizard(hardware_profile())
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def choose_dataset(qtbot, wizard, path):
    wizard.dataset_page.set_dataset(str(path))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=120_000)


def test_through_every_page_to_launch(qtbot, wizard, tmp_path):
    dataset = write_rows(tmp_path / "signature.jsonl", signature_rows(80))
    qtbot.mouseClick(wizard.use_case_page.cards["question-answering"], Qt.LeftButton)
    assert wizard.state.profile_id == "question-answering"
    wizard.next()
    assert wizard.currentPage() is wizard.dataset_page
    choose_dataset(qtbot, wizard, dataset)
    assert "80 usable examples" in wizard.dataset_page.summary.text()
    assert wizard.dataset_page.table.rowCount() == 50  # the preview
    assert wizard.state.dataset_stats.examples == 80
    wizard.next()
    assert wizard.currentPage() is wizard.model_page
    assert wizard.state.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    badges = {wizard.model_page.table.item(i, 0).text(): wizard.model_page.table.item(i, 3).text()
              for i in range(wizard.model_page.table.rowCount())}
    assert badges["SmolLM2 135M"] == "fits"
    wizard.next()
    assert wizard.currentPage() is wizard.config_page
    assert wizard.config_page.widgets["learning_rate"].value() == pytest.approx(1e-4)  # the QA profile's
    assert "95% of your examples" in wizard.config_page.why["max_seq_length"].text()
    assert "Time: about" in wizard.config_page.estimates.text()
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    assert "signature.jsonl (80 examples)" in wizard.review_page.summary.text()
    assert wizard.review_page.alternative_buttons
    # journey finding 6: too little data is said before Launch, where it matters
    assert "Too little data" in wizard.review_page.summary.text() and "Only 80 usable examples" in \
        wizard.review_page.summary.text()
    # journey finding 8: the model is named here (default: the dataset's name), cleaned for files and Ollama
    assert wizard.review_page.model_name.text() == "signature"
    wizard.review_page.model_name.setText("Support Bot!")
    with qtbot.waitSignal(wizard.launch_requested, timeout=5000) as launched:
        wizard.button(wizard.WizardButton.FinishButton).click()
    config = launched.args[0]
    assert wizard.state.version_name == "support-bot"
    assert config.dataset_path == str(dataset) and config.model_name == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert config.problems() == []


def test_back_and_forth_with_a_dataset_change_keeps_the_users_edits(qtbot, wizard, tmp_path):
    big = write_rows(tmp_path / "big.jsonl", signature_rows(300))
    small = write_rows(tmp_path / "small.jsonl", signature_rows(40))
    wizard.next()
    choose_dataset(qtbot, wizard, big)
    wizard.next()
    wizard.next()
    assert wizard.config_page.widgets["epochs"].value() == 3  # the profile's
    wizard.config_page.widgets["lora_r"].setValue(8)  # the user's own choice
    wizard.back()
    wizard.back()
    assert wizard.currentPage() is wizard.dataset_page
    choose_dataset(qtbot, wizard, small)
    wizard.next()
    wizard.next()
    assert wizard.config_page.widgets["epochs"].value() == 6  # re-planned for 40 examples
    assert wizard.config_page.widgets["lora_r"].value() == 8  # not lost
    assert wizard.state.config.dataset_path == str(small)


def test_an_invalid_dataset_blocks_next_with_a_message(qtbot, wizard, tmp_path):
    wizard.next()
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"instruction": "a", "output": "b"}\n{"instruction": oops\n', encoding="utf-8")
    choose_dataset(qtbot, wizard, broken)
    wizard.next()
    assert wizard.currentPage() is wizard.dataset_page
    assert "problem(s) marked ERROR" in wizard.dataset_page.message.text()
    assert wizard.dataset_page.fix_button.isVisible()
    qtbot.mouseClick(wizard.dataset_page.fix_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=60_000)
    assert wizard.state.dataset_path.endswith("broken.fixed.jsonl")
    wizard.next()
    assert wizard.currentPage() is wizard.model_page  # the repaired copy lets the user through

    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(100)))
    wizard.back()
    choose_dataset(qtbot, wizard, image)
    wizard.next()
    assert wizard.currentPage() is wizard.dataset_page
    assert "This file cannot be used" in wizard.dataset_page.message.text()


def test_no_dataset_means_a_message_not_a_silent_button(qtbot, wizard):
    wizard.next()
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    assert wizard.currentPage() is wizard.dataset_page
    assert wizard.dataset_page.message.text() == "Choose a dataset file to continue."


# **Feature: simplified-llm-optimization, Property 16: Configuration save/load round-trip**
def test_a_preset_saved_in_the_wizard_reloads_every_choice(qtbot, wizard, tmp_path):
    dataset = write_rows(tmp_path / "d.jsonl", signature_rows(60))
    qtbot.mouseClick(wizard.use_case_page.cards["creative-writing"], Qt.LeftButton)
    wizard.next()
    choose_dataset(qtbot, wizard, dataset)
    wizard.next()
    wizard.next()
    wizard.config_page.widgets["lora_r"].setValue(12)
    wizard.config_page.widgets["seed"].setValue(7)
    wizard.next()
    wizard.save_preset("my poems")
    saved = wizard.state.config

    fresh = TrainingWizard(hardware_profile())
    qtbot.addWidget(fresh)
    fresh.show()
    fresh.load_preset("my poems")
    assert fresh.state.profile_id == "creative-writing"
    assert fresh.state.config == saved
    assert fresh.state.model_id == saved.model_name and fresh.state.dataset_path == str(dataset)
    qtbot.waitUntil(lambda: not fresh.dataset_page.busy, timeout=60_000)
    fresh.next()
    fresh.next()
    fresh.next()
    assert fresh.currentPage() is fresh.config_page
    assert fresh.config_page.widgets["lora_r"].value() == 12 and fresh.state.config == saved


@settings(max_examples=100, deadline=None)
@given(st.builds(TrainingConfig, model_name=st.text(min_size=1, max_size=30).filter(str.strip),
                 dataset_path=st.text(max_size=40), lora_r=st.integers(1, 256), lora_alpha=st.integers(1, 512),
                 learning_rate=st.floats(1e-6, 1e-3), batch_size=st.integers(1, 128), epochs=st.floats(0.1, 100),
                 seed=st.integers(0, 2**31)),
       st.sampled_from(["chatbot", "code-generation", "summarization"]), st.text(min_size=1, max_size=20))
def test_preset_round_trip_for_any_configuration(config, profile_id, name):
    if not name.strip():
        name = "preset"
    save_preset(Preset(name, profile_id, config))
    loaded = load_preset(name)
    assert loaded.config == config and loaded.profile_id == profile_id


# **Feature: simplified-llm-optimization, Property 2: Configuration tooltips completeness**
def test_every_setting_on_the_configuration_page_has_a_plain_tooltip(qtbot, wizard):
    page = wizard.config_page
    page.initializePage()
    inputs = (QSpinBox, QDoubleSpinBox, QComboBox, QCheckBox, QLineEdit)
    shown = [w for kind in inputs for w in page.findChildren(kind) if w.objectName().startswith("train.")]
    assert len(shown) == len(form_settings()) == len(page.widgets)
    for widget in shown:
        tip = widget.toolTip()
        assert len(tip) > 30, widget.objectName()
        assert tip == setting(widget.objectName().removeprefix("train.")).help
        assert "_" not in tip  # plain words, not field names


def test_a_local_model_without_a_chat_template_is_flagged(qtbot, wizard, demo_folder, tmp_path):
    import shutil

    local = tmp_path / "my-base-model"
    local.mkdir()
    for name in ("config.json", "model.safetensors"):
        (local / name).symlink_to(demo_folder / name)
    shutil.copy(demo_folder / "tokenizer.json", local / "tokenizer.json")
    wizard.next()
    wizard.dataset_page.set_dataset(str(write_rows(tmp_path / "d.jsonl", signature_rows(60))))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=60_000)
    wizard.next()
    wizard.model_page.add_local_model(str(local))
    assert wizard.state.model_id == str(local)
    assert "no chat template" in wizard.model_page.warning.text()
    row = next(r for r in wizard.model_page.rows if r["id"] == str(local))
    assert row["params"] == 134_515_008 and row["badge"] == "fits"


def test_flagged_rows_beyond_the_preview_can_be_seen_and_the_repair_says_what_it_did(qtbot, wizard, tmp_path):
    """Journey finding 9, on a 60-row support file whose problems sit at rows 58-61."""
    rows = [{"instruction": f"How do I reset password number {i}?", "output": f"Open settings, step {i}."}
            for i in range(57)]
    rows.append({"instruction": "Where is my order?", "output": ""})  # an empty answer (line 58)
    rows.append(dict(rows[3]))  # an exact duplicate (line 59)
    rows.append({"instruction": "Can I pay by card?", "output": "Yes, we accept cards â€” all of them."})  # mojibake
    rows.append({"instruction": "Opening hours?", "output": "Nine to five."})
    dataset = write_rows(tmp_path / "shop.jsonl", rows)
    wizard.next()
    choose_dataset(qtbot, wizard, dataset)
    page = wizard.dataset_page
    assert "1 error," in page.summary.text()  # not "1 errors"
    shown = [page.table.item(r, 0).text() for r in range(page.table.rowCount())]
    assert {"58", "59", "60"} <= set(shown)  # beyond the first 50, because problems point at them
    empty = next(i for i in range(page.issues.count()) if "empty" in page.issues.item(i).text())
    page.issues.itemClicked.emit(page.issues.item(empty))
    assert page.table.item(page.table.currentRow(), 0).text() == "58"
    qtbot.mouseClick(page.fix_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not page.busy, timeout=60_000)
    note = page.repair_note.text()
    assert f"Repaired copy written to {tmp_path / 'shop.fixed.jsonl'}" in note and "original file is unchanged" in note
    assert "row 58" in note
    assert wizard.state.version_name == "shop"  # the model is not named after the repaired copy


def test_small_wording_fixes_on_the_settings_and_review_pages(qtbot, wizard, tmp_path):
    """Journey finding 13: hints follow edits, plain method and estimate words, the cost names its basis,
    and a catalog model that is not here says it needs a download."""
    dataset = write_rows(tmp_path / "signature.jsonl", signature_rows(80))
    wizard.next()
    choose_dataset(qtbot, wizard, dataset)
    wizard.next()
    rows = {wizard.model_page.table.item(i, 0).text(): i for i in range(wizard.model_page.table.rowCount())}
    notes_column = next(c for c in range(wizard.model_page.table.columnCount())
                        if wizard.model_page.table.horizontalHeaderItem(c).text().lower().startswith("note"))
    assert "download" in wizard.model_page.table.item(rows["Qwen3 8B"], notes_column).text()
    assert "download" not in wizard.model_page.table.item(rows["SmolLM2 135M"], notes_column).text()
    wizard.next()
    page = wizard.config_page
    page.widgets["max_steps"].setValue(24)
    assert page.why["max_steps"].text().startswith("Set by you")
    assert "20 steps" not in " ".join(label.text() for label in page.why.values())
    assert "at your electricity price" in page.estimates.text() and "≈" not in page.estimates.text()
    wizard.next()
    summary = wizard.review_page.summary.text()
    assert "LoRA, rank" in summary and "LORA" not in summary
    assert "flops" not in summary and ("measured on this machine" in summary or "estimated from the model" in summary)


def test_checking_a_file_says_what_it_waits_for(qtbot, wizard, tmp_path):
    """Journey finding 5: the dataset check names each stage (the tokenizer, the one-time model conversion)."""
    dataset = write_rows(tmp_path / "signature.jsonl", signature_rows(20))
    wizard.next()
    seen = []
    original = wizard.dataset_page._progress
    wizard.dataset_page._progress = lambda message: (seen.append(message), original(message))
    choose_dataset(qtbot, wizard, dataset)
    assert seen[0].startswith("Reading the model's tokenizer") and seen[-1] == "Checking your file..."
    assert "usable examples" in wizard.dataset_page.summary.text()  # the stage text gives way to the result


def test_the_preview_highlights_exactly_the_tokens_the_model_learns(qtbot, wizard, tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"What is {i}+{i}? <b>not bold</b>"},
                          {"role": "assistant", "content": f"<think>\nAdd {i} and {i}.\n</think>\n\n{2 * i}."}]}
            for i in range(30)]
    wizard.state.config.thinking = "context"
    choose_dataset(qtbot, wizard, write_rows(tmp_path / "reasoning.jsonl", rows))
    page = wizard.dataset_page
    page.table.setCurrentCell(3, 1)
    assert page.loss_view.learned == "6.<|im_end|>\n"  # the thinking is read, not learned, in "context" mode
    shown = page.loss_view.text.toPlainText()
    assert "Add 3 and 3." in shown and "<b>not bold</b>" in shown  # the user's text, escaped, never markup
    assert "include thinking blocks" in page.summary.text() and "context: read only" in page.summary.text()
    page.loss_view.text.grab().save(str(tmp_path / "loss-view.png"))


def test_a_preference_file_is_previewed_side_by_side_and_chooses_its_method(qtbot, wizard, tmp_path):
    rows = [{"prompt": f"What is {i} plus {i}?", "chosen": f"{2 * i}. Cheers!", "rejected": f"{2 * i}."}
            for i in range(60)]
    choose_dataset(qtbot, wizard, write_rows(tmp_path / "pairs.jsonl", rows))
    page = wizard.dataset_page
    headers = [page.table.horizontalHeaderItem(i).text() for i in range(page.table.columnCount())]
    assert headers == ["Row", "Prompt", "Chosen", "Rejected"]
    assert page.table.item(2, 2).text() == "4. Cheers!" and page.table.item(2, 3).text() == "4."
    assert "preference format" in page.summary.text()
    assert wizard.state.config.training_method == "dpo"  # pairs: DPO, unless the user chose otherwise
    assert any("as long as rejected" in page.issues.item(i).text() for i in range(page.issues.count()))
