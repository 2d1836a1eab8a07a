"""Render the main window and every wizard page offscreen into docs/screenshots/ (for the README).

Usage: QT_QPA_PLATFORM=offscreen python scripts/screenshots.py
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="peftstudio-shots-"))
REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots"
SAMPLE = REPO / "peftstudio" / "resources" / "samples" / "support-bot.jsonl"


def wait(app, condition, seconds=120):
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        app.processEvents()
        time.sleep(0.02)


def shoot_settings(app, window) -> None:
    """The settings dialog: every field comes from the app settings' declarations."""
    from peftstudio.engine.app_settings import load_settings
    from peftstudio.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(load_settings(), window)
    dialog.show()
    app.processEvents()
    dialog.grab().save(str(OUT / "settings.png"))
    dialog.close()


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from peftstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    OUT.mkdir(parents=True, exist_ok=True)
    window = MainWindow()
    window.resize(1280, 800)  # the size the issue tracker checks: nothing may be cut off
    window.show()
    app.processEvents()
    window.grab().save(str(OUT / "main-window.png"))
    from peftstudio.ui.welcome import WelcomeDialog

    welcome = WelcomeDialog(window.hardware, window)
    welcome.show()
    app.processEvents()
    welcome.grab().save(str(OUT / "welcome.png"))
    welcome.close()
    shoot_settings(app, window)
    wizard = window.new_fine_tune()
    wizard.resize(1100, 780)
    names = ["1-use-case", "2-dataset", "3-model", "4-configuration", "5-review"]
    for index, name in enumerate(names):
        app.processEvents()
        if index == 1:
            wizard.dataset_page.set_dataset(str(SAMPLE))
            wait(app, lambda: not wizard.dataset_page.busy)
        if index == 3:
            wizard.config_page.advanced_toggle.setChecked(True)
        app.processEvents()
        wizard.grab().save(str(OUT / f"wizard-{name}.png"))
        if index < len(names) - 1:
            wizard.next()
    # the dashboard in the middle of a real run of the demo model on the sample dataset
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.training.session import TrainingSession
    from peftstudio.ui.dashboard import DashboardWidget
    from peftstudio.ui.worker import TrainingWorker

    session = TrainingSession.create(TrainingConfig(dataset_path=str(SAMPLE), max_steps=16, batch_size=4,
                                                    learning_rate=5e-4, max_seq_length=256, save_steps=100,
                                                    eval_steps=4))
    worker = TrainingWorker(session)
    dashboard = DashboardWidget(worker, notifications_enabled=True)
    dashboard.resize(1100, 760)
    dashboard.show()
    worker.start()
    wait(app, lambda: len(dashboard.series.steps) >= 9, seconds=600)
    app.processEvents()
    dashboard.grab().save(str(OUT / "dashboard.png"))
    dashboard.confirm_stop(ask=False)
    wait(app, worker.isFinished, seconds=300)
    session.run()  # finish the stopped run so the playground has an adapter
    finished = DashboardWidget(notifications_enabled=False)  # the same run opened from History: its outcome
    finished.resize(1100, 760)
    finished.load_run(session.run_dir)
    finished.show()
    app.processEvents()
    finished.grab().save(str(OUT / "dashboard-finished.png"))

    from peftstudio.ui.playground import PlaygroundWidget

    playground = PlaygroundWidget(session.run_dir)
    playground.resize(1200, 720)
    playground.show()
    playground.compare.setChecked(True)
    playground.sampling_form.widgets["max_new_tokens"].setValue(60)
    playground.input.setText("How do I reset the Breeze fan?")
    playground.send()
    wait(app, lambda: playground.worker.isFinished(), seconds=600)
    wait(app, lambda: "How sure it is" in playground.scores.text(), seconds=120)
    app.processEvents()
    playground.grab().save(str(OUT / "playground.png"))

    import tempfile

    dialog = playground.open_export()
    dialog.select_format("ollama")
    dialog.folder.setText(str(Path(tempfile.mkdtemp()) / "support-bot-ollama"))
    dialog.start_export()
    wait(app, lambda: dialog.result is not None, seconds=600)
    app.processEvents()
    dialog.grab().save(str(OUT / "export.png"))
    viewer = window.open_help("export")
    viewer.resize(1000, 700)
    app.processEvents()
    viewer.grab().save(str(OUT / "help.png"))
    shoot_queue_and_sweep(app, window, wizard)
    shoot_documents(app, wizard)
    print(f"screenshots written to {OUT}")
    return 0


def shoot_queue_and_sweep(app, window, wizard) -> None:
    """Try several settings, a finished two-trial sweep's view, and the home page with runs queued."""
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.training import QueueRunner, RunQueue, create_sweep, parse_vary, plan_sweep

    dialog = wizard.config_page.open_sweep_dialog()
    dialog.check()
    wait(app, lambda: not dialog.busy, seconds=120)
    app.processEvents()
    dialog.grab().save(str(OUT / "sweep-dialog.png"))
    dialog.reject()
    base = TrainingConfig(dataset_path=str(SAMPLE), max_steps=6, batch_size=4, max_seq_length=256, save_steps=100,
                          eval_steps=2, validation_split=0.2).to_dict()
    sweep_id = create_sweep(plan_sweep(base, parse_vary("lr=1e-3,2e-4,1e-9"), "grid", trials=3))
    QueueRunner().run()
    view = window.open_sweep(sweep_id)
    view.resize(1100, 600)
    app.processEvents()
    view.grab().save(str(OUT / "sweep.png"))
    queue = RunQueue()
    for title, minutes in (("support-bot on support-bot.jsonl", 42), ("support-bot v1.0.0, continued", 18)):
        queue.add(TrainingConfig(dataset_path=str(SAMPLE)).to_dict(), title, planned_seconds=minutes * 60)
    window.queue_panel.refresh()
    window.refresh_runs()
    app.processEvents()
    window.grab().save(str(OUT / "main-window-queue.png"))


def shoot_documents(app, wizard) -> None:
    """Create from documents: three documents, four examples made by the demo model, ready for review."""
    sys.path.insert(0, str(REPO / "tests"))
    from document_writers import write_docx, write_markdown, write_pdf

    folder = Path(tempfile.mkdtemp(prefix="shots-docs-"))
    write_pdf(folder / "reactor.pdf"), write_docx(folder / "history.docx"), write_markdown(folder / "tea.md")
    dialog = wizard.dataset_page.create_from_documents()
    dialog.add_documents([str(folder)])
    dialog.count.setValue(4)
    dialog.start()
    wait(app, lambda: dialog.status.text().startswith(("Done", "Stopped")), seconds=900)
    app.processEvents()
    dialog.grab().save(str(OUT / "documents.png"))


if __name__ == "__main__":
    raise SystemExit(main())
