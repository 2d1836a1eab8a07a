"""The wizard's checker use case (GRPO), driven with qtbot on the real pages: a file of prompts, the reward page
(built-in checkers, the user's own file behind consent, a real preview with the demo model), then launch."""
import json

import pytest
from PySide6.QtCore import Qt

from peftstudio.engine.planning.hardware import hardware_profile
from peftstudio.ui.wizard.wizard import TrainingWizard

PROMPTS = ["Name a fruit.", "Say hello.", "Name a colour.", "Give a number.", "Name an animal.", "Say goodbye."]


@pytest.fixture
def wizard(qtbot):
    wizard = TrainingWizard(hardware_profile())
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.jsonl"
    rows = [{"prompt": p} for p in PROMPTS * 4] + [{"note": "no prompt here"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def to_rewards_page(qtbot, wizard, dataset):
    qtbot.mouseClick(wizard.use_case_page.cards["skill-checker"], Qt.LeftButton)
    assert wizard.state.config.training_method == "grpo"
    wizard.next()
    wizard.dataset_page.set_dataset(str(dataset))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=60_000)
    wizard.next()
    assert wizard.currentPage() is wizard.model_page
    wizard.next()
    assert wizard.currentPage() is wizard.rewards_page
    return wizard.rewards_page


def test_a_file_of_prompts_is_a_good_dataset_for_the_checker_use_case(qtbot, wizard, prompts_file):
    qtbot.mouseClick(wizard.use_case_page.cards["skill-checker"], Qt.LeftButton)
    wizard.next()
    wizard.dataset_page.set_dataset(str(prompts_file))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=60_000)
    page = wizard.dataset_page
    assert "24 prompts of 25" in page.summary.text()
    assert wizard.state.dataset_report.errors == 0  # rows without a prompt are skipped, not errors
    issues = [page.issues.item(i).text() for i in range(page.issues.count())]
    assert any("Row 25 has no prompt" in text for text in issues)
    assert any("No reference answers" in text for text in issues)
    assert page.table.horizontalHeaderItem(2).text() == "Reference answer"
    assert page.table.item(0, 1).text() == "Name a fruit."
    assert page.validatePage()


def test_rewards_page_choose_preview_and_launch(qtbot, wizard, prompts_file):
    page = to_rewards_page(qtbot, wizard, prompts_file)
    assert "answers per prompt" in page.why["num_generations"].text()
    # a wrong argument is said plainly, and Next stays
    page.on["length"].setChecked(True)
    page.arguments["length"].setText("min=3,max=lots")
    assert not page.validatePage()
    assert "min and max must be numbers" in page.message.text()
    page.arguments["length"].setText("min=2,max=6")
    page.on["format"].setChecked(True)
    page.weights["format"].setValue(0.5)
    assert page.apply()
    assert wizard.state.config.rewards == ["length:min=2,max=6", "format*0.5"]
    # the planner sizes the answers from the length window: 6 words ~ 9 tokens, plus room to see overruns
    assert "up to 6 words" in page.why["max_completion_length"].text()
    assert page.numbers["max_completion_length"].value() == wizard.state.config.max_completion_length == 25
    page.numbers["num_generations"].setValue(2)
    page.numbers["max_completion_length"].setValue(12)
    assert page.apply()  # the user's own values are kept over the planner's
    assert wizard.state.config.max_completion_length == 12 and wizard.state.config.num_generations == 2
    assert page.why["max_completion_length"].text().startswith("Set by you")

    page.preview()  # the real base model answers; a format reward it never meets is warned about
    qtbot.waitUntil(lambda: not page.busy, timeout=240_000)
    assert page.message.text() == ""
    table = page.table
    headers = [table.horizontalHeaderItem(i).text() for i in range(table.columnCount())]
    assert headers == ["Row", "Prompt", "Answer", "length(min=2,max=6)", "format", "Total"]
    assert table.rowCount() == 8 * 2
    totals = [float(table.item(r, 5).text()) for r in range(table.rowCount())]
    assert all(0.0 <= t <= 1.5 for t in totals)
    assert "Mean reward of the base model" in page.status.text()

    wizard.next()
    assert wizard.currentPage() is wizard.config_page
    wizard.next()
    summary = wizard.review_page.summary.text()
    assert "length:min=2,max=6, format*0.5" in summary and "2 per prompt, up to 12 tokens" in summary
    with qtbot.waitSignal(wizard.launch_requested, timeout=5000) as launched:
        wizard.button(wizard.WizardButton.FinishButton).click()
    config = launched.args[0]
    assert config.training_method == "grpo" and config.rewards == ["length:min=2,max=6", "format*0.5"]
    assert config.problems() == []


def test_the_users_reward_file_needs_consent_on_the_page(qtbot, wizard, prompts_file, tmp_path):
    from peftstudio.engine.consent import has_code_consent

    reward = tmp_path / "my_reward.py"
    reward.write_text("def reward(prompt, completion, **row):\n    return float(len(completion) < 40)\n")
    page = to_rewards_page(qtbot, wizard, prompts_file)
    page.reward_file.setText(str(reward))
    assert not page.validatePage()
    assert "Allow this file to run" in page.message.text()
    assert not has_code_consent(reward)
    page.allow.setChecked(True)
    assert page.validatePage()
    assert has_code_consent(reward)
    assert wizard.state.config.rewards == ["file"] and wizard.state.config.reward_file == str(reward)


def test_other_use_cases_skip_the_rewards_page(qtbot, wizard, tmp_path):
    from helpers import signature_rows

    dataset = tmp_path / "sig.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in signature_rows(20)) + "\n")
    qtbot.mouseClick(wizard.use_case_page.cards["chatbot"], Qt.LeftButton)
    wizard.next()
    wizard.dataset_page.set_dataset(str(dataset))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=60_000)
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.config_page
    assert wizard.state.config.training_method == "sft"
