import json
import subprocess
import sys
import time

from helpers import signature_rows


def peftstudio(*args):
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, timeout=600)


def test_hardware_json_is_quick_and_complete():
    started = time.perf_counter()
    result = peftstudio("hardware", "--json", "--refresh")
    assert result.returncode == 0
    profile = json.loads(result.stdout)
    assert {"cpu_model", "cpu_cores", "ram_total", "ram_available", "disk_free", "gpus", "cuda_available",
            "mps_available", "bf16_supported", "device"} <= set(profile)
    assert profile["device"] == "cpu" and profile["gpus"] == []
    assert time.perf_counter() - started < 30  # generous: includes interpreter start on a loaded CI machine


def test_plan_for_the_demo_model_and_an_infeasible_one(tmp_path):
    dataset = tmp_path / "d.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in signature_rows(120)))
    result = peftstudio("plan", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset", str(dataset),
                        "--profile", "question-answering", "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["feasible"] and plan["config"]["lora_r"] == 16 and plan["config"]["learning_rate"] == 1e-4
    assert plan["estimates"]["duration_min"] <= plan["estimates"]["duration_max"] and plan["alternatives"]

    result = peftstudio("plan", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--dataset", str(dataset), "--json")
    if json.loads(result.stdout)["feasible"]:  # a machine with more than ~37 GB free RAM can train it
        assert result.returncode == 0
    else:
        assert result.returncode == 1 and "needs about" in json.loads(result.stdout)["explanation"]


def test_train_with_a_profile_uses_the_planner_and_explicit_settings_win(tmp_path):
    dataset = tmp_path / "d.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in signature_rows(60)))
    out = tmp_path / "run"
    result = peftstudio("train", "--model", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset", str(dataset),
                        "--profile", "creative-writing", "--max-steps", "2",
                        "--config", json.dumps({"batch_size": 2, "gradient_accumulation": 1}), "--out", str(out),
                        "--json")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["lora_r"] == 32 and config["lora_dropout"] == 0.1  # from the profile
    assert config["batch_size"] == 2 and config["max_steps"] == 2  # explicit settings win
    assert config["max_seq_length"] == 128  # the dataset's p95 rounded up
