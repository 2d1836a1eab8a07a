"""Step 2: the dataset. Drop or browse a file; it is checked off the UI thread and explained."""
from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWizardPage)

from peftstudio.ui.locales import STRINGS
from peftstudio.ui.tasks import run_in_background
from peftstudio.ui.wizard.loss_view import LossView

LEVEL_COLORS = {"error": "#b00020", "warning": "#a15c00", "info": "#555555"}


def inspect_dataset(path: str, tokenizer_loader, max_seq_length: int, mapping: dict | None,
                    progress=lambda message: None, thinking: str = "target") -> dict:
    """Everything the page shows, from one pass over the file (DatasetFile.inspect), in a worker thread.
    The maximum length, the column mapping and the thinking mode are the run's own, as training uses them."""
    # lazy: off the start-up path (bench/startup.py)
    from peftstudio.engine.data import DatasetFile, has_thinking, loss_pieces

    import pyqtgraph  # noqa: F401 - imported here, off the UI thread, before the histogram needs it

    progress(STRINGS["wizard.dataset.tokenizer"])
    tokenizer = tokenizer_loader(progress=lambda message: progress(f"{message}..."))
    progress(STRINGS["wizard.dataset.checking"])
    with DatasetFile.open(path, mapping) as data:
        found = data.inspect(tokenizer, max_seq_length=max_seq_length if tokenizer else None, preview=50)
        readable = found.report.readable and found.report.schema is not None
        preview = list(found.preview) if readable else []
        shown = {item["row"] for item in preview}
        flagged = {r.row for r in found.report.results if r.row is not None} - shown
        if readable and flagged:  # every row a problem points at can be seen and jumped to
            preview = sorted(preview + data.rows_at(flagged), key=lambda item: item["row"])
    if tokenizer is not None:  # which tokens carry loss, exactly as training labels them
        for item in preview:
            item["loss_pieces"] = loss_pieces(tokenizer, item["example"], max_seq_length, thinking) \
                if item["example"] is not None else None
    thinking_data = any(item["example"] is not None and has_thinking(item["example"]) for item in preview)
    return {"path": path, "report": found.report, "preview": preview, "stats": found.stats if readable else None,
            "thinking": thinking_data}


def inspect_prompts(path: str, config, progress=lambda message: None) -> dict:
    """The same, for the checker use case (GRPO): a file of prompts, reference answers optional."""
    from peftstudio.engine.data import prompt_report  # lazy: off the start-up path (bench/startup.py)

    progress(STRINGS["wizard.dataset.checking"])
    preview: list[dict] = []
    report = prompt_report(path, replace(config, dataset_path=path), preview)
    return {"path": path, "report": report, "preview": preview, "stats": None, "thinking": False}


def _side_text(value) -> str:
    """One side of a preference pair as text (it may be a list of chat messages)."""
    if isinstance(value, list):
        return "\n".join(str(m.get("content", "")) for m in value if isinstance(m, dict))
    return "" if value is None else str(value)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def repair_summary(repaired) -> str:
    """What the repair changed and where the copy is, in words (the original file is never changed)."""
    counts = ", ".join(f"{action.replace('_', ' ')}: {n}" for action, n in sorted(repaired.counts.items()))
    rows = [f"row {c['row']}: {c['action'].replace('_', ' ')}" for c in repaired.changes[:8] if c.get("row")]
    more = len(repaired.changes) - len(rows)
    return (f"Repaired copy written to {repaired.output} ({repaired.rows_out} of {repaired.rows_in} rows kept; "
            f"your original file is unchanged). Changes - {counts or 'none'}"
            + (f". {'; '.join(rows)}" if rows else "") + (f"; and {more} more" if more > 0 else "") + ".")


class DropArea(QLabel):
    def __init__(self, on_file):
        super().__init__(STRINGS["wizard.dataset.drop"])
        self.on_file = on_file
        self.setObjectName("dataset.drop")
        self.setAcceptDrops(True)
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumHeight(56)
        self.setStyleSheet("border: 2px dashed #999; border-radius: 8px; color: #555;")

    def dragEnterEvent(self, event):  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802
        urls = event.mimeData().urls()
        if urls:
            self.on_file(urls[0].toLocalFile())


class DatasetPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(STRINGS["wizard.dataset.title"])
        self.setSubTitle(STRINGS["wizard.dataset.subtitle"])
        self.busy = False
        self._task = None
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.drop = DropArea(self.set_dataset)
        top.addWidget(self.drop, 1)
        self.browse = QPushButton(STRINGS["wizard.dataset.browse"])
        self.browse.setObjectName("dataset.browse")
        self.browse.clicked.connect(self._browse)
        top.addWidget(self.browse)
        self.from_documents = QPushButton(STRINGS["wizard.dataset.from_documents"])
        self.from_documents.setObjectName("dataset.from_documents")
        self.from_documents.setToolTip(STRINGS["wizard.dataset.from_documents_tip"])
        self.from_documents.clicked.connect(lambda: self.create_from_documents())
        top.addWidget(self.from_documents)
        layout.addLayout(top)
        self.summary = QLabel()
        self.summary.setObjectName("dataset.summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        middle = QHBoxLayout()
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("dataset.preview")
        self.table.setHorizontalHeaderLabels(["Row", "Prompt", "Response"])
        # rows are numbered as the file shows them: a CSV's header is row 1 (as in a spreadsheet), so its first
        # example is row 2, while a repaired JSONL copy has no header and starts at 1
        self.table.horizontalHeaderItem(0).setToolTip(STRINGS["wizard.dataset.row_tip"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setColumnWidth(0, 48)
        self.table.setColumnWidth(1, 220)
        self.table.setWordWrap(True)
        middle.addWidget(self.table, 3)
        right = QVBoxLayout()
        self.issues = QListWidget()
        self.issues.setObjectName("dataset.issues")
        self.issues.setWordWrap(True)
        self.issues.itemClicked.connect(self._highlight_row)
        right.addWidget(self.issues, 2)
        self.fix_button = QPushButton(STRINGS["wizard.dataset.fix"])
        self.fix_button.setObjectName("dataset.fix")
        self.fix_button.setVisible(False)
        self.fix_button.clicked.connect(self.fix)
        right.addWidget(self.fix_button)
        self.histogram = None  # a pyqtgraph plot, made when there is something to draw (it imports slowly)
        self.histogram_slot = right
        middle.addLayout(right, 2)
        layout.addLayout(middle, 1)
        self.loss_view = LossView()
        self.table.currentCellChanged.connect(lambda row, *_: self._show_loss(row))
        layout.addWidget(self.loss_view, 1)
        self.repair_note = QLabel()
        self.repair_note.setTextFormat(Qt.PlainText)  # it names the user's files
        self.repair_note.setObjectName("dataset.repair_note")
        self.repair_note.setWordWrap(True)
        layout.addWidget(self.repair_note)
        self.message = QLabel()
        self.message.setTextFormat(Qt.PlainText)
        self.message.setObjectName("dataset.message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        layout.addWidget(self.message)

    # ---- choosing and checking a file -----------------------------------------------
    def _browse(self):
        current = self.wiz.state.dataset_path
        start = str(Path(current).parent) if current else str(Path.home())  # never the app's own folder
        path, _ = QFileDialog.getOpenFileName(self, STRINGS["wizard.dataset.browse"], start,
                                              "Datasets (*.json *.jsonl *.csv *.tsv *.txt *.parquet);;All files (*)")
        if path:
            self.set_dataset(path)

    def create_from_documents(self):
        """No dataset yet: the documents dialog makes one, and the page continues with it."""
        # lazy: off the start-up path (bench/startup.py)
        from peftstudio.ui.wizard.documents_dialog import DocumentsDialog

        dialog = DocumentsDialog(self.wiz.state.profile_id, self)
        dialog.dataset_ready.connect(self.set_dataset)
        dialog.open()
        return dialog

    def set_dataset(self, path: str, keep_repair_note: bool = False) -> None:
        path = str(Path(path).resolve())
        if not keep_repair_note:
            self.repair_note.clear()
        if path != self.wiz.state.dataset_path:
            self.wiz.model.dataset_changed(path)  # later pages re-plan; nothing else is lost
        self.busy = True
        self.message.clear()
        self.summary.setText(STRINGS["wizard.dataset.checking"])
        self.issues.clear()
        self.table.setRowCount(0)
        self.fix_button.setVisible(False)
        config = self.wiz.state.config
        if self.wiz.model.learns_from_checker:
            self._task = run_in_background(inspect_prompts, path, config, on_done=self._show, on_error=self._failed,
                                           on_progress=self._progress)
            return
        self._task = run_in_background(inspect_dataset, path, self.wiz.model.tokenizer_for_current_model,
                                       config.max_seq_length, config.column_mapping or None,
                                       thinking=config.thinking, on_done=self._show, on_error=self._failed,
                                       on_progress=self._progress)

    def _progress(self, message: str) -> None:
        if self.busy:
            self.summary.setText(html.escape(message))

    def _failed(self, error) -> None:
        self.busy = False
        self.summary.setText(html.escape(error.render()).replace("\n", "<br>"))

    def _show(self, result: dict) -> None:
        if result["path"] != self.wiz.state.dataset_path:
            return  # an older file's answer arrived late
        self.busy = False
        report, stats = result["report"], result["stats"]
        self.wiz.model.dataset_inspected(report, stats)
        fmt = report.format
        if not report.readable:
            self.summary.setText(html.escape(STRINGS["wizard.dataset.unreadable"].format(reason=fmt.reason)))
        else:
            schema = report.schema.name if report.schema else "unknown"
            usable = "prompts" if schema == "prompts" else "usable examples"
            text = (f"<b>{html.escape(Path(report.path).name)}</b>: {fmt.format.upper()} ({fmt.encoding}), "
                    f"{html.escape(schema)} format, "
                    f"{report.rows_usable} {usable} of {report.rows_total}; "
                    f"{plural(report.errors, 'error')}, {plural(report.warnings, 'warning')}.")
            if stats is not None and stats.examples:
                text += (f"<br>Tokens per example: median {stats.tokens_p50}, 95% under {stats.tokens_p95}, "
                         f"longest {stats.tokens_max}; {stats.loss_tokens_per_epoch:,} tokens to learn per pass.")
            if result.get("thinking"):
                text += "<br>" + html.escape(STRINGS["wizard.dataset.thinking"].format(
                    mode=self.wiz.state.config.thinking))
            self.summary.setText(text)
        for r in report.results:
            where = f"Row {r.row}: " if r.row is not None and not r.message.startswith(("Row", "Line")) else ""
            item = QListWidgetItem(f"{r.level.upper()}  {where}{r.message}\n  → {r.suggestion}")
            item.setForeground(QColor(LEVEL_COLORS[r.level]))
            item.setData(Qt.UserRole, r.row)
            self.issues.addItem(item)
        self._fill_preview(result["preview"])  # after the issues: flagged rows are tinted
        self.fix_button.setVisible(any(r.auto_fixable for r in report.results))
        if stats is not None and stats.histogram_counts:
            self._draw_histogram(stats.histogram_edges, stats.histogram_counts)
        elif self.histogram is not None:
            self.histogram.clear()
        self.completeChanged.emit()

    def _draw_histogram(self, edges: list[int], counts: list[int]) -> None:
        import pyqtgraph as pg

        if self.histogram is None:
            self.histogram = pg.PlotWidget(background="w")
            self.histogram.setObjectName("dataset.histogram")
            self.histogram.setMinimumHeight(120)
            self.histogram.setLabel("bottom", "tokens per example")
            self.histogram.setLabel("left", "examples")
            self.histogram_slot.addWidget(self.histogram, 1)
        self.histogram.clear()
        self.histogram.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush="#2a6fdb"))

    def _fill_preview(self, items: list[dict]) -> None:
        import json

        self._preview_items = items
        schema = getattr(self.wiz.state.dataset_report, "schema", None)
        kind = getattr(schema, "name", "")
        # preference files side by side: the better and the worse answer (or the judged answer and its label)
        headers = {"preference": ["Row", "Prompt", "Chosen", "Rejected"],
                   "kto": ["Row", "Prompt", "Answer", "Judged"],
                   "prompts": ["Row", "Prompt", "Reference answer"]}.get(kind, ["Row", "Prompt", "Response"])
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.horizontalHeaderItem(0).setToolTip(STRINGS["wizard.dataset.row_tip"])
        self.table.setRowCount(len(items))
        flagged = {self.issues.item(i).data(Qt.UserRole) for i in range(self.issues.count())}
        for row, item in enumerate(items):
            example = item["example"]
            if example is None:  # a row that cannot be trained on: show it as written
                prompt, response = json.dumps(item["original"], ensure_ascii=False), "(cannot be used as it is)"
            elif "text" in example:
                prompt, response = "", example["text"]
            else:
                messages = example["messages"]
                prompt = next((m["content"] for m in messages if m["role"] == "user"), "")
                response = next((m["content"] for m in messages if m["role"] == "assistant"), "")
            values = [str(item["row"]), prompt[:300], response[:300]]
            if kind == "preference":
                values.append(_side_text(item["original"].get("rejected"))[:300])
            elif kind == "kto":
                values.append("good" if str(item["original"].get("label")).lower() in ("true", "1") else "bad")
            for col, value in enumerate(values):
                cell = QTableWidgetItem(value)
                if item["row"] in flagged:
                    cell.setBackground(QColor("#fff4e0"))
                self.table.setItem(row, col, cell)
        if items:  # the first example shown as the model reads it: the box below is never empty
            self.table.setCurrentCell(0, 1)

    def _show_loss(self, row: int) -> None:
        items = getattr(self, "_preview_items", [])
        if 0 <= row < len(items):
            self.loss_view.show_pieces(items[row].get("loss_pieces"))

    def _highlight_row(self, item: QListWidgetItem) -> None:
        row = item.data(Qt.UserRole)
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == str(row):
                self.table.selectRow(r)
                self.table.scrollToItem(self.table.item(r, 0))
                return
        self.table.clearSelection()

    def fix(self) -> None:
        from peftstudio.engine.data import repair_file  # lazy: off the start-up path (bench/startup.py)

        source = Path(self.wiz.state.dataset_path)
        target = source.with_name(source.stem + ".fixed.jsonl")
        n = 2
        while target.exists():
            target = source.with_name(f"{source.stem}.fixed-{n}.jsonl")
            n += 1
        try:
            repaired = repair_file(source, target)
        except Exception as exc:  # noqa: BLE001 - PlainError
            self.message.setText(str(exc))
            return
        self.repair_note.setText(repair_summary(repaired))
        self.set_dataset(str(target), keep_repair_note=True)

    def initializePage(self) -> None:  # noqa: N802 - a new use case may check the same file differently
        state = self.wiz.state
        if state.dataset_path and state.dataset_report is None and not self.busy:
            self.set_dataset(state.dataset_path)

    # ---- leaving the page ---------------------------------------------------------------
    def validatePage(self) -> bool:  # noqa: N802
        report = self.wiz.state.dataset_report
        if not self.wiz.state.dataset_path:
            self.message.setText(STRINGS["wizard.dataset.none"])
        elif self.busy or report is None:
            self.message.setText(STRINGS["wizard.dataset.busy"])
        elif not report.readable:
            self.message.setText(STRINGS["wizard.dataset.unreadable"].format(reason=report.format.reason or
                                                                              "it has no usable rows"))
        elif report.errors:
            self.message.setText(STRINGS["wizard.dataset.errors"].format(n=report.errors))
        else:
            self.message.clear()
            return True
        return False
