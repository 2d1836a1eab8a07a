"""How long the user waits: process start to main window shown, and wizard page switches.

Target: main window under 1.5 s on this machine, with torch/transformers not imported; opening the
wizard and moving between pages under 100 ms each. Baseline in the same run: a bare QApplication with
an empty QMainWindow (what any PySide6 app pays).
Usage: python bench/startup.py
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, time, sys, os, psutil
started = psutil.Process().create_time()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
if sys.argv[1] == "app":
    from peftstudio.ui.main_window import MainWindow
    window = MainWindow()
else:
    window = QMainWindow()
window.show()
def shown():
    result = {"seconds": time.time() - started,
              "heavy": sorted(m for m in ("torch", "transformers", "peft", "datasets") if m in sys.modules)}
    if sys.argv[1] == "app":
        t = time.perf_counter(); wizard = window.new_fine_tune(); app.processEvents()
        result["wizard_open_ms"] = (time.perf_counter() - t) * 1000
        steps = []
        for _ in range(2):  # use case -> dataset and back
            t = time.perf_counter(); wizard.next(); app.processEvents(); steps.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter(); wizard.back(); app.processEvents(); steps.append((time.perf_counter() - t) * 1000)
        result["page_switch_ms"] = max(steps)
    print(json.dumps(result)); app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def measure(kind: str, runs: int = 5) -> list[dict]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    out = []
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-c", CHILD, kind], capture_output=True, text=True, env=env,
                                check=True)
        out.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return out


def main() -> int:
    bare = measure("bare")
    app = measure("app")
    bare_s = statistics.median(r["seconds"] for r in bare)
    app_s = statistics.median(r["seconds"] for r in app)
    print(f"empty PySide6 window: {bare_s:.2f} s (median of {len(bare)})")
    print(f"PEFT Studio main window: {app_s:.2f} s (median of {len(app)}); ratio to the empty window "
          f"{app_s / bare_s:.2f}; heavy modules imported: {app[0]['heavy'] or 'none'}")
    print(f"open the wizard: {statistics.median(r['wizard_open_ms'] for r in app):.0f} ms; slowest page switch: "
          f"{max(r['page_switch_ms'] for r in app):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
