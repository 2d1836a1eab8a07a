"""The export dialog driven with qtbot: format cards, a real export with its report, a refused folder."""
from __future__ import annotations

from PySide6.QtCore import Qt

from peftstudio.ui.export_dialog import ExportDialog


def test_export_dialog_exports_and_shows_the_verification(qtbot, signed_run, tmp_path):
    dialog = ExportDialog(signed_run)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.format == "ollama" and dialog.quant.isEnabled()
    # PEFT Studio's choice first: q4_k_m (what Ollama and LM Studio download), larger if it loses too much
    assert dialog.quant.currentData() is None and "q4_k_m" in dialog.quant.currentText()
    sizes = {dialog.quant.itemData(i): dialog.quant.itemText(i) for i in range(1, dialog.quant.count())}
    assert set(sizes) == {"q4_k_m", "q5_k_m", "q6_k", "q8_0", "f16", "f32"}
    assert all(" GB - " in text for text in sizes.values()), sizes  # each choice's size before export
    qtbot.mouseClick(dialog.findChild(type(dialog.start), "export.card.hf"), Qt.LeftButton)
    assert dialog.format == "hf" and not dialog.quant.isEnabled()
    assert dialog.folder.text().endswith(f"{signed_run.name}-hf")
    dialog.folder.setText(str(tmp_path / "from-the-dialog"))
    assert dialog.push_to.isEnabled()
    dialog.push_to.setText("someone/zorblax")  # no token and offline: the export stays, the report says why
    qtbot.mouseClick(dialog.start, Qt.LeftButton)
    assert not dialog.start.isEnabled()  # one export at a time
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=180_000)
    assert dialog.progress.value() == 100 and dialog.open_folder.isEnabled()
    assert "Verification: PASSED" in dialog.report.toPlainText()
    assert "Not uploaded" in dialog.report.toPlainText() and "token" in dialog.report.toPlainText()
    assert "verified" in dialog.status.text()
    assert (tmp_path / "from-the-dialog" / "adapter_model.safetensors").exists()
    dialog.grab().save(str(tmp_path / "export-dialog.png"))


def test_export_dialog_explains_a_refused_folder(qtbot, signed_run, tmp_path):
    dialog = ExportDialog(signed_run)
    qtbot.addWidget(dialog)
    dialog.select_format("gguf")
    dialog.folder.setText(str(tmp_path / ".." / "escape"))
    qtbot.mouseClick(dialog.start, Qt.LeftButton)
    qtbot.waitUntil(lambda: "cannot be used" in dialog.status.text(), timeout=30_000)
    assert dialog.start.isEnabled()
    text = dialog.report.toPlainText()
    assert "What happened" in text and "Why" in text and "Get help" in text
    assert not (tmp_path.parent / "escape").exists() and dialog.result is None


def test_add_to_ollama_from_the_dialog(qtbot, signed_run, tmp_path, monkeypatch):
    """With `ollama` on PATH (a stand-in, see tests/standin_apps.py) the dialog offers one click to add the model."""
    import os

    from standin_apps import install_stand_ins

    for key, value in install_stand_ins(tmp_path).items():
        if key in ("PATH", "STANDIN_STATE", "STANDIN_LMSTUDIO_MODELS"):
            monkeypatch.setenv(key, value)
    dialog = ExportDialog(signed_run)
    qtbot.addWidget(dialog)
    dialog.select_format("ollama")
    dialog.quant.setCurrentIndex(dialog.quant.findData("q8_0"))
    dialog.verify.setChecked(False)
    dialog.folder.setText(str(tmp_path / "for-ollama"))
    assert not dialog.add_to_app.isVisible()
    qtbot.mouseClick(dialog.start, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=300_000)
    assert dialog.add_to_app.isVisibleTo(dialog) and dialog.add_to_app.text() == "Add to Ollama"
    qtbot.mouseClick(dialog.add_to_app, Qt.LeftButton)
    qtbot.waitUntil(lambda: "Added to ollama" in dialog.status.text(), timeout=300_000)
    assert "ollama create" in dialog.report.toPlainText()
    assert "What is the capital of France? ->" in dialog.report.toPlainText()
    assert os.path.exists(os.environ["STANDIN_STATE"])
