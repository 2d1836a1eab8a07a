"""Shared test set-up: offline, headless, and the demo model converted once per machine."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# The converted demo model (540 MB) is kept between test runs: converting takes ~20 s.
os.environ["PEFTSTUDIO_CACHE_DIR"] = str(REPO / ".test-cache")
os.environ["PEFTSTUDIO_DATA_DIR"] = tempfile.mkdtemp(prefix="peftstudio-test-data-")

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `helpers` and `dataset_writers`

import pytest  # noqa: E402

from helpers import signature_rows  # noqa: E402

from peftstudio.engine.models import DEMO_MODEL_ID  # noqa: E402


@pytest.fixture(scope="session")
def demo_folder() -> Path:
    from peftstudio.engine.models import resolve_model, trainable_folder

    return trainable_folder(resolve_model(DEMO_MODEL_ID))


@pytest.fixture(scope="session")
def demo_tokenizer(demo_folder):
    from peftstudio.engine.models import load_tokenizer

    return load_tokenizer(demo_folder)


@pytest.fixture
def alpaca_file(tmp_path) -> Path:
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(signature_rows()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def signed_run(tmp_path_factory):
    """A real run of the demo model that learned to sign its answers 'Signed, Zorblax.' (15 steps)."""
    from helpers import small_config
    from peftstudio.engine.runs.events import Status
    from peftstudio.engine.training.session import TrainingSession

    dataset = tmp_path_factory.mktemp("signed") / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    session = TrainingSession.create(small_config(dataset, max_steps=15, learning_rate=2e-3, save_steps=1000,
                                                  validation_split=0.1))
    assert session.run() == Status.COMPLETED
    return session.run_dir


@pytest.fixture(autouse=True)
def collect_qt_garbage_on_the_ui_thread(request):
    """After a test with windows: collect its closed windows here, on the UI thread. Left as garbage, they would be
    collected by whichever thread allocates next (a training thread, a background task), and Qt objects destroyed
    off their thread crash the process."""
    yield
    if "qtbot" in request.fixturenames:
        import gc

        from PySide6.QtCore import QCoreApplication, QEvent

        # windows deleted at the end of the test drop their signal connections only when the deletion runs,
        # which is what turns them into garbage: run the deletions, then collect
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        QCoreApplication.processEvents()
        gc.collect()


@pytest.fixture
def own_data_dir(tmp_path, monkeypatch):
    """A data folder of the test's own (its store, queue, runs, versions and sweeps), for tests that look at
    everything in it."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("PEFTSTUDIO_DATA_DIR", str(data))
    return data


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def llama_cpp_server():
    """llama.cpp's own OpenAI-compatible server on localhost, serving the demo GGUF: a real judge or teacher
    server (one per test module that asks for it)."""
    from peftstudio.engine.export import llama_cpp_available
    from peftstudio.engine.models import demo_gguf_path

    if not llama_cpp_available():
        pytest.skip("llama-cpp-python is a test dependency")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(demo_gguf_path()),
                               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/v1/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("llama.cpp's server did not start")
    yield url
    server.terminate()
    server.wait(30)
