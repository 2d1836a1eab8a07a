"""The main window: a home page with the machine's summary, recent runs and a prominent New fine-tune."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from peftstudio import __version__
from peftstudio.engine import paths
from peftstudio.engine.app_settings import load_settings, save_settings
from peftstudio.engine.planning import hardware_profile
from peftstudio.engine.training import RunQueue
from peftstudio.ui.hardware_text import hardware_summary
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.run_history import recent_runs


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        self.setWindowTitle(f"{STRINGS['app.title']} {__version__}")
        self.setObjectName("main_window")
        self.settings = load_settings()
        self.hardware = hardware_profile()
        self.wizard = None
        self.worker = None
        central = QWidget()
        layout = QVBoxLayout(central)
        heading = QLabel(STRINGS["home.heading"])
        heading.setObjectName("home.heading")
        heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        layout.addWidget(heading)
        self.new_button = QPushButton(STRINGS["home.new"])
        self.new_button.setObjectName("home.new")
        self.new_button.setMinimumHeight(44)
        self.new_button.setStyleSheet("font-size: 15px; font-weight: 600; background: #2a6fdb; color: white; "
                                      "border-radius: 6px; padding: 8px 20px;")
        self.new_button.clicked.connect(self.new_fine_tune)
        layout.addWidget(self.new_button)
        pages = QHBoxLayout()
        for text, name, slot in (("History and compare", "home.history", self.open_history),
                                 ("Versions", "home.versions", self.open_versions)):
            button = QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(slot)
            pages.addWidget(button)
        pages.addStretch()
        layout.addLayout(pages)
        self.hardware_label = QLabel(hardware_summary(self.hardware))
        self.hardware_label.setTextFormat(Qt.PlainText)  # device names come from drivers and /proc
        self.hardware_label.setObjectName("home.hardware")
        self.hardware_label.setWordWrap(True)
        layout.addWidget(self.hardware_label)
        from peftstudio.ui.notifications import Notifier  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.queue_controller import QueueController  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.queue_panel import QueuePanel  # lazy: off the start-up path (bench/startup.py)

        self.queue_panel = QueuePanel(RunQueue())
        self.queue_panel.sweep_requested.connect(self.open_sweep)
        layout.addWidget(self.queue_panel)
        self.home_notes = QListWidget()
        self.home_notes.setObjectName("home.notifications")
        self.home_notes.setMaximumHeight(60)
        self.home_notes.setVisible(False)  # until there is something to say
        self.home_notes.model().rowsInserted.connect(lambda *_: self.home_notes.setVisible(True))
        layout.addWidget(self.home_notes)
        self.queue = QueueController(self.queue_panel, Notifier(self.home_notes, self.settings.notifications),
                                     self._queued_run_dashboard, self,
                                     training_elsewhere=lambda: self.worker is not None and self.worker.isRunning())
        self.queue.run_ended.connect(lambda item: self.refresh_runs())
        self.queue.sweep_finished.connect(self.open_sweep)
        self.run_status = QLabel()
        self.run_status.setObjectName("home.run_status")
        self.run_progress = QProgressBar()
        self.run_progress.setObjectName("home.run_progress")
        self.run_progress.setVisible(False)
        layout.addWidget(self.run_status)
        layout.addWidget(self.run_progress)
        layout.addWidget(QLabel(f"<b>{STRINGS['home.recent_runs']}</b>"))
        self.runs_list = QListWidget()
        self.runs_list.setObjectName("home.recent_runs")
        self.runs_list.itemDoubleClicked.connect(self.open_run)
        self.dashboards = []
        layout.addWidget(self.runs_list, 1)  # the runs list takes the spare height, not the queue
        run_buttons = QHBoxLayout()
        for text, name, slot in ((STRINGS["home.open_dashboard"], "home.open_dashboard", lambda: self.open_run()),
                                 (STRINGS["home.open_playground"], "home.open_playground",
                                  lambda: self.open_selected_playground())):
            button = QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(slot)
            run_buttons.addWidget(button)
        run_buttons.addStretch()
        layout.addLayout(run_buttons)
        self.setCentralWidget(central)
        self._menus()
        self.refresh_runs()
        self._restore_geometry()
        QTimer.singleShot(0, self.queue.resume_interrupted)  # a run the last session did not finish goes on

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu(STRINGS["menu.file"])
        for text, slot, shortcut in ((STRINGS["menu.new"], self.new_fine_tune, QKeySequence.New),
                                     (STRINGS["menu.load_preset"], self.load_preset, None),
                                     (STRINGS["menu.settings"], self.open_settings, QKeySequence.Preferences),
                                     (STRINGS["menu.quit"], self.close, QKeySequence.Quit)):
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        help_menu = self.menuBar().addMenu(STRINGS["menu.help"])
        help_pages = QAction(STRINGS["menu.help_pages"], self)
        help_pages.setObjectName("menu.help_pages")
        help_pages.triggered.connect(lambda: self.open_help())
        help_menu.addAction(help_pages)
        logs = QAction(STRINGS["menu.open_logs"], self)
        logs.triggered.connect(self.open_logs)
        help_menu.addAction(logs)
        copy = QAction(STRINGS["menu.copy_diagnostics"], self)
        copy.setObjectName("menu.copy_diagnostics")
        copy.triggered.connect(self.copy_diagnostics)
        help_menu.addAction(copy)
        self.help_menu = help_menu
        about = QAction(STRINGS["menu.about"], self)
        about.triggered.connect(self.about)
        help_menu.addAction(about)

    def open_logs(self) -> None:
        """The log folder in the file manager, or its path in words where no file manager can be opened."""
        from peftstudio.ui.error_dialog import notice_box  # lazy: off the start-up path (bench/startup.py)

        folder = paths.log_dir()
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            notice_box(STRINGS["menu.open_logs"], STRINGS["home.logs_here"].format(folder=folder), self).open()

    def open_help(self, topic: str | None = None):
        """The help pages inside the app (works where no browser or file launcher can be opened)."""
        from peftstudio.ui.help_viewer import HelpViewer  # lazy: off the start-up path (bench/startup.py)

        viewer = HelpViewer(topic, self)
        viewer.show()
        self.dashboards.append(viewer)
        return viewer

    def refresh_runs(self) -> None:
        self.runs_list.clear()
        runs = recent_runs(paths.runs_dir())
        if not runs:
            self.runs_list.addItem(STRINGS["home.no_runs"])
        for run in runs:
            item = QListWidgetItem(f"{run.get('id')} — {run.get('model_name')} — {run.get('status')}")
            item.setData(Qt.UserRole, run.get("id"))
            self.runs_list.addItem(item)

    def open_playground(self, run_dir):
        from peftstudio.ui.playground import PlaygroundWidget  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.windows import show_once  # lazy: off the start-up path (bench/startup.py)

        def make():
            playground = PlaygroundWidget(run_dir)
            # "Improve this version": a child version trained on the feedback given here
            playground.feedback.improve_requested.connect(self.improve_version)
            playground.resize(1100, 700)
            self.dashboards.append(playground)
            return playground

        return show_once(("playground", str(Path(run_dir).resolve())), make)

    def open_history(self):
        from peftstudio.engine.history import default_store as store  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.history import HistoryPage  # lazy: off the start-up path (bench/startup.py)

        store().reindex()  # runs made by the CLI or another process appear too
        page = HistoryPage(store())
        page.resize(1000, 600)
        page.show()
        self.dashboards.append(page)
        return page

    def open_versions(self):
        from peftstudio.engine.history import default_store as store  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.versions import VersionsPage  # lazy: off the start-up path (bench/startup.py)

        page = VersionsPage(store())
        page.continue_requested.connect(lambda config, facts: self.launch(config, annotations=facts))
        page.queue_requested.connect(lambda config, facts, title: self.queue_run(config, facts, title))
        page.resize(1000, 500)
        page.show()
        self.dashboards.append(page)
        return page

    def selected_run(self) -> str | None:
        item = self.runs_list.currentItem()
        return item.data(Qt.UserRole) if item is not None else None

    def open_run(self, item=None):
        """A past (or running) run's dashboard, from its events.jsonl (the open one, if it is open)."""
        from peftstudio.ui.dashboard import DashboardWidget  # lazy: defers pyqtgraph
        from peftstudio.ui.windows import show_once  # lazy: off the start-up path (bench/startup.py)

        run_id = item.data(Qt.UserRole) if item is not None else self.selected_run()
        if not run_id:
            return None

        def make():
            dashboard = DashboardWidget(notifications_enabled=False)
            dashboard.setWindowTitle(f"Run {run_id}")
            dashboard.load_run(paths.runs_dir() / run_id)
            dashboard.resize(1000, 700)
            self.dashboards.append(dashboard)
            return dashboard

        return show_once(("dashboard", str((paths.runs_dir() / run_id).resolve())), make)

    def open_selected_playground(self):
        run_id = self.selected_run()
        return self.open_playground(paths.runs_dir() / run_id) if run_id else None

    # ---- the wizard and launching ----------------------------------------------------------------
    def new_fine_tune(self):
        from peftstudio.engine.planning import Settings  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.wizard.wizard import TrainingWizard  # lazy: off the start-up path (bench/startup.py)

        self.wizard = TrainingWizard(self.hardware, Settings(self.settings.electricity_price,
                                                             self.settings.carbon_intensity), self)
        self.wizard.launch_requested.connect(self.launch)
        self.wizard.queue_requested.connect(self.queue_from_wizard)
        self.wizard.sweep_queued.connect(self._sweep_queued)
        self.wizard.show()
        return self.wizard

    def improve_version(self, config, facts: dict):
        """The wizard, prefilled with a version's feedback as the dataset, the method it suits and the version's
        adapter to start from."""
        from peftstudio.engine.runs import read_run_info  # lazy: off the start-up path (bench/startup.py)

        parent_run = Path(config.parent_adapter).parent
        wizard = self.new_fine_tune()
        wizard.prefill_continuation(config, facts, read_run_info(parent_run).get("profile_id"))
        return wizard

    def load_preset(self) -> None:
        from peftstudio.engine.history import list_presets  # lazy: off the start-up path (bench/startup.py)

        names = list_presets()
        if not names:
            QMessageBox.information(self, STRINGS["menu.load_preset"], "No presets saved yet.")
            return
        name, ok = QInputDialog.getItem(self, STRINGS["menu.load_preset"], "Preset:", names, 0, False)
        if ok:
            self.new_fine_tune().load_preset(name)

    def launch(self, config, annotations: dict | None = None) -> None:
        """Start a run: from the wizard, or with `annotations` for run.json (a continued version's parent)."""
        from peftstudio.engine.training import TrainingSession  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.dashboard import DashboardWidget  # lazy: defers pyqtgraph
        from peftstudio.ui.queue_worker import collect_garbage_here  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.worker import worker_for  # lazy: off the start-up path (bench/startup.py)

        if not self.code_consent(config):
            return
        if self.queue.running:  # one run on the device at a time: it waits its turn behind the queue's
            self.queue.add_estimated(config, annotations or self._wizard_annotations())
            self.queue.notifier.notify({"title": "Added to the queue", "message": "The queue is training; this "
                                        "run starts when the queued runs before it have ended."})
            return
        session = TrainingSession.create(config)
        from_wizard = annotations is None and self.wizard is not None
        if annotations:
            session.annotate(**annotations)
        elif from_wizard:  # the playground's example prompts, and the name chosen for its versions
            session.annotate(**self._wizard_annotations())
        self.worker = worker_for(session, self)
        # when the run completes, the playground opens with its new version loaded
        self.worker.completed.connect(lambda summary, run_dir=session.run_dir: self.open_playground(run_dir))
        dashboard = DashboardWidget(self.worker, self.settings.notifications,
                                    evaluate_after_run=self.settings.evaluate_after_run)
        if from_wizard:  # so the dashboard can say when the run is much slower than planned
            dashboard.set_plan(self.wizard.model.current_estimates().duration_expected)
        dashboard.setWindowTitle(f"Training {session.run_dir.name}")
        dashboard.resize(1000, 700)
        dashboard.show()
        self.dashboards.append(dashboard)
        self.worker.metrics.connect(self._on_metrics)
        self.worker.status_changed.connect(lambda s: (self.run_status.setText(f"{STRINGS['home.active_run']}: {s}"),
                                                      self.refresh_runs()))
        self.run_progress.setVisible(True)
        collect_garbage_here()  # see queue_worker: nothing of Qt's is left for the training thread to collect
        self.worker.start()

    # ---- the queue and sweeps ----------------------------------------------------------------------
    def _wizard_annotations(self) -> dict:
        """What a run from the wizard records in run.json: its use case, its version name, example prompts."""
        if self.wizard is None:
            return {}
        state = self.wizard.state
        return {**state.annotations, "profile_id": state.profile_id, "version_name": state.version_name or None}

    def queue_from_wizard(self, config) -> None:
        """The wizard's run, queued (with what Launch would have recorded) instead of started now."""
        if not self.code_consent(config):
            return
        state = self.wizard.state
        planned = self.wizard.model.current_estimates().duration_expected
        title = f"{state.version_name or config.model_name.split('/')[-1]} on {Path(config.dataset_path).name}"
        self.queue.add(config, title, self._wizard_annotations(), planned)

    def queue_run(self, config, annotations: dict | None = None, title: str | None = None):
        """A run from Versions (continue, retrain), queued."""
        return self.queue.add_estimated(config, annotations, title) if self.code_consent(config) else None

    def _sweep_queued(self, sweep_id: str) -> None:
        self.queue_panel.refresh()
        self.queue.start()
        self.open_sweep(sweep_id)

    def open_sweep(self, sweep_id: str):
        from peftstudio.ui.sweep_view import SweepView  # lazy: defers pyqtgraph
        from peftstudio.ui.windows import show_once  # lazy: off the start-up path (bench/startup.py)

        def make():
            view = SweepView(sweep_id)
            self.queue.run_ended.connect(lambda item: view.refresh() if item.sweep_id == sweep_id else None)
            view.resize(1100, 700)
            self.dashboards.append(view)
            return view

        return show_once(("sweep", sweep_id), make)

    def _queued_run_dashboard(self, handle, item):
        from peftstudio.ui.dashboard import DashboardWidget  # lazy: defers pyqtgraph

        dashboard = DashboardWidget(handle, self.settings.notifications)
        if item.planned_seconds:
            dashboard.set_plan(item.planned_seconds)
        dashboard.setWindowTitle(f"Queued: {item.title}")
        dashboard.resize(1000, 700)
        dashboard.show()
        self.dashboards.append(dashboard)
        return dashboard

    def code_consent(self, config) -> bool:
        """Settings that ask to run the model's own code (a preset, a copied run) need the user's yes, once
        per model; the answer is remembered by the engine, not by the settings."""
        from peftstudio.engine import consent  # lazy: off the start-up path (bench/startup.py)

        model = config.model_path or config.model_name
        if not config.trust_remote_code or consent.has_consent(model):
            return True
        box = QMessageBox(QMessageBox.Question, "Run the model's own code?",
                          f"{model} ships Python code that would run on this computer with your permissions. "
                          "Allow it only if you trust the model's authors. Your answer is remembered for this "
                          "model.", QMessageBox.Yes | QMessageBox.No, self)
        box.setTextFormat(Qt.PlainText)
        box.setDefaultButton(QMessageBox.No)
        if box.exec() != QMessageBox.Yes:
            return False
        consent.grant(model)
        return True

    def _on_metrics(self, event: dict) -> None:
        if event.get("max_steps"):
            self.run_progress.setMaximum(event["max_steps"])
            self.run_progress.setValue(event["step"])

    # ---- settings and about ------------------------------------------------------------------------
    def open_settings(self) -> None:
        from peftstudio.ui.settings_dialog import SettingsDialog  # lazy: off the start-up path (bench/startup.py)

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.value())

    def apply_settings(self, settings) -> None:
        from PySide6.QtWidgets import QApplication

        from peftstudio.ui.theme import apply_theme  # lazy: off the start-up path (bench/startup.py)

        self.settings = settings
        save_settings(settings)
        apply_theme(QApplication.instance(), settings.theme)

    def copy_diagnostics(self) -> str:
        from PySide6.QtWidgets import QApplication

        from peftstudio.engine.app_log import diagnostics  # lazy: off the start-up path (bench/startup.py)

        text = diagnostics()
        QApplication.clipboard().setText(text)
        self.statusBar().showMessage(STRINGS["menu.diagnostics_copied"], 5000)
        return text

    def about(self) -> None:
        QMessageBox.about(self, STRINGS["menu.about"],
                          f"<b>PEFT Studio {__version__}</b><br>Fine-tune language models with LoRA and QLoRA, "
                          "guided.<br>Your data never leaves this machine; no telemetry.<br><br>"
                          f"Data folder: {paths.data_dir()}<br>Logs: {paths.log_dir()}")

    def _restore_geometry(self) -> None:
        geometry = QSettings("peftstudio", "peftstudio").value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(960, 640)

    def closeEvent(self, event):  # noqa: N802 - Qt naming
        QSettings("peftstudio", "peftstudio").setValue("main_window/geometry", self.saveGeometry())
        if self.worker is not None and self.worker.isRunning():
            self.worker.pause()  # checkpoint, then the thread ends; resume later with the run folder
            self.worker.wait()
        if self.queue.running:  # the queued run checkpoints; the next start of the app goes on with it
            self.queue.pause(by_user=False)
            self.queue.wait()
        super().closeEvent(event)
