"""`peftstudio export`: a verified package, JSON output, plain errors for bad destinations."""
import json
import subprocess
import sys


def peftstudio(*args):
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, timeout=300)


def test_export_adapter_from_the_command_line(signed_run, tmp_path):
    out = tmp_path / "adapter-export"
    done = peftstudio("export", str(signed_run), "--format", "hf", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["verification"]["passed"] and "adapter_model.safetensors" in result["files"]
    assert "Export" in done.stderr  # the progress bar goes to stderr

    again = peftstudio("export", str(signed_run), "--format", "hf", "--out", str(out))
    assert again.returncode == 1 and "not empty" in again.stderr and "Traceback" not in again.stderr


def test_export_refuses_traversal_and_unfinished_runs(signed_run, tmp_path):
    escape = peftstudio("export", str(signed_run), "--format", "gguf", "--out", str(tmp_path / ".." / "x"))
    assert escape.returncode == 1 and "cannot be used" in escape.stderr and "Traceback" not in escape.stderr
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "config.json").write_text((signed_run / "config.json").read_text())
    unfinished = peftstudio("export", str(tmp_path / "unfinished"), "--format", "hf", "--out", str(tmp_path / "y"))
    assert unfinished.returncode == 1 and "nothing to export" in unfinished.stderr
    assert not (tmp_path / "y").exists()
