import json

from peftstudio.engine import paths
from peftstudio.ui.main_window import MainWindow


def test_main_window_shows_hardware_and_recent_runs(qtbot):
    run = paths.runs_dir() / "20260101-000000-demo"
    run.mkdir(parents=True, exist_ok=True)
    (run / "run.json").write_text(json.dumps({"id": run.name, "model_name": "demo-model", "status": "completed",
                                              "created": "2999-01-01T00:00:00"}))  # newest: other tests' runs share the folder
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert "PEFT Studio" in window.windowTitle()
    assert "CPU threads" in window.hardware_label.text()
    items = [window.runs_list.item(i).text() for i in range(window.runs_list.count())]
    assert any("demo-model" in text and "completed" in text for text in items)


def test_settings_are_saved_and_the_theme_applies(qtbot):
    from peftstudio.engine.app_settings import load_settings
    from peftstudio.ui.settings_dialog import SettingsDialog

    window = MainWindow()
    qtbot.addWidget(window)
    dialog = SettingsDialog(window.settings, window)
    qtbot.addWidget(dialog)
    # the form is built from the declarations: each setting's range and help come with it
    assert dialog.widgets["electricity_price"].maximum() == 10
    assert "world average" in dialog.widgets["carbon_intensity"].toolTip()
    dialog.widgets["electricity_price"].setValue(0.31)
    dialog.widgets["carbon_intensity"].setValue(0.05)
    dialog.widgets["theme"].setCurrentText("dark")
    window.apply_settings(dialog.value())  # what Save does
    assert load_settings().electricity_price == 0.31 and load_settings().theme == "dark"
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from peftstudio.ui.theme import apply_theme

    from PySide6.QtGui import QPalette

    app = QApplication.instance()
    apply_theme(app, "dark")
    assert (app.styleHints().colorScheme() == Qt.ColorScheme.Dark
            or app.palette().color(QPalette.Window).lightness() < 100)
    apply_theme(app, "light")
    assert app.palette().color(QPalette.Window).lightness() > 150
    apply_theme(app, "system")
    wizard = window.new_fine_tune()  # owned by the window
    assert wizard.model.settings.price_per_kwh == 0.31  # the estimates use the user's price


def test_help_opens_inside_the_app_and_runs_reopen_their_window(qtbot, signed_run, monkeypatch, tmp_path):
    """Journey findings 10 and 12: help works without a desktop launcher; a run's dashboard and playground are
    reachable from the home page and a second double-click brings the same window forward."""
    from PySide6.QtCore import Qt

    from peftstudio.ui.help_viewer import topic_of

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    help_action = next(a for a in window.help_menu.actions() if a.objectName() == "menu.help_pages")
    help_action.trigger()
    viewer = window.dashboards[-1]
    assert viewer.objectName() == "help" and viewer.topics.count() >= 8
    assert viewer.current_topic == "troubleshooting" and len(viewer.page.toPlainText()) > 200
    viewer.show_topic("export")
    assert "q4_k_m" in viewer.page.toPlainText()
    assert topic_of("file:///x/resources/help/out-of-memory.md#batch") == "out-of-memory"

    # a runs folder holding just the signed run (the shared one fills the home page's 20 most recent with others)
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / signed_run.name).symlink_to(signed_run, target_is_directory=True)
    monkeypatch.setattr("peftstudio.engine.paths.runs_dir", lambda: runs)
    window.refresh_runs()
    row = next(i for i in range(window.runs_list.count()) if window.runs_list.item(i).data(Qt.UserRole) ==
               signed_run.name)
    window.runs_list.setCurrentRow(row)
    first = window.open_run(window.runs_list.item(row))
    again = window.open_run(window.runs_list.item(row))
    assert first is again and first.status.text().startswith("Finished")
    playground = window.open_selected_playground()
    assert playground is window.open_playground(signed_run) and playground.objectName() == "playground"


def test_continue_training_from_versions_makes_a_child_version(qtbot, signed_run, tmp_path):
    """Versions > Continue training...: the dialog recommends the optimizer choice per data choice, and the new run
    trains from the version's adapter and becomes its child."""
    from PySide6.QtCore import Qt

    from helpers import signature_rows
    from peftstudio.engine.history import default_store, list_versions
    from peftstudio.engine.history.versions import version_of_run

    parent = version_of_run(default_store(), signed_run)
    window = MainWindow()
    qtbot.addWidget(window)
    window.settings.evaluate_after_run = False  # the scorecard has its own tests; it would score for minutes here
    page = window.open_versions()
    row = next(i for i, v in enumerate(page.rows) if v["id"] == parent["id"])
    page.table.selectRow(row)
    dialog = page.continue_selected()
    assert "use Resume" in dialog.intro.text()  # continue is told apart from resume
    assert dialog.carry.isChecked() and "keep it" in dialog.advice.text()  # same data: keep the optimizer
    dialog.mode_buttons["add"].setChecked(True)
    assert not dialog.carry.isChecked() and "fresh" in dialog.advice.text()
    qtbot.mouseClick(dialog.start, Qt.LeftButton)
    assert "Choose the new data" in dialog.error.text() and dialog.isVisible()  # nothing launched without a file
    extra = tmp_path / "more.json"
    extra.write_text(json.dumps(signature_rows(8)), encoding="utf-8")
    dialog.dataset.setText(str(extra))
    dialog.epochs.setValue(0.5)
    qtbot.mouseClick(dialog.start, Qt.LeftButton)
    dashboard = window.dashboards[-1]
    qtbot.waitUntil(lambda: dashboard.status.text().startswith(("Finished", "Failed")), timeout=600_000)
    assert dashboard.status.text().startswith("Finished"), dashboard.status.text()
    child = next(v for v in list_versions(default_store()) if v["parent_version"] == parent["version"]
                 and v["metrics"].get("dataset_hash") and v["config"]["dataset_path"].endswith("-plus-more.jsonl"))
    assert child["model_name"] == parent["model_name"]
    page.refresh()
    assert any(page.table.item(i, 8).text() == f"v{parent['version']}" for i in range(page.table.rowCount()))
