"""Issue 16, item 8: untrusted text (file names, dataset rows, model answers, error messages) never becomes
markup. Each widget is fed hostile strings, then every label and text view in it is inspected: a label
that would interpret its text as rich text must not hold the raw tag, and no document may hold an image
or a link the hostile text brought in."""
from __future__ import annotations

import json

from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QLabel, QTextEdit, QWidget

from peftstudio.engine.errors import PlainError

TAG = "<img src='file:///etc/passwd' width=300>"
LINK = "<a href='file:///etc/shadow'>click</a>"
HOSTILE = f"{TAG}{LINK}<b>bold</b>"


def markup_leaks(root: QWidget) -> list[str]:
    """Labels and text views in `root` that render hostile markup instead of showing it."""
    leaks = []
    for label in [root, *root.findChildren(QLabel)] if isinstance(root, QLabel) else root.findChildren(QLabel):
        text = label.text()
        rich = label.textFormat() == GuiQt.RichText or (label.textFormat() == GuiQt.AutoText
                                                         and GuiQt.mightBeRichText(text))
        if rich and ("<img" in text or "<a href='file:" in text):
            leaks.append(f"QLabel {label.objectName() or text[:60]!r}")
    for view in root.findChildren(QTextEdit):
        html = view.document().toHtml()
        if "<img" in html or 'href="file:' in html:
            leaks.append(f"text view {view.objectName()!r}")
    return leaks


def shows(root: QWidget, needle: str) -> bool:
    """The hostile text is visible as text (so the test fed it somewhere it is displayed)."""
    texts = [label.text() for label in root.findChildren(QLabel)] + \
        [view.toPlainText() for view in root.findChildren(QTextEdit)]
    if isinstance(root, QLabel):
        texts.append(root.text())
    return any(needle in t or needle.replace("<", "&lt;") in t for t in texts)


def hostile_error() -> PlainError:
    return PlainError(title=f"Failed {HOSTILE}", what=f"The file {TAG} broke", why=LINK,
                      actions=[f"Try {TAG}", "Ask for help"])


def test_toasts_show_hostile_messages_as_text(qtbot):
    from peftstudio.ui.toast import Toast

    toast = Toast(f"Anomaly {HOSTILE}", f"The model said: {HOSTILE}", [{"id": "help", "label": "Help"}])
    qtbot.addWidget(toast)
    assert shows(toast, TAG) and markup_leaks(toast) == []


def test_the_dashboards_error_toast_and_the_error_dialog(qtbot, tmp_path):
    from peftstudio.ui.dashboard import DashboardWidget
    from peftstudio.ui.error_dialog import error_box

    box = error_box(hostile_error())
    qtbot.addWidget(box)
    assert box.textFormat() == GuiQt.PlainText and TAG in box.informativeText()
    informative = box.findChild(QLabel, "qt_msgbox_informativelabel")
    assert informative is not None and informative.textFormat() == GuiQt.PlainText
    dashboard = DashboardWidget(notifications_enabled=False)
    qtbot.addWidget(dashboard)
    dashboard.show_error(hostile_error().to_dict())
    dashboard.show_anomaly({"anomaly_type": "loss_spike", "message": HOSTILE, "severity": "high", "actions": []})
    assert shows(dashboard, TAG) and markup_leaks(dashboard) == []


def test_the_export_report_shows_a_hostile_model_answer_as_text(qtbot, tmp_path):
    from peftstudio.engine.export.exporter import ExportResult
    from peftstudio.engine.export.verify import VerificationReport
    from peftstudio.ui.export_dialog import ExportDialog

    run = tmp_path / f"run{TAG.replace('/', '_')}"
    run.mkdir()
    dialog = ExportDialog(run)
    qtbot.addWidget(dialog)
    folder = tmp_path / "export"
    folder.mkdir()
    report = VerificationReport(format="hf", reader="transformers", loaded=True, passed=True,
                                sample_answer=f"Sure! {HOSTILE} ![x](file:///etc/passwd)", reference_answer=HOSTILE)
    dialog._on_done(ExportResult("hf", folder, ["a"], report, 1.0, {"push_error": HOSTILE}))
    assert shows(dialog, TAG) and markup_leaks(dialog) == []
    dialog._on_failed(hostile_error())
    assert shows(dialog, TAG) and markup_leaks(dialog) == []


def test_the_wizard_shows_hostile_file_names_and_rows_as_text(qtbot, tmp_path):
    from peftstudio.engine.planning.hardware import hardware_profile
    from peftstudio.ui.wizard.wizard import TrainingWizard

    dataset = tmp_path / "<img src=x onerror=alert(1)><a href=file:x>data.jsonl"
    rows = [{"instruction": f"Question {i} {HOSTILE}", "output": f"Answer {i} {HOSTILE}"} for i in range(60)]
    dataset.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    wizard = TrainingWizard(hardware_profile())
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    wizard.dataset_page.set_dataset(str(dataset))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=120_000)
    assert shows(wizard.dataset_page, "<img src=x") and markup_leaks(wizard) == []
    wizard.next()
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    assert shows(wizard.review_page, "<img src=x") and markup_leaks(wizard) == []

    # a file that is not a dataset: the reason names the file too
    broken = tmp_path / "<img src=y>.json"
    broken.write_text("[" * 1000, encoding="utf-8")
    wizard.back()
    wizard.back()
    wizard.back()
    wizard.dataset_page.set_dataset(str(broken))
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=120_000)
    assert markup_leaks(wizard) == []
