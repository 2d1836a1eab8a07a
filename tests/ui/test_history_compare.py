"""History and Compare with run folders written by the tests (real events files, real store)."""

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.history.store import Store
from peftstudio.ui.history import HistoryPage
from run_folders import write_run


def test_history_filters_and_compare_highlights_the_best(qtbot, tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "alpha", TrainingConfig(model_name="m-a", lora_r=8), [3.0, 2.0], speed=80)
    write_run(runs, "beta", TrainingConfig(model_name="m-a", lora_r=16), [3.0, 1.0], speed=120)
    write_run(runs, "gamma", TrainingConfig(model_name="m-b", lora_r=32), [3.0, 1.5], speed=100)
    store = Store(tmp_path / "db.sqlite3")
    store.reindex(runs)
    page = HistoryPage(store)
    qtbot.addWidget(page)
    page.show()
    assert page.table.rowCount() == 3
    page.model_filter.setCurrentText("m-a")
    assert {page.table.item(i, 0).text() for i in range(page.table.rowCount())} == {"alpha", "beta"}
    page.search.setText("bet")
    assert page.table.rowCount() == 1
    page.search.clear()
    page.model_filter.setCurrentIndex(0)
    page.table.selectRow(0)
    assert page.compare_selected() is None and "Choose 2 to 5 runs" in page.message.text()
    page.table.selectAll()
    view = page.compare_selected()
    qtbot.addWidget(view)
    assert set(view.plots) == {"train_loss", "eval_loss", "throughput", "learning_rate", "peak_memory", "duration"}
    assert view.result["best"]["train_loss"] == "beta" and view.result["best"]["throughput"] == "beta"
    column = view.result["runs"].index("beta")
    assert view.finals.item(0, column).font().bold()
    assert [view.diff.verticalHeaderItem(i).text() for i in range(view.diff.rowCount())] == ["lora_r", "model_name"]
    dashboard = page.open_dashboard(0)
    qtbot.addWidget(dashboard)
    assert dashboard.series.steps == [1, 2]
    assert page.open_dashboard(0) is dashboard  # a second double-click brings the same window forward
    from PySide6.QtWidgets import QHeaderView

    assert page.table.horizontalHeader().sectionResizeMode(0) == QHeaderView.ResizeToContents  # run ids in full


def test_versions_page_rolls_back_archives_and_prompts_on_low_disk(qtbot, tmp_path):
    from peftstudio.engine.history.versions import create_version
    from peftstudio.ui.versions import VersionsPage

    store = Store(tmp_path / "db.sqlite3")
    for i in range(3):
        config = TrainingConfig(dataset_path=str(tmp_path / "bot.jsonl"), seed=i)
        create_version(store, write_run(tmp_path / "runs", f"r{i}", config, [2.0, 1.0 - i / 10]), config,
                       {"final_loss": 1.0 - i / 10})
    page = VersionsPage(store, low_disk_bytes=2**62)  # any real disk is "low" against this threshold
    qtbot.addWidget(page)
    assert page.table.rowCount() == 3 and page.table.item(2, 5).text() == "active"
    assert "Disk space is low" in page.cleanup.text() and "Archive old versions" in page.cleanup.text()
    page.table.selectRow(0)
    page.rollback_button.click()
    assert page.table.item(0, 5).text() == "active"
    page.keep.setValue(1)
    page.table.selectRow(0)
    page.archive_button.click()
    assert [page.table.item(i, 5).text() for i in range(3)] == ["active", "archived", ""]
    page.refresh(low_disk_bytes=0)
    assert page.cleanup.text() == ""
    page.table.selectRow(1)
    page.delete_selected(ask=False)
    assert page.table.rowCount() == 2
    page.table.selectRow(0)
    page.rename_selected("Shop Helper")  # journey finding 8: a model can be renamed after the fact
    assert {page.table.item(i, 0).text() for i in range(page.table.rowCount())} == {"shop-helper"}


def test_versions_show_the_scorecard_and_ask_before_making_a_worse_version_active(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from peftstudio.engine.history.versions import create_version, record_scorecard, worse_than_parent
    from peftstudio.ui.versions import VersionsPage

    store = Store(tmp_path / "db.sqlite3")
    runs = []
    for i, (task, skills) in enumerate(((0.62, -2.0), (0.41, -30.0))):
        config = TrainingConfig(dataset_path=str(tmp_path / "bot.jsonl"), seed=i)
        run = write_run(tmp_path / "runs", f"r{i}", config, [2.0, 1.0])
        create_version(store, run, config, {})
        record_scorecard(run, {"task_tuned": task, "task_base": 0.3, "task_higher_is_better": True,
                               "skills_change_percent": skills, "skills_regressed": ["facts"] if i else []}, store)
        runs.append(run)
    page = VersionsPage(store)
    qtbot.addWidget(page)
    assert page.table.item(1, 6).text() == "0.41 (base 0.3)" and page.table.item(1, 7).text() == "-30% vs base ⚠"
    worse = worse_than_parent(store, page.rows[1])
    assert "v1.0.1 scores worse than v1.0.0" in worse and "0.41 against 0.62" in worse
    page.table.selectRow(0)
    page.rollback_selected()
    page.table.selectRow(1)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.No)
    page.rollback_selected()
    assert asked and "scores worse" in asked[0]
    assert page.table.item(0, 5).text() == "active"  # the answer was no: nothing changed
