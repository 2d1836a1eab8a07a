import json
import subprocess
import sys


def validate(*args):
    return subprocess.run([sys.executable, "-m", "peftstudio", "validate", *args], capture_output=True, text=True,
                          timeout=300)


def test_exit_codes_and_json(tmp_path):
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(json.dumps({"prompt": f"p{i}", "completion": f"c{i}"}) for i in range(60)))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "a", "completion": "b"}\n{oops\n')
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))

    result = validate(str(clean), "--json")
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert document["schema"]["name"] == "prompt_completion" and document["rows_usable"] == 60
    assert document["preview"][0]["example"]["messages"][0]["content"] == "p0"

    result = validate(str(broken), "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["errors"] == 1

    result = validate(str(binary), "--json")
    assert result.returncode == 2 and json.loads(result.stdout)["readable"] is False

    result = validate(str(broken))
    assert result.returncode == 1 and "row 2" in result.stdout and "Traceback" not in result.stderr


def test_fix_and_model_statistics(tmp_path):
    source = tmp_path / "d.jsonl"
    source.write_text("\n".join([json.dumps({"instruction": "Hi", "output": "Hello"})] * 3) + "\n")
    result = validate(str(source), "--fix", str(tmp_path / "fixed.jsonl"), "--model",
                      "HuggingFaceTB/SmolLM2-135M-Instruct", "--json")
    assert result.returncode == 0, result.stderr  # duplicates are warnings
    document = json.loads(result.stdout)
    assert document["repair"]["rows_out"] == 1
    assert document["stats"]["tokens_max"] > 10 and "<|im_start|>" in document["preview"][0]["model_text"]
    assert len((tmp_path / "fixed.jsonl").read_text().splitlines()) == 1
