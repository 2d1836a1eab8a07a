"""Event-loop latency of the real UI while a real run of the demo model trains (target p99 < 50 ms).

A QTimer probe fires every 10 ms; its lateness is the latency a user would feel. Baseline in the same
process: the same probe with the same dashboard while nothing trains.
Usage: QT_QPA_PLATFORM=offscreen python bench/ui_latency.py
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".test-cache"))
os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp()
SAMPLE = Path(__file__).resolve().parent.parent / "peftstudio" / "resources" / "samples" / "support-bot.jsonl"


def probe(app, seconds: float, until=None) -> list[float]:
    from PySide6.QtCore import QElapsedTimer, QTimer

    delays, clock = [], QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick():
        now = clock.elapsed()
        delays.append(max(0, now - last[0] - 10))
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    deadline = time.time() + seconds
    while time.time() < deadline and not (until and until()):
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return delays


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from peftstudio.cli import quiet_libraries

    quiet_libraries()
    app = QApplication(sys.argv)
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.training.session import TrainingSession
    from peftstudio.ui.dashboard import DashboardWidget
    from peftstudio.ui.worker import TrainingWorker

    session = TrainingSession.create(TrainingConfig(dataset_path=str(SAMPLE), max_steps=12, batch_size=4,
                                                    max_seq_length=256, save_steps=4, eval_steps=6))
    worker = TrainingWorker(session)
    dashboard = DashboardWidget(worker, notifications_enabled=False)
    dashboard.show()
    idle = probe(app, 5)
    worker.start()
    busy = probe(app, 600, until=lambda: worker.isFinished())
    for name, delays in (("idle", idle), ("training", busy)):
        print(f"{name:9}: {len(delays)} probes, latency p50 {statistics.median(delays):.1f} ms, "
              f"p99 {percentile(delays, 0.99):.1f} ms, max {max(delays):.0f} ms")
    print(json.dumps({"steps_plotted": len(dashboard.series.steps), "status": dashboard.series.status}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
