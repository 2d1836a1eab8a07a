"""Create a dataset from documents: drop files, pick a teacher and a count, watch examples appear, review them
(use or leave out, edit), then continue with the result as the wizard's dataset."""
from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QListWidget, QProgressBar, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from peftstudio.engine import paths
from peftstudio.engine.data import (RECIPE_WORDS, SUPPORTED, document_files, read_made, recipe_for,
                                    write_reviewed)
from peftstudio.engine.errors import PlainError
from peftstudio.engine.models import DEMO_MODEL_ID
from peftstudio.engine.planning import format_duration
from peftstudio.ui.synth_worker import SynthWorker

COLUMNS = ["Use", "Question or request", "Answer", "From", "Check"]


class DocumentsDialog(QDialog):
    dataset_ready = Signal(str)  # the reviewed dataset's path

    def __init__(self, profile_id: str, parent=None):
        super().__init__(parent)
        self.setObjectName("documents_dialog")
        self.setWindowTitle("Create a dataset from documents")
        self.setAcceptDrops(True)
        self.resize(1000, 680)
        self.profile_id = profile_id
        self.worker: SynthWorker | None = None
        self.rows: list[dict] = []
        self.started_at: float | None = None
        self.first_done = 0
        layout = QVBoxLayout(self)
        intro = QLabel(f"Drop PDF, Word, Markdown, HTML or text files here (or a folder). For this use case the "
                       f"teacher writes {RECIPE_WORDS[recipe_for(profile_id)]}. Your documents stay on this "
                       "computer unless you name a server as the teacher.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        files_row = QHBoxLayout()
        self.files = QListWidget()
        self.files.setObjectName("documents.files")
        self.files.setMaximumHeight(90)
        files_row.addWidget(self.files, 1)
        buttons = QVBoxLayout()
        for text, name, slot in (("Add files...", "documents.add_files", self._add_files),
                                 ("Add a folder...", "documents.add_folder", self._add_folder),
                                 ("Remove", "documents.remove", self._remove_file)):
            button = QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(lambda _=False, s=slot: s())
            buttons.addWidget(button)
        files_row.addLayout(buttons)
        layout.addLayout(files_row)
        form = QFormLayout()
        self.teacher = QComboBox()
        self.teacher.setObjectName("documents.teacher")
        self.teacher.setEditable(True)
        self.teacher.addItems([DEMO_MODEL_ID, "http://localhost:11434", "http://localhost:1234"])
        self.teacher.setToolTip("A model on this computer (a Hugging Face id or folder, or a .gguf file), or an "
                                "OpenAI-compatible server: Ollama (port 11434), LM Studio (1234), llama_cpp.server")
        form.addRow("Teacher", self.teacher)
        self.count = QSpinBox()
        self.count.setObjectName("documents.count")
        self.count.setRange(1, 100_000)
        self.count.setValue(100)
        form.addRow("Examples", self.count)
        layout.addLayout(form)
        run_row = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("documents.start")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("documents.stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(lambda: self.stop())
        self.progress = QProgressBar()
        self.progress.setObjectName("documents.progress")
        self.status = QLabel()
        self.status.setObjectName("documents.status")
        self.status.setTextFormat(Qt.PlainText)  # names the user's files and the teacher's words
        for widget in (self.start_button, self.stop_button, self.progress):
            run_row.addWidget(widget)
        run_row.addWidget(self.status, 1)
        layout.addLayout(run_row)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("documents.table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        layout.addWidget(self.table, 1)
        bottom = QHBoxLayout()
        self.summary = QLabel()
        self.summary.setObjectName("documents.summary")
        self.summary.setTextFormat(Qt.PlainText)
        bottom.addWidget(self.summary, 1)
        self.use_button = QPushButton("Use as dataset")
        self.use_button.setObjectName("documents.use")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(lambda: self.use())
        bottom.addWidget(self.use_button)
        layout.addLayout(bottom)

    # ---- documents in --------------------------------------------------------------------------------
    def add_documents(self, found: list[str]) -> None:
        try:
            files = document_files(found)
        except PlainError as error:
            self.status.setText(f"{error.title}: {error.what}")
            return
        known = set(self.documents())
        for path in files:
            if str(path) not in known:
                self.files.addItem(str(path))

    def documents(self) -> list[str]:
        return [self.files.item(i).text() for i in range(self.files.count())]

    def _add_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Documents", str(Path.home()),
                                                f"Documents ({' '.join('*' + s for s in SUPPORTED)})")
        self.add_documents(names)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of documents", str(Path.home()))
        if folder:
            self.add_documents([folder])

    def _remove_file(self) -> None:
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))

    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        self.add_documents([url.toLocalFile() for url in event.mimeData().urls()])

    # ---- generating ------------------------------------------------------------------------------------
    def output_path(self) -> Path:
        """Where the made examples go: the same documents and use case continue the same file."""
        first = Path(self.documents()[0]).stem
        return paths.data_dir() / "datasets" / f"{first}-{self.profile_id}-{len(self.documents())}docs.jsonl"

    def start(self) -> None:
        if not self.documents():
            self.status.setText("Add documents first (drop them here, or Add files...).")
            return
        if self.worker is not None and self.worker.isRunning():
            return
        self.table.setRowCount(0)
        self.rows = []
        for row in read_made(self.output_path()):  # made before a stop: shown again, generation goes on after them
            self._add_row(row)
        self.worker = SynthWorker(self.documents(), self.teacher.currentText().strip(), self.profile_id,
                                  self.count.value(), self.output_path(), self)
        self.worker.row.connect(self._add_row)
        self.worker.progress.connect(self._progress)
        self.worker.done.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.started_at, self.first_done = None, None
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.use_button.setEnabled(False)
        self.status.setText("Reading the documents...")
        self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.status.setText("Stopping after this batch...")

    def _progress(self, done: int, total: int, message: str) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        now = time.monotonic()
        if self.started_at is None:
            self.started_at, self.first_done = now, done
        eta = ""
        made = done - self.first_done
        if made > 0 and done < total:
            eta = f", about {format_duration((now - self.started_at) / made * (total - done))} left"
        self.status.setText(f"{message}: {done} of {total}{eta}")

    def _add_row(self, row: dict) -> None:
        self.rows.append(row)
        index = self.table.rowCount()
        self.table.insertRow(index)
        use = QTableWidgetItem()
        use.setFlags(Qt.ItemIsUserCheckable | Qt.ItemIsEnabled)
        flags = row.get("review", {}).get("flags", [])
        use.setCheckState(Qt.Unchecked if "empty" in flags else Qt.Checked)
        self.table.setItem(index, 0, use)
        question = row.get("instruction", "")
        answer = row.get("output", row.get("text", ""))
        source = row["source"]
        where = source["document"] + (f" > {source['heading']}" if source["heading"] else "")
        for column, text, editable in ((1, question, "instruction" in row), (2, answer, True), (3, where, False),
                                       (4, ", ".join(flags) or "ok", False)):
            cell = QTableWidgetItem(text)
            if not editable:
                cell.setFlags(cell.flags() & ~Qt.ItemIsEditable)
            if column == 3:
                # the passage the example was made from: document text, escaped (Qt reads a tooltip with tags as
                # rich text)
                cell.setToolTip(f"<p>{html.escape(source['passage'])}</p>")
            self.table.setItem(index, column, cell)

    def _done(self, result) -> None:
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.use_button.setEnabled(bool(self.rows) or result.rows > 0)
        if result.stopped:
            self.status.setText(f"Stopped with {result.rows} of {self.count.value()} examples; Start goes on "
                                "from there.")
        else:
            self.status.setText(f"Done: {result.rows} examples from {result.passages} passages "
                                f"({result.flagged} flagged for review).")
        self.summary.setText("Untick the examples to leave out, double-click a question or an answer to edit it.")

    def _failed(self, error) -> None:
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.status.setText(f"{error.title}: {error.what} {error.actions[0]}")

    def reviewed_rows(self) -> list[dict]:
        """The rows ticked in the table, with the user's edits."""
        kept = []
        for index, row in enumerate(self.rows):
            if self.table.item(index, 0).checkState() != Qt.Checked:
                continue
            row = {k: v for k, v in row.items() if k != "review"}
            if "instruction" in row:
                row["instruction"] = self.table.item(index, 1).text()
                row["output"] = self.table.item(index, 2).text()
            else:
                row["text"] = self.table.item(index, 2).text()
            kept.append(row)
        return kept

    def use(self) -> str | None:
        rows = self.reviewed_rows()
        if not rows:
            self.status.setText("No example is ticked.")
            return None
        path = write_reviewed(self.output_path(), rows)
        self.dataset_ready.emit(str(path))
        self.accept()
        return str(path)
