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
