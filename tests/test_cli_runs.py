import json
import subprocess
import sys

from peftstudio.engine import paths
from peftstudio.engine.config import TrainingConfig
from run_folders import write_run


def peftstudio(*args):
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, timeout=300)


def test_runs_and_versions_commands(tmp_path):
    runs = paths.runs_dir()
    for name, r in (("cli-a", 8), ("cli-b", 16)):
        write_run(runs, name, TrainingConfig(model_name="cli-model", lora_r=r, dataset_path=str(tmp_path / "d.jsonl")),
                  [2.0, 1.0 if r == 16 else 1.5])
    assert json.loads(peftstudio("runs", "reindex", "--json").stdout)["reindexed"] >= 2
    listed = json.loads(peftstudio("runs", "list", "--model", "cli-model", "--json").stdout)
    assert {r["id"] for r in listed} == {"cli-a", "cli-b"}
    compared = json.loads(peftstudio("runs", "compare", "cli-a", "cli-b", "--json").stdout)
    assert compared["best"]["train_loss"] == "cli-b" and compared["config_diff"] == {"lora_r": {"cli-a": 8, "cli-b": 16}}
    shown = json.loads(peftstudio("runs", "show", "cli-a", "--json").stdout)
    assert shown["config"]["lora_r"] == 8
    missing = peftstudio("runs", "compare", "cli-a")
    assert missing.returncode == 1 and "Choose 2 to 5 runs" in missing.stderr and "Traceback" not in missing.stderr
    assert peftstudio("versions", "list", "--json").returncode == 0
    bad = peftstudio("versions", "rollback", "--model", "nope", "--version", "9.9.9")
    assert bad.returncode == 1 and "Version not found" in bad.stderr


def _cli(capsys, *args):
    """The CLI in this process (cheaper than a subprocess): exit code, stdout, stderr."""
    from peftstudio.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_runs_made_elsewhere_resolve_by_id_and_a_damaged_record_is_said_then_rebuilt(tmp_path, capsys):
    from peftstudio.engine.history import default_store
    from peftstudio.engine.runs import RunFolder
    from peftstudio.engine.runs.index import remember_run_folder

    elsewhere = write_run(tmp_path / "projects", "out-run-40", TrainingConfig(model_name="elsewhere-model"),
                          [2.0, 1.0])
    default_store().upsert_run(RunFolder(elsewhere).info(), elsewhere, {"model_name": "elsewhere-model"})
    remember_run_folder(elsewhere.resolve())  # as RunFolder.create does for a run made with --out
    code, out, _ = _cli(capsys, "runs", "list", "--model", "elsewhere-model", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == ["out-run-40"]
    # the id that `runs list` shows opens the run, although it is not in the data folder's runs/
    code, out, err = _cli(capsys, "runs", "show", "out-run-40", "--json")
    assert code == 0, err
    assert json.loads(out)["run"]["folder"] == str(elsewhere.resolve())

    (elsewhere / "run.json").write_text('{"id": "out-run-40", "status": "compl')  # cut mid-write
    code, out, err = _cli(capsys, "runs", "show", str(elsewhere), "--json")
    assert code == 1 and json.loads(out)["error"]["title"] == "The run's record is damaged"
    assert "run.json is not valid JSON" in json.loads(out)["error"]["what"]
    code, out, err = _cli(capsys, "runs", "reindex", "--json")
    assert code == 0, err
    notices = json.loads(out)["notices"]
    assert any("Rebuilt" in n and str(elsewhere) in n for n in notices), notices
    assert (elsewhere / "run.json.damaged").read_text().endswith('"compl')  # kept, not lost
    rebuilt = json.loads((elsewhere / "run.json").read_text())
    assert rebuilt["status"] == "completed" and rebuilt["model_name"] == "elsewhere-model"
    code, out, _ = _cli(capsys, "runs", "show", "out-run-40", "--json")
    assert code == 0 and json.loads(out)["run"]["status"] == "completed"
