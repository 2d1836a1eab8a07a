"""Issue 24 in the wizard: Create from documents (three documents written by the test, the demo model as
teacher), examples appearing as they are made, reviewed (one left out, one edited), used as the dataset, and the
wizard driven on to a launched run that trains on them."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt

from document_writers import write_docx, write_markdown, write_pdf
from peftstudio.engine.data import read_made
from peftstudio.engine.models import DEMO_MODEL_ID
from peftstudio.ui.main_window import MainWindow


def test_create_from_documents_to_a_launched_run(qtbot, own_data_dir, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "reactor.pdf"), write_docx(folder / "history.docx"), write_markdown(folder / "tea.md")
    window = MainWindow()
    window.settings.evaluate_after_run = False
    qtbot.addWidget(window)
    wizard = window.new_fine_tune()
    qtbot.mouseClick(wizard.use_case_page.cards["question-answering"], Qt.LeftButton)
    wizard.next()
    dialog = wizard.dataset_page.create_from_documents()
    dialog.add_documents([str(folder)])
    assert dialog.files.count() == 3
    assert dialog.teacher.currentText() == DEMO_MODEL_ID
    dialog.count.setValue(4)
    qtbot.mouseClick(dialog.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text().startswith(("Done", "Stopped")) or "could not" in
                    dialog.status.text(), timeout=600_000)
    assert dialog.status.text().startswith("Done: 4 examples"), dialog.status.text()
    assert dialog.table.rowCount() == 4 and dialog.progress.value() == 4
    sources = {dialog.table.item(r, 3).text() for r in range(4)}
    assert {"reactor.pdf", "history.docx > Town history > The bridge", "tea.md > Tea guide > Brewing"} <= sources
    assert all(dialog.table.item(r, 4).text() for r in range(4))  # every row says its check ("ok" or its flags)
    # the passage behind each row, escaped: a document's "<b>" or "<script>" is shown, not rendered
    hostile = dict(dialog.rows[0], source={**dialog.rows[0]["source"], "passage": "<b>bold</b> & <script>x</script>"})
    dialog._add_row(hostile)
    assert dialog.table.item(4, 3).toolTip() == "<p>&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;</p>"
    dialog.table.removeRow(4)
    dialog.rows.pop()
    dialog.table.item(1, 0).setCheckState(Qt.Unchecked)  # left out
    dialog.table.item(0, 2).setText("The reactor runs at 451 kelvin.")  # edited
    qtbot.mouseClick(dialog.use_button, Qt.LeftButton)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: not wizard.dataset_page.busy, timeout=120_000)
    reviewed = wizard.state.dataset_path
    assert reviewed.endswith("-reviewed.jsonl")
    rows = [json.loads(line) for line in open(reviewed, encoding="utf-8")]
    assert len(rows) == 3 and rows[0]["output"] == "The reactor runs at 451 kelvin." and "review" not in rows[0]
    assert len(read_made(dialog.output_path())) == 4  # the generated file stays whole, for going on later
    assert "3 usable examples" in wizard.dataset_page.summary.text()

    wizard.next()
    wizard.next()
    wizard.model.set_setting("max_steps", 2)
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    with qtbot.waitSignal(wizard.launch_requested, timeout=10_000):
        wizard.button(wizard.WizardButton.FinishButton).click()
    dashboard = window.dashboards[-1]
    qtbot.waitUntil(lambda: dashboard.status.text().startswith(("Finished", "Failed")), timeout=600_000)
    assert dashboard.status.text().startswith("Finished"), dashboard.status.text()
    run_config = json.loads((dashboard.run_dir / "config.json").read_text(encoding="utf-8"))
    assert run_config["dataset_path"] == reviewed
