"""`peftstudio --self-test`: a packaged build checks itself and exits 0 only if everything works.

It starts Qt offscreen, opens the main window and the wizard, validates the bundled sample dataset, loads
the demo model and generates a few tokens when the model is present, and prints one JSON line per check.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent / "resources" / "samples" / "support-bot.jsonl"


def _check(name: str, results: list, fn) -> None:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # noqa: BLE001 - the self-test reports every failure and carries on
        detail, ok = f"{type(exc).__name__}: {exc}", False
    results.append({"check": name, "ok": ok, "seconds": round(time.perf_counter() - started, 2), "detail": detail})
    print(json.dumps(results[-1], default=str), flush=True)


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    results: list[dict] = []

    def gui():
        from peftstudio.ui.display_check import problem  # lazy: off the start-up path (bench/startup.py)

        trouble = problem()
        if trouble:
            raise RuntimeError(trouble)
        from PySide6.QtWidgets import QApplication

        from peftstudio.ui.main_window import MainWindow  # lazy: defers PySide6

        app = QApplication.instance() or QApplication(sys.argv[:1])
        window = MainWindow()
        window.show()
        wizard = window.new_fine_tune()
        app.processEvents()
        title = window.windowTitle()
        import psutil

        me = psutil.Process()
        # a one-file build's bootloader (our parent) unpacks the app first: the user waits from its start
        launched = me.parent().create_time() if getattr(sys, "frozen", False) and me.parent() else me.create_time()
        window_after = round(time.time() - launched, 2)
        pages = wizard.pageIds()
        wizard.close()
        window.close()
        return {"window": title, "wizard_pages": len(pages), "window_seconds_after_launch": window_after}

    def dataset():
        from peftstudio.engine.data import validate_file  # lazy: off the start-up path (bench/startup.py)

        report = validate_file(SAMPLE, min_examples=10)
        if report.errors:
            raise RuntimeError(f"{report.errors} errors in the bundled sample")
        return {"rows": report.rows_usable, "schema": report.schema.name}

    def model():
        # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.models import DEMO_MODEL_ID, demo_gguf_path, is_converted, resolve_model

        if demo_gguf_path() is None:
            return "demo model not installed (skipped)"
        source = resolve_model(DEMO_MODEL_ID, allow_download=False)
        import torch

        # lazy: off the start-up path (bench/startup.py)
        from peftstudio.engine.models import load_causal_lm, load_tokenizer, trainable_folder

        converted_before = is_converted(source)
        folder = trainable_folder(source)
        tokenizer, lm = load_tokenizer(folder), load_causal_lm(folder).eval()
        text = tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                             tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids
        with torch.no_grad():
            out = lm.generate(ids, max_new_tokens=8, do_sample=False)
        return {"answer": tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True),
                "converted_before": converted_before}

    _check("main window and wizard", results, gui)
    _check("bundled sample dataset", results, dataset)
    _check("demo model", results, model)
    ok = all(r["ok"] for r in results)
    print(json.dumps({"self_test": "passed" if ok else "failed"}), flush=True)
    return 0 if ok else 1
