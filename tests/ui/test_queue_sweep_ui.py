"""Issue 23 in the windows: Add to queue from the wizard, the home page's queue with its times, a queued run's
dashboard and notifications, a restart that goes on with an interrupted run, and a sweep from the settings page
to Keep the best (with History and Versions understanding it)."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from helpers import signature_rows, small_config
from peftstudio.engine.history import default_store, list_versions
from peftstudio.engine.training import DONE, RunQueue
from peftstudio.ui.main_window import MainWindow


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "signature.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in signature_rows(40)) + "\n", encoding="utf-8")
    return path


def open_window(qtbot) -> MainWindow:
    window = MainWindow()
    window.settings.evaluate_after_run = False
    qtbot.addWidget(window)
    window.show()
    return window


def wizard_at_settings(qtbot, window, dataset):
    wizard = window.new_fine_tune()
    qtbot.mouseClick(wizard.use_case_page.cards["question-answering"], Qt.LeftButton)
    wizard.next()
    wizard.dataset_page.set_dataset(str(dataset))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=120_000)
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.config_page
    for name, value in (("max_steps", 3), ("eval_steps", 1), ("save_steps", 100)):  # short runs
        wizard.model.set_setting(name, value)
    return wizard


def notes(window) -> list[str]:
    return [window.home_notes.item(i).text() for i in range(window.home_notes.count())]


def test_add_to_queue_from_the_wizard_then_the_queue_trains_it(qtbot, own_data_dir, dataset):
    window = open_window(qtbot)
    assert not window.queue_panel.table.isVisible()  # an empty queue is one line
    wizard = wizard_at_settings(qtbot, window, dataset)
    assert not wizard.button(QWizard.CustomButton1).isVisible()  # only beside Launch
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    queue_button = wizard.button(QWizard.CustomButton1)
    assert queue_button.isVisible() and queue_button.text() == "Add to queue"
    wizard.review_page.model_name.setText("Night Bot")
    qtbot.mouseClick(queue_button, Qt.LeftButton)
    assert not wizard.isVisible()  # queued, not launched
    items = RunQueue().items()
    assert len(items) == 1 and items[0].planned_seconds > 0
    assert items[0].annotations["version_name"] == "night-bot" and items[0].config["max_steps"] == 3
    panel = window.queue_panel
    assert panel.table.rowCount() == 1 and panel.table.isVisible()
    assert panel.table.item(0, 3).text() and panel.table.item(0, 4).text()  # estimated start and end
    assert "the last ends about" in panel.summary.text()

    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: any("Queue done" in n for n in notes(window)), timeout=600_000)
    assert any("Queued run ended" in n and "finished" in n for n in notes(window))
    dashboard = window.queue.dashboards[items[0].id]  # the queued run's dashboard, live
    assert dashboard.windowTitle().startswith("Queued:") and dashboard.series.status == "completed"
    assert RunQueue().item(items[0].id).state == DONE
    assert [v["model_name"] for v in list_versions(default_store())] == ["night-bot"]
    assert panel.table.rowCount() == 0


def test_the_app_goes_on_with_an_interrupted_run_unless_the_user_paused(qtbot, own_data_dir, dataset):
    queue = RunQueue()
    item = queue.add(small_config(dataset, max_steps=2).to_dict(), "left running", planned_seconds=10)
    queue.claim(item, str(own_data_dir / "runs" / "interrupted"))  # a process killed right after claiming it
    queue.set_paused(True)
    paused = open_window(qtbot)
    qtbot.wait(300)
    assert not paused.queue.running  # the user's pause holds across a restart
    assert paused.queue_panel.table.item(0, 2).text() == "interrupted"
    paused.close()

    queue.set_paused(False)
    window = open_window(qtbot)
    qtbot.waitUntil(lambda: window.queue.running, timeout=5000)  # goes on by itself
    window.launch(small_config(dataset, max_steps=2))  # Launch while the queue trains: it waits its turn
    assert any("Added to the queue" in n for n in notes(window)) and window.worker is None
    qtbot.waitUntil(lambda: any("Queue done" in n for n in notes(window)), timeout=600_000)
    assert [i.state for i in queue.items(include_ended=True)] == [DONE, DONE]
    assert (own_data_dir / "runs" / "interrupted" / "adapter").is_dir()


def test_a_sweep_from_the_settings_page_to_keep_the_best(qtbot, own_data_dir, dataset):
    window = open_window(qtbot)
    wizard = wizard_at_settings(qtbot, window, dataset)
    dialog = wizard.config_page.open_sweep_dialog()
    assert dialog.varied["learning_rate"][0].isChecked() and ":log" in dialog.varied["learning_rate"][1].text()
    dialog.varied["lora_r"][0].setChecked(False)
    dialog.varied["learning_rate"][1].setText("2e-3,1e-9")
    dialog.sampler.setCurrentIndex(dialog.sampler.findData("grid"))
    dialog.trials.setValue(5)
    dialog.varied["learning_rate"][1].setText("2e-3,abc")
    qtbot.mouseClick(dialog.check_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert "could not be read" in dialog.message.text() and "'abc'" in dialog.message.text()  # plainly refused
    dialog.varied["learning_rate"][1].setText("2e-3,1e-9")
    qtbot.mouseClick(dialog.check_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60_000)
    assert dialog.message.text().startswith("2 trials of about")  # a grid of two values: two trials, not five
    with qtbot.waitSignal(wizard.sweep_queued, timeout=60_000) as queued:
        qtbot.mouseClick(dialog.queue_button, Qt.LeftButton)
    sweep_id = queued.args[0]
    assert not wizard.isVisible()
    view = next(w for w in window.dashboards if getattr(w, "sweep_id", None) == sweep_id)
    assert view.table.rowCount() == 2
    qtbot.waitUntil(lambda: any("Queue done" in n for n in notes(window)), timeout=900_000)
    view.refresh()
    states = [view.table.item(r, 1).text() for r in range(2)]
    assert sum("(best)" in s for s in states) == 1, states
    assert sum(len(points) for points in view.points.values()) == 2  # each trial on the scatter
    assert view.keep_button.isEnabled()
    qtbot.mouseClick(view.keep_button, Qt.LeftButton)
    assert view.message.text().startswith("Kept as") and not view.keep_button.isEnabled()
    versions = list_versions(default_store())
    assert len(versions) == 1 and versions[0]["run_id"] == view.found.best.run_dir.rsplit("/", 1)[-1]

    history = window.open_history()
    sweep_cells = [history.table.item(r, 5).text() for r in range(history.table.rowCount())]
    assert [c.split(" (")[0] for c in sweep_cells] == [f"{sweep_id} trial 1", f"{sweep_id} trial 2"]  # grouped
    history.table.selectRow(0)
    assert history.open_sweep_selected() is view  # the sweep's own window

    page = window.open_versions()
    page.table.selectRow(0)
    qtbot.mouseClick(page.retrain_button, Qt.LeftButton)
    dialog = page.continue_selected()
    qtbot.mouseClick(dialog.queue_button, Qt.LeftButton)
    titles = [i.title for i in RunQueue().items()]
    assert len(titles) == 2 and titles[0].endswith("retrained") and titles[1].endswith("continued")
    panel = window.queue_panel
    panel.select(RunQueue().items()[1].id)
    qtbot.mouseClick(panel.up_button, Qt.LeftButton)
    assert [i.title for i in RunQueue().items()] == titles[::-1]
    qtbot.mouseClick(panel.remove_button, Qt.LeftButton)
    assert [i.title for i in RunQueue().items()] == [titles[0]]
