"""Demo model load times: first load (GGUF dequantized and converted) vs later loads (cached safetensors).

Usage: python bench/model_load.py
"""
from __future__ import annotations

import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["PEFTSTUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="peftstudio-bench-cache-")  # a cold cache

from peftstudio.cli import quiet_libraries  # noqa: E402


def main() -> int:
    quiet_libraries()
    from peftstudio.engine.models import DEMO_MODEL_ID, load_causal_lm, load_tokenizer, resolve_model, trainable_folder

    started = time.perf_counter()
    folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
    load_causal_lm(folder)
    first = time.perf_counter() - started

    started = time.perf_counter()
    folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
    load_tokenizer(folder)
    load_causal_lm(folder)
    later = time.perf_counter() - started
    print(f"first load (GGUF -> cached safetensors + load): {first:6.1f} s")
    print(f"later load (cached safetensors):               {later:6.2f} s")
    print(f"speed-up: {first / later:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
