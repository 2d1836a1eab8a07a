"""The engine: pure Python, never imports Qt. The CLI and the GUI both call it."""
