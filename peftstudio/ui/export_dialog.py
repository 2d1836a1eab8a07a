"""The export dialog: pick a format card and a folder, watch the progress, read the verification report."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QTextBrowser,
                               QVBoxLayout)

from peftstudio.engine.export import GGUF_FORMATS, app_for, export_run, hand_over, quant_choices
from peftstudio.engine.history import default_store, version_of_run, worse_than_parent
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.tasks import run_in_background

# format -> (card title, one-line description)
CARDS = {
    "hf": ("Hugging Face adapter", "Small LoRA adapter (MBs) for peft and the Hub."),
    "hf-merged": ("Hugging Face model", "Full model with the adapter merged, for transformers, vLLM, TGI."),
    "gguf": ("GGUF file", "One file for llama.cpp, GPT4All and other local apps."),
    "ollama": ("Ollama", "GGUF + Modelfile: ollama create, then ollama run."),
    "lmstudio": ("LM Studio", "GGUF in LM Studio's publisher/model folder layout."),
}


def version_worse_than_parent(run_dir: Path) -> str | None:
    """Why the run's version scores worse than the version before it, if it does."""
    store = default_store()
    version = version_of_run(store, Path(run_dir).resolve())
    return worse_than_parent(store, version) if version is not None else None


class ExportWorker(QThread):
    progress = Signal(float, str)
    done = Signal(object)  # ExportResult
    failed = Signal(object)  # PlainError

    def __init__(self, run_dir: Path, fmt: str, out: str, quant: str, verify: bool, overwrite: bool,
                 push_to: str = ""):
        super().__init__()
        self.args = (run_dir, fmt, out)
        self.kwargs = dict(quant=quant, verify=verify, overwrite=overwrite)
        self.push_to = push_to.strip()

    def run(self):
        from peftstudio.engine.errors import from_exception  # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.paths import data_dir  # lazy: off the start-up path (bench/startup.py)

        try:
            result = export_run(*self.args, progress=lambda f, m: self.progress.emit(f, m), **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog as a plain error
            self.failed.emit(from_exception(exc, data_dir() / "diagnostics", writing=Path(self.args[2])))
            return
        if self.push_to and result.format in ("hf", "hf-merged") and result.ok:
            from peftstudio.engine.export import push_to_hub  # lazy: off the start-up path (bench/startup.py)

            self.progress.emit(1.0, f"Uploading to {self.push_to}")
            try:  # the export on disk is complete either way; the report says what happened to the upload
                result.details["pushed"] = push_to_hub(result.folder, self.push_to)
            except Exception as exc:  # noqa: BLE001
                error = from_exception(exc, data_dir() / "diagnostics")
                result.details["push_error"] = f"{error.title}: {error.why} {' '.join(error.actions[:1])}"
        self.done.emit(result)


class ExportDialog(QDialog):
    def __init__(self, run_dir: Path, parent=None):
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.setObjectName("export")
        self.setWindowTitle(STRINGS["export.title"].format(run=self.run_dir.name))
        self.worker: ExportWorker | None = None
        self.result = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>{STRINGS['export.heading']}</b>"))

        cards = QGridLayout()
        self.cards = QButtonGroup(self)
        self.cards.setExclusive(True)
        for i, (fmt, (title, text)) in enumerate(CARDS.items()):
            card = QPushButton(f"{title}\n{text}")
            card.setObjectName(f"export.card.{fmt}")
            card.setCheckable(True)
            card.setMinimumHeight(56)
            card.setStyleSheet("QPushButton { text-align: left; padding: 8px; } "
                               "QPushButton:checked { border: 2px solid #3b82f6; }")
            card.setProperty("format", fmt)
            self.cards.addButton(card, i)
            cards.addWidget(card, i // 2, i % 2)
        self.cards.buttonToggled.connect(self._format_changed)
        layout.addLayout(cards)

        form = QFormLayout()
        folder_row = QHBoxLayout()
        self.folder = QLineEdit()
        self.folder.setObjectName("export.folder")
        browse = QPushButton(STRINGS["export.browse"])
        browse.clicked.connect(self._browse)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form.addRow(STRINGS["export.folder"], folder_row)
        self.quant = QComboBox()
        self.quant.setObjectName("export.quant")
        # first, PEFT Studio's choice: q4_k_m (Ollama's and LM Studio's default), or a larger type that keeps the
        # model's answers when a small model loses too much at 4 bits (engine/export/quant_choice.py)
        self.quant.addItem(STRINGS["export.quant_auto"], None)
        for quant, meaning, size in quant_choices(self.run_dir):
            shown = f"{quant} - about {size / 1e9:.2f} GB - {meaning}" if size else f"{quant} - {meaning}"
            self.quant.addItem(shown, quant)
        self.quant.setToolTip(STRINGS["export.quant_tip"])
        form.addRow(STRINGS["export.quant"], self.quant)
        self.verify = QCheckBox(STRINGS["export.verify"])
        self.verify.setObjectName("export.verify")
        self.verify.setChecked(True)
        self.overwrite = QCheckBox(STRINGS["export.overwrite"])
        self.overwrite.setObjectName("export.overwrite")
        form.addRow(self.verify)
        form.addRow(self.overwrite)
        self.push_to = QLineEdit()
        self.push_to.setObjectName("export.push_to")
        self.push_to.setPlaceholderText(STRINGS["export.push_placeholder"])
        self.push_to.setToolTip(STRINGS["export.push_tip"])
        form.addRow(STRINGS["export.push"], self.push_to)
        layout.addLayout(form)

        self.progress = QProgressBar()
        self.progress.setObjectName("export.progress")
        self.progress.setRange(0, 100)
        self.status = QLabel()
        self.status.setObjectName("export.status")
        self.status.setTextFormat(Qt.PlainText)  # messages carry file and model names
        self.status.setWordWrap(True)
        self.report = QTextBrowser()
        self.report.setObjectName("export.report")
        self.report.setMinimumHeight(180)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.report, 1)

        buttons = QHBoxLayout()
        self.open_folder = QPushButton(STRINGS["export.open_folder"])
        self.open_folder.setObjectName("export.open_folder")
        self.open_folder.setEnabled(False)
        self.open_folder.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result.folder))))
        self.start = QPushButton(STRINGS["export.start"])
        self.start.setObjectName("export.start")
        self.start.setDefault(True)
        self.start.clicked.connect(lambda: self.start_export())
        close = QPushButton(STRINGS["export.close"])
        close.clicked.connect(self.reject)
        self.add_to_app = QPushButton()
        self.add_to_app.setObjectName("export.add_to_app")
        self.add_to_app.setVisible(False)
        self.add_to_app.clicked.connect(lambda: self.start_hand_over())
        self.hand_over_task = None
        buttons.addWidget(self.open_folder)
        buttons.addWidget(self.add_to_app)
        buttons.addStretch(1)
        buttons.addWidget(self.start)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.cards.button(3).setChecked(True)  # Ollama: what most people with a laptop want
        self.resize(640, 620)

    @property
    def format(self) -> str:
        return self.cards.checkedButton().property("format")

    def select_format(self, fmt: str) -> None:
        for button in self.cards.buttons():
            button.setChecked(button.property("format") == fmt)

    def _format_changed(self, button, checked) -> None:
        if not checked:
            return
        self.quant.setEnabled(self.format in GGUF_FORMATS)
        self.push_to.setEnabled(self.format in ("hf", "hf-merged"))
        default_root = Path.home() / "PEFT Studio exports"
        current = Path(self.folder.text()) if self.folder.text() else default_root / "x"
        self.folder.setText(str(current.parent / f"{self.run_dir.name}-{self.format}"))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, STRINGS["export.folder"], str(Path.home()))
        if folder:
            self.folder.setText(str(Path(folder) / f"{self.run_dir.name}-{self.format}"))

    def start_export(self, ask: bool = True) -> None:
        if self.worker is not None and self.worker.isRunning():
            return
        target = Path(self.folder.text()).expanduser()
        worse = version_worse_than_parent(self.run_dir)
        if ask and worse and QMessageBox.question(self, STRINGS["export.worse_title"],
                                                  STRINGS["export.worse"].format(why=worse)) != QMessageBox.Yes:
            return
        if ask and self.overwrite.isChecked() and target.is_dir() and any(target.iterdir()) and \
                QMessageBox.question(self, STRINGS["export.confirm_replace_title"],
                                     STRINGS["export.confirm_replace"].format(folder=target)) != QMessageBox.Yes:
            return
        self.report.clear()
        self.progress.setValue(0)
        self.status.setText(STRINGS["export.starting"])
        self.start.setEnabled(False)
        self.worker = ExportWorker(self.run_dir, self.format, self.folder.text(), self.quant.currentData(),
                                   self.verify.isChecked(), self.overwrite.isChecked(),
                                   self.push_to.text() if self.push_to.isEnabled() else "")
        self.worker.progress.connect(self._on_progress)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.start()

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(100 * fraction))
        self.status.setText(message)

    def _on_done(self, result) -> None:
        self.result = result
        self.start.setEnabled(True)
        self.open_folder.setEnabled(True)
        self.progress.setValue(100)
        verdict = STRINGS["export.written"] if result.report is None else \
            STRINGS["export.ok"] if result.ok else STRINGS["export.not_verified"]
        self.status.setText(verdict.format(folder=result.folder, seconds=result.seconds))
        text = result.report.markdown() if result.report else STRINGS["export.no_verification"]
        if "pushed" in result.details:
            text += f"\n\nUploaded: {result.details['pushed']}"
        elif "push_error" in result.details:
            text += f"\n\n**Not uploaded.** {result.details['push_error']}"
        readme = result.folder / "README.md"
        if result.format in ("ollama", "lmstudio") and readme.exists():
            text += "\n\n" + readme.read_text(encoding="utf-8")
        app = app_for(result.format) if result.ok else None
        self.add_to_app.setVisible(app is not None)
        if app is not None:  # the app is installed: one click instead of the README's commands
            self.add_to_app.setText(STRINGS["export.add_ollama" if app == "ollama" else "export.add_lms"])
            self.add_to_app.setEnabled(True)
        # plain text: the report quotes the model's own answer and names files, which must never become markup
        self.report.setPlainText(text)

    def start_hand_over(self) -> None:
        if self.result is None or (self.hand_over_task is not None and not self.add_to_app.isEnabled()):
            return
        self.add_to_app.setEnabled(False)
        self.status.setText(STRINGS["export.adding"])
        self.hand_over_task = run_in_background(
            hand_over, self.result.folder, self.result.format, self.result.details.get("model_name", ""),
            self.result.details.get("publisher", "peftstudio"), on_done=self._on_handed_over,
            on_error=self._on_hand_over_failed)

    def _on_handed_over(self, handed) -> None:
        self.status.setText(STRINGS["export.added"].format(app=handed.app, model=handed.model))
        text = self.report.toPlainText() + f"\n\nAdded with: {' '.join(handed.commands[0])}"
        if handed.probe_answer is not None:
            text += f"\n{handed.probe_prompt} -> {handed.probe_answer}"
        self.report.setPlainText(text)

    def _on_hand_over_failed(self, error) -> None:
        self.add_to_app.setEnabled(True)  # the export is complete: only the hand-over can be tried again
        self.status.setText(error.title)
        actions = "\n".join(f"{i}. {a}" for i, a in enumerate(error.actions, 1))
        self.report.setPlainText(f"{self.report.toPlainText()}\n\n{error.title}\nWhat happened: {error.what}\n"
                                 f"Why: {error.why}\n{actions}")

    def _on_failed(self, error) -> None:
        self.start.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(error.title)
        actions = "\n".join(f"{i}. {a}" for i, a in enumerate(error.actions, 1))
        self.report.setPlainText(f"What happened: {error.what}\n\nWhy: {error.why}\n\n{actions}\n\n"
                                 f"Get help: {error.help_link}")
