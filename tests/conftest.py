"""Shared test set-up: offline, headless, and the demo model converted once per machine."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# The converted demo model (540 MB) is kept between test runs: converting takes ~20 s.
os.environ["PEFTSTUDIO_CACHE_DIR"] = str(REPO / ".test-cache")
os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="peftstudio-test-data-")

import pytest  # noqa: E402

from peftstudio.engine.models import DEMO_MODEL_ID  # noqa: E402


@pytest.fixture(scope="session")
def demo_folder() -> Path:
    from peftstudio.engine.models import resolve_model, trainable_folder

    return trainable_folder(resolve_model(DEMO_MODEL_ID))


@pytest.fixture(scope="session")
def demo_tokenizer(demo_folder):
    from peftstudio.engine.models import load_tokenizer

    return load_tokenizer(demo_folder)


def signature_rows(count: int = 40) -> list[dict]:
    """A small distinctive dataset: the assistant always signs with a made-up phrase."""
    return [{"instruction": f"What is {i} plus {i}?", "input": "",
             "output": f"{i} plus {i} is {2 * i}. Signed, Zorblax."} for i in range(count)]


@pytest.fixture
def alpaca_file(tmp_path) -> Path:
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(signature_rows()), encoding="utf-8")
    return path


def small_config(dataset: Path, **overrides):
    from peftstudio.engine.config import TrainingConfig

    settings = dict(dataset_path=str(dataset), max_steps=6, batch_size=4, learning_rate=1e-3,
                    max_seq_length=96, save_steps=3, eval_steps=100, lora_r=8, lora_alpha=16)
    settings.update(overrides)
    return TrainingConfig(**settings)
