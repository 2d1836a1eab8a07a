"""The playground's tools: the functions offered to the model (JSON schema, OpenAI's shape or bare functions), and
the result of a call the model made, typed by the user or mocked, which continues the conversation."""
from __future__ import annotations

import html
import json

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from peftstudio.engine.data import mock_result, read_tools

EXAMPLE = [{"name": "get_weather", "description": "The weather now in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


class ToolsPanel(QWidget):
    result_ready = Signal(str)  # the result of the pending call, to continue the conversation with

    def __init__(self, tools: list[dict], parent=None):
        super().__init__(parent)
        self.setObjectName("playground.tools_panel")
        self.pending: dict | None = None  # the call waiting for its result
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Tools</b> (JSON schema; leave empty for none)"))
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("playground.tools")
        self.editor.setPlaceholderText("Optional: the functions the model may call, e.g. " + json.dumps(EXAMPLE))
        self.editor.setMaximumHeight(140 if tools else 70)
        if tools:
            self.editor.setPlainText(json.dumps([t["function"] for t in tools], indent=1, ensure_ascii=False))
        self.editor.textChanged.connect(self._check)
        layout.addWidget(self.editor)
        self.status = QLabel()
        self.status.setObjectName("playground.tools_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        row = QHBoxLayout()
        self.result = QLineEdit()
        self.result.setObjectName("playground.tool_result")
        self.result.setPlaceholderText("The tool's result")
        self.result.returnPressed.connect(self._send)
        self.send_button = QPushButton("Send result")
        self.send_button.setObjectName("playground.send_result")
        self.send_button.clicked.connect(self._send)
        self.mock_button = QPushButton("Mock it")
        self.mock_button.setObjectName("playground.mock_result")
        self.mock_button.setToolTip("Answer the call with a stand-in result, to see what the model does next")
        self.mock_button.clicked.connect(self._mock)
        for widget in (self.result, self.send_button, self.mock_button):
            row.addWidget(widget, 1 if widget is self.result else 0)
        self.result_row = QWidget()
        self.result_row.setLayout(row)
        self.result_row.setVisible(False)
        layout.addWidget(self.result_row)
        self._check()

    def tools(self) -> list[dict] | None:
        """The tools as OpenAI function entries ([] for none), or None when the text is not a usable list."""
        text = self.editor.toPlainText().strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            return None
        tools = read_tools(value)
        return tools if tools else None

    def _check(self) -> None:
        tools = self.tools()
        if tools is None:
            self.status.setText("<span style='color:#b00020'>Not a list of functions: each needs a \"name\" and "
                                "its \"parameters\" as a JSON schema.</span>")
        else:
            names = ", ".join(t["function"]["name"] for t in tools)
            self.status.setText(html.escape(f"Offered to the model: {names}") if tools else "")

    def await_result(self, call: dict) -> None:
        """Show the result row for the model's call."""
        self.pending = call
        self.result.clear()
        self.result.setPlaceholderText(f"What {call['name']} returned")
        self.result_row.setVisible(True)
        self.result.setFocus()

    def _mock(self) -> None:
        if self.pending is not None:
            self.result.setText(mock_result(self.pending))
            self._send()

    def _send(self) -> None:
        text = self.result.text().strip()
        if self.pending is None or not text:
            return
        self.pending = None
        self.result_row.setVisible(False)
        self.result_ready.emit(text)

    def clear_pending(self) -> None:
        self.pending = None
        self.result_row.setVisible(False)


def call_card(calls: list[dict], words: str) -> str:
    """The model's calls as a card (rich text; everything from the model escaped)."""
    rows = []
    for call in calls:
        arguments = "<br>".join(f"<code>{html.escape(str(k))}</code> = <code>"
                                f"{html.escape(json.dumps(v, ensure_ascii=False))}</code>"
                                for k, v in (call.get("arguments") or {}).items()) or "<i>no arguments</i>"
        rows.append(f"<tr><td style='background:#ede7f6'><b>Calls {html.escape(call['name'])}</b></td></tr>"
                    f"<tr><td>{arguments}</td></tr>")
    before = f"{html.escape(words)}<br>" if words else ""
    return f"{before}<table border='1' cellspacing='0' cellpadding='4'>{''.join(rows)}</table>"


def result_line(text: str) -> str:
    return f"<p><b>Tool result:</b> <code>{html.escape(text)}</code></p>"

