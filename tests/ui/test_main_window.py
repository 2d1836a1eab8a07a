import json

from peftstudio.engine import paths
from peftstudio.ui.main_window import MainWindow


def test_main_window_shows_hardware_and_recent_runs(qtbot):
    run = paths.runs_dir() / "20260101-000000-demo"
    run.mkdir(parents=True, exist_ok=True)
    (run / "run.json").write_text(json.dumps({"id": run.name, "model_name": "demo-model", "status": "completed",
                                              "created": "2026-01-01T00:00:00"}))
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert "PEFT Studio" in window.windowTitle()
    assert "CPU threads" in window.hardware_label.text()
    items = [window.runs_list.item(i).text() for i in range(window.runs_list.count())]
    assert any("demo-model" in text and "completed" in text for text in items)
