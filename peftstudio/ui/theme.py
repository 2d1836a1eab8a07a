"""The light, dark or system colour scheme of the whole application."""
from __future__ import annotations


def apply_theme(app, theme: str) -> None:
    """'system' follows the desktop's light/dark choice; 'light' and 'dark' force one.

    Qt 6.8+ asks the platform for the scheme; where the platform cannot switch (some Linux desktops,
    offscreen), a Fusion palette of the chosen scheme is applied instead."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPalette

    wanted = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(wanted)
    if wanted == Qt.ColorScheme.Unknown or hints.colorScheme() == wanted:
        app.setPalette(QPalette())  # the platform's own
        return
    app.setStyle("Fusion")
    palette = app.style().standardPalette()
    if wanted == Qt.ColorScheme.Dark:
        for role, color in ((QPalette.Window, "#2b2b2b"), (QPalette.WindowText, "#e6e6e6"),
                            (QPalette.Base, "#1e1e1e"), (QPalette.AlternateBase, "#2b2b2b"),
                            (QPalette.Text, "#e6e6e6"), (QPalette.Button, "#353535"),
                            (QPalette.ButtonText, "#e6e6e6"), (QPalette.Highlight, "#2a6fdb"),
                            (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, "#353535"),
                            (QPalette.ToolTipText, "#e6e6e6")):
            palette.setColor(role, QColor(color))
    app.setPalette(palette)
