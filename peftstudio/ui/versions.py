"""The Versions page: every version of every model, with rollback, archive, delete and disk cleanup."""
from __future__ import annotations

import shutil

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from peftstudio.engine import paths
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history import (Store, archive, cleanup_prompt, delete_version, list_versions, rename_model,
                                      rollback, worse_than_parent)
from peftstudio.ui.error_dialog import notice_box

LOW_DISK_BYTES = 10 * 2**30


class VersionsPage(QWidget):
    COLUMNS = ["Model", "Version", "Run", "Final loss", "Size", "State", "Task score", "General skills", "Parent"]
    # (TrainingConfig, facts for run.json): a new run that continues the selected version; the window launches it
    continue_requested = Signal(object, dict)
    # (TrainingConfig, facts for run.json, title): a run to add to the queue (a continuation, or a retrain)
    queue_requested = Signal(object, dict, str)

    def __init__(self, store: Store, low_disk_bytes: int = LOW_DISK_BYTES, parent=None):
        super().__init__(parent)
        self.setObjectName("versions")
        self.setWindowTitle("Versions")
        self.store = store
        layout = QVBoxLayout(self)
        self.cleanup = QLabel()
        self.cleanup.setTextFormat(Qt.PlainText)
        self.cleanup.setObjectName("versions.cleanup")
        self.cleanup.setWordWrap(True)
        self.cleanup.setStyleSheet("color: #a15c00;")
        layout.addWidget(self.cleanup)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("versions.table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.rollback_button = QPushButton("Make active (roll back)")
        self.rollback_button.setObjectName("versions.rollback")
        self.rollback_button.clicked.connect(lambda: self.rollback_selected())
        self.keep = QSpinBox()
        self.keep.setRange(1, 100)
        self.keep.setValue(3)
        self.keep.setToolTip("How many of the newest versions keep their checkpoints")
        self.archive_button = QPushButton("Archive older versions")
        self.archive_button.setObjectName("versions.archive")
        self.archive_button.clicked.connect(self.archive_selected_model)
        self.rename_button = QPushButton("Rename model...")
        self.rename_button.setObjectName("versions.rename")
        self.rename_button.clicked.connect(lambda: self.rename_selected())
        self.continue_button = QPushButton("Continue training...")
        self.continue_button.setObjectName("versions.continue")
        self.continue_button.setToolTip("Train this version further (more epochs, or new data) as a new version. "
                                        "Not the same as Resume, which picks up an interrupted run.")
        self.continue_button.clicked.connect(lambda: self.continue_selected())
        self.retrain_button = QPushButton("Queue a retrain")
        self.retrain_button.setObjectName("versions.retrain")
        self.retrain_button.setToolTip("Train the selected version's settings again from the start, when the queue "
                                       "gets to it (e.g. after the dataset file was improved).")
        self.retrain_button.clicked.connect(lambda: self.retrain_selected())
        self.delete_button = QPushButton("Delete...")
        self.delete_button.setObjectName("versions.delete")
        self.delete_button.clicked.connect(lambda: self.delete_selected(ask=True))
        for widget in (self.continue_button, self.retrain_button, self.rollback_button, self.rename_button, QLabel("keep newest"), self.keep,
                       self.archive_button, self.delete_button):
            row.addWidget(widget)
        row.addStretch()
        layout.addLayout(row)
        self.refresh(low_disk_bytes)

    def refresh(self, low_disk_bytes: int = LOW_DISK_BYTES) -> None:
        self.rows = list_versions(self.store)
        self.table.setRowCount(len(self.rows))
        for i, v in enumerate(self.rows):
            final = v["metrics"].get("final_loss")
            state = "active" if v["active"] else "archived" if v["archived"] else ""
            card = v["metrics"].get("scorecard") or {}
            task = "" if card.get("task_tuned") is None else \
                f"{card['task_tuned']:.3g} (base {card['task_base']:.3g})"
            skills = "" if card.get("skills_change_percent") is None else \
                f"{card['skills_change_percent']:+.0f}% vs base" + (" ⚠" if card.get("skills_regressed") else "")
            for col, value in enumerate((v["model_name"], f"v{v['version']}", v["run_id"],
                                         "" if final is None else f"{final:.4f}",
                                         f"{v['size_bytes'] / 2**20:.1f} MB", state, task, skills,
                                         f"v{v['parent_version']}" if v.get("parent_version") else "")):
                self.table.setItem(i, col, QTableWidgetItem(value))
        prompt = cleanup_prompt(self.store, shutil.disk_usage(paths.data_dir()).free, low_disk_bytes)
        if prompt:
            largest = ", ".join(f"{v['model_name']} v{v['version']} ({v['size_bytes'] / 2**20:.0f} MB)"
                                for v in prompt["versions"][:3])
            self.cleanup.setText(f"Disk space is low ({prompt['free_bytes'] / 2**30:.1f} GB free). Largest: "
                                 f"{largest}. " + " · ".join(o["label"] for o in prompt["options"]))
        else:
            self.cleanup.clear()

    def _selected(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

    def rollback_selected(self, ask: bool = True) -> None:
        v = self._selected()
        if not v:
            return
        worse = worse_than_parent(self.store, v)
        if worse and ask and QMessageBox.question(self, "Make a worse-scoring version active?",
                                                  f"{worse} Make it the active version anyway?") != QMessageBox.Yes:
            return
        rollback(self.store, v["model_name"], v["version"])
        self.refresh()

    def continue_selected(self, dialog=None):
        """Ask how to continue the selected version; returns the dialog (open, not blocking)."""
        from peftstudio.ui.continue_dialog import ContinueDialog  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.training import version_to_continue  # lazy: off the start-up path (bench/startup.py)

        v = self._selected()
        if not v:
            return None
        try:
            version = version_to_continue(self.store, v["model_name"], v["version"])
        except PlainError as error:
            notice_box(error.title, f"{error.what}\n\n{error.why}", self).open()
            return None
        dialog = dialog or ContinueDialog(version, self)
        dialog.accepted.connect(lambda: self.queue_requested.emit(
            *dialog.result_config, f"{version['model_name']} v{version['version']}, continued") if dialog.queued
            else self.continue_requested.emit(*dialog.result_config))
        dialog.open()
        return dialog

    def retrain_selected(self) -> None:
        from peftstudio.engine.config import TrainingConfig  # lazy: off the start-up path (bench/startup.py)

        v = self._selected()
        if v:
            config = TrainingConfig().merged(v["config"])
            self.queue_requested.emit(config, {"version_name": v["model_name"]},
                                      f"{v['model_name']} v{v['version']}, retrained")

    def archive_selected_model(self) -> None:
        v = self._selected()
        if v:
            archive(self.store, v["model_name"], self.keep.value())
            self.refresh()

    def rename_selected(self, new_name: str | None = None) -> None:
        """All versions of the selected model get the new name (exports and Ollama use it)."""
        v = self._selected()
        if not v:
            return
        if new_name is None:
            new_name, ok = QInputDialog.getText(self, "Rename model", f"New name for {v['model_name']}:",
                                                text=v["model_name"])
            if not ok:
                return
        try:
            rename_model(self.store, v["model_name"], new_name)
        except PlainError as error:
            notice_box(error.title, f"{error.what}\n\n{error.why}", self).open()  # plain text: names are the user's
            return
        self.refresh()

    def delete_selected(self, ask: bool = True) -> None:
        v = self._selected()
        if not v:
            return
        if ask and QMessageBox.question(self, "Delete version?", f"Delete {v['model_name']} v{v['version']} and its "
                                        f"{v['size_bytes'] / 2**20:.0f} MB of files? This cannot be undone.") \
                != QMessageBox.Yes:
            return
        delete_version(self.store, v["model_name"], v["version"], confirmed=True)
        self.refresh()
