"""The help pages inside the app: a list of topics and the page, rendered from the bundled Markdown.

Opening the .md files in a browser fails on machines without a desktop launcher ("Unable to detect a
launcher"), and a Markdown file in a text editor is not help; this works everywhere, offline.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QTextCursor, QTextDocument
from PySide6.QtWidgets import QDialog, QHBoxLayout, QListWidget, QListWidgetItem, QTextBrowser

from peftstudio.engine.errors import HELP_DIR
from peftstudio.ui.locales import STRINGS


def topic_of(link: str | None) -> str | None:
    """'file:///.../help/out-of-memory.md#anchor' or 'out-of-memory' -> 'out-of-memory'."""
    if not link:
        return None
    name = Path(QUrl(link).path() if "://" in link else link).name
    return name.removesuffix(".md") or None


class HelpViewer(QDialog):
    def __init__(self, topic: str | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("help")
        self.setWindowTitle(STRINGS["help.title"])
        layout = QHBoxLayout(self)
        self.topics = QListWidget()
        self.topics.setObjectName("help.topics")
        self.topics.setMaximumWidth(220)
        self.page = QTextBrowser()
        self.page.setObjectName("help.page")
        self.page.setOpenLinks(False)  # links between pages stay in here; web links go to the browser
        self.page.anchorClicked.connect(self._follow)
        for path in sorted(HELP_DIR.glob("*.md")):
            item = QListWidgetItem(path.stem.replace("-", " ").capitalize())
            item.setData(256, path.stem)  # Qt.UserRole
            self.topics.addItem(item)
        self.topics.currentItemChanged.connect(lambda item, _: item is not None and self.show_topic(item.data(256)))
        layout.addWidget(self.topics)
        layout.addWidget(self.page, 1)
        self.resize(900, 640)
        self.show_topic(topic or "troubleshooting")

    def show_topic(self, topic: str) -> None:
        path = HELP_DIR / f"{topic}.md"
        if not path.is_file():
            path, topic = HELP_DIR / "troubleshooting.md", "troubleshooting"
        # the bundled pages are ours, but Markdown still never becomes raw HTML here
        features = QTextDocument.MarkdownFeature
        self.page.document().setMarkdown(path.read_text(encoding="utf-8"),
                                         features.MarkdownDialectGitHub | features.MarkdownNoHTML)
        self.page.moveCursor(QTextCursor.MoveOperation.Start)  # a new page starts at its top
        self.page.ensureCursorVisible()
        for row in range(self.topics.count()):
            if self.topics.item(row).data(256) == topic:
                self.topics.blockSignals(True)
                self.topics.setCurrentRow(row)
                self.topics.blockSignals(False)
        self.current_topic = topic

    def _follow(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)
        else:
            self.show_topic(topic_of(url.toString()) or "troubleshooting")
