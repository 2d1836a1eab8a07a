"""What the model reads for one example, with the tokens it learns from highlighted (the dataset preview).

Bound to one thing: the loss pieces the engine computed for the selected row (engine/data/tokenize.loss_pieces,
the same labels training uses). The text is the user's, so every piece is escaped before it becomes rich text.
"""
from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from peftstudio.ui.locales import STRINGS

STYLES = {"loss": "background:#d7f5dd; color:#0b3d17;", "context": "color:#5b6270;",
          "cut": "color:#b00020; text-decoration:line-through;"}


def pieces_html(pieces: list[tuple[str, str]]) -> str:
    """Escaped rich text: learned tokens on green, read-only tokens grey, tokens past the maximum length struck."""
    spans = (f'<span style="{STYLES[kind]}">{html.escape(text)}</span>' for text, kind in pieces)
    return '<pre style="white-space:pre-wrap; font-family:monospace;">' + "".join(spans) + "</pre>"


class LossView(QWidget):
    def __init__(self):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.legend = QLabel(STRINGS["wizard.dataset.loss_legend"])
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        self.text = QTextBrowser()
        self.text.setObjectName("dataset.loss_view")
        self.text.setOpenLinks(False)
        layout.addWidget(self.text)

        self.learned = ""  # the highlighted text: what the shown example teaches

    def show_pieces(self, pieces: list[tuple[str, str]] | None) -> None:
        self.learned = "".join(text for text, kind in pieces or () if kind == "loss")
        if not pieces:
            self.text.setPlainText(STRINGS["wizard.dataset.loss_none"])
            return
        self.text.setHtml(pieces_html(pieces))
