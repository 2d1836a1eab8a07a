"""Issue 16, security: a run folder is data, the instance socket is private, files expand within bounds,
secrets are created private and exports carry no local paths."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.training.session import TrainingSession

# prints the peak memory (KB) of a CLI command after it ran, so a test can bound it. VmHWM is this process's
# own high-water mark; ru_maxrss would also count the pages of the (large) pytest process it was forked from.
MEASURED_CLI = ("import resource, sys\nfrom peftstudio.cli import main\ncode = main(sys.argv[1:])\n"
                "try:\n    peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
                "except OSError:\n    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
                "sys.stderr.write(f'\\nPEAK_RSS_KB={peak}\\n')\n"
                "raise SystemExit(code)")


def measured_cli(*args, timeout=300):
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", MEASURED_CLI, *args], capture_output=True, text=True,
                            timeout=timeout)
    peak = int(result.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) * 1024
    return result, peak, time.perf_counter() - started


def test_trust_remote_code_in_a_run_folder_is_not_consent(tmp_path, monkeypatch):
    from peftstudio.engine import consent

    monkeypatch.setenv("PEFTSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    config = TrainingConfig(model_name="someone/custom-code-model", dataset_path="x.jsonl", trust_remote_code=True)
    with pytest.raises(PlainError, match="run the model's own code"):
        consent.allowed_remote_code(config)
    assert consent.allowed_remote_code(TrainingConfig(model_name="someone/custom-code-model")) is False
    consent.grant("someone/custom-code-model")  # what --trust-remote-code does: for this model only
    assert consent.allowed_remote_code(config) is True
    other = TrainingConfig(model_name="someone/other-model", trust_remote_code=True)
    with pytest.raises(PlainError):
        consent.allowed_remote_code(other)
    mode = stat.S_IMODE((tmp_path / "config" / consent.CONSENT_FILE).stat().st_mode)
    assert mode == 0o600

    # a run folder someone handed over: resuming it runs nothing and says why
    run = TrainingSession.create(TrainingConfig(model_name="someone/custom-code-model", dataset_path="x.jsonl",
                                                trust_remote_code=True, max_steps=1), tmp_path / "run")
    run.close()
    result = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--resume", str(run.run_dir)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PEFTSTUDIO_CONFIG_DIR": str(tmp_path / "other-user")})
    assert result.returncode == 1 and "run the model's own code" in result.stderr
    assert "Traceback" not in result.stderr and not (run.run_dir / "checkpoints").exists()


def test_launched_processes_do_not_import_code_from_the_run_folder(tmp_path):
    from peftstudio.engine.training import launcher

    config = TrainingConfig(model_name="nobody/not-a-model", dataset_path=str(tmp_path / "x.jsonl"), max_steps=1,
                            num_processes=1)
    session = TrainingSession.create(config, tmp_path / "run")
    marker = tmp_path / "imported-from-run-folder"
    for module in ("accelerate", "peftstudio", "torch"):  # shadows of what the launch imports first
        (session.run_dir / f"{module}.py").write_text(f"open({str(marker)!r}, 'w').write('{module}')\n")
    launched = launcher.start(session.run_dir, session.config)
    assert launched.process.wait(timeout=240) is not None
    session.close()
    assert not marker.exists(), marker.read_text()


def test_the_single_instance_socket_is_private_and_a_squatter_cannot_block_the_app(qtbot, capsys):
    from PySide6.QtNetwork import QLocalServer

    from peftstudio.engine.paths import data_dir
    from peftstudio.ui.single_instance import InstanceServer, ask_running_instance, server_name

    name = server_name()
    folder = Path(name).parent
    assert folder != Path("/tmp") and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert folder.stat().st_uid == os.getuid()
    # someone else listens first on the name older versions used: the app does not mistake it for itself
    import getpass

    key = hashlib.sha1(f"{getpass.getuser()}|{data_dir().resolve()}".encode()).hexdigest()[:12]
    squatter = QLocalServer()
    QLocalServer.removeServer(f"peftstudio-{key}")
    assert squatter.listen(f"peftstudio-{key}")
    assert ask_running_instance() is False
    server = InstanceServer()
    with qtbot.waitSignal(server.activate_requested, timeout=5000):
        assert ask_running_instance() is True
    assert "already open" in capsys.readouterr().err
    server.close()
    squatter.close()


def _parquet_bomb(path: Path, rows: int = 200_000, cell: int = 30_000) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * cell]))
    pq.write_table(pa.table({"instruction": column, "output": column}), path, compression="zstd")


def test_a_parquet_bomb_and_a_long_field_stay_within_bounds(tmp_path):
    bomb = tmp_path / "bomb.parquet"
    _parquet_bomb(bomb)
    assert bomb.stat().st_size < 25_000  # ~12 GB once decoded
    result, peak, seconds = measured_cli("validate", str(bomb), "--json")
    assert result.returncode == 2 and "limit is 1 GB" in result.stdout and "Traceback" not in result.stderr
    assert peak < 1.5 * 2**30, peak  # generous: a bound, not a speed test
    print(f"parquet bomb: {bomb.stat().st_size} bytes on disk, refused in {seconds:.2f} s at {peak / 2**20:.0f} MB")

    long_field = tmp_path / "long.jsonl"
    rows = [{"instruction": "a" * 120_000 + "@", "output": "b." * 60_000 + "@x"}]
    rows += [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(5)]
    long_field.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result, peak, seconds = measured_cli("validate", str(long_field), "--json")
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr
    assert seconds < 30, seconds  # was 49 s for one such field before the check became linear
    print(f"120 KB field: validated in {seconds:.2f} s")


def test_the_settings_file_is_created_private(tmp_path, monkeypatch):
    from peftstudio.engine.app_settings import AppSettings, save_settings, settings_file

    monkeypatch.setenv("PEFTSTUDIO_CONFIG_DIR", str(tmp_path))
    modes = []
    real_replace = os.replace
    monkeypatch.setattr(os, "chmod", lambda *a, **k: pytest.fail("the file must be created private, not fixed later"))
    monkeypatch.setattr(os, "replace", lambda src, dst: modes.append(stat.S_IMODE(os.stat(src).st_mode))
                        or real_replace(src, dst))
    old_umask = os.umask(0)  # the most permissive default a user could have
    try:
        save_settings(AppSettings(hf_token="hf_secret"))
    finally:
        os.umask(old_umask)
    assert modes == [0o600] and stat.S_IMODE(settings_file().stat().st_mode) == 0o600


def test_exports_carry_no_local_paths_or_dataset_file_names(tmp_path):
    from peftstudio.engine.export.model_card import model_card
    from peftstudio.engine.export.run_model import ExportableRun

    secret_model = tmp_path / "home-alice-secret-project" / "my-base-model"
    config = TrainingConfig(model_name=str(secret_model), dataset_path=str(tmp_path / "patients-2026.jsonl"))
    run = ExportableRun(run_dir=tmp_path / "run", config=config, info={"summary": {"steps": 3}},
                        base_folder=secret_model, source_gguf=None, data_summary={"train_examples": 9})
    assert run.base_model_id == "my-base-model"
    card = model_card(run, merged=False, repo_hint="you/model")
    assert "home-alice-secret-project" not in card and "patients-2026" not in card and str(tmp_path) not in card
    hub = TrainingConfig(model_name="HuggingFaceTB/SmolLM2-135M-Instruct")
    assert ExportableRun(tmp_path, hub, {}, tmp_path, None).base_model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
