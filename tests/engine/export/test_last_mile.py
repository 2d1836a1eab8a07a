"""The last mile on the real demo run: a Q4_K_M export for Ollama that llama.cpp runs and that answers Paris,
chat with the exported file, and the hand-over to Ollama and LM Studio.

Ollama and LM Studio cannot be installed here: `ollama` and `lms` are stand-ins (tests/standin_apps.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from peftstudio.engine.export import llama_cpp_reference
from standin_apps import install_stand_ins

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not llama_cpp_reference.available(), reason="llama-cpp-python is a test dependency")]


@pytest.fixture
def stand_ins(tmp_path):
    return install_stand_ins(tmp_path), tmp_path


def peftstudio(env, *args):
    return subprocess.run([sys.executable, "-m", "peftstudio", *args], capture_output=True, text=True, timeout=900,
                          env=env)


def test_demo_q4_k_m_for_ollama_answers_paris_and_is_added_to_ollama(signed_run, stand_ins):
    import gguf

    env, tmp_path = stand_ins
    out = tmp_path / "for-ollama"
    done = peftstudio(env, "export", str(signed_run), "--format", "ollama", "--out", str(out), "--add", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    report = result["verification"]
    assert report["reader"].startswith("llama.cpp") and report["passed"], report
    assert "Paris" in report["sample_answer"], report
    # journey finding 11: the report says in words what passed and shows a question from the user's own data
    assert "plus" in report["own_prompt"] and report["own_answer_export"] and report["own_answer_model"]
    markdown = (out / "VERIFICATION.md").read_text()
    assert "Passed. llama.cpp (the engine inside Ollama and LM Studio) reads the file" in markdown
    assert "Some different wording is expected at q4_k_m" in markdown
    assert "A question from your own held-back examples" in markdown
    assert report["agreement"]["top1_agreement"] >= report["llama_cpp_quantizer"]["top1_agreement"] - 0.05
    gguf_file = next(out.glob("*-q4_k_m.gguf"))  # q4_k_m is the default for Ollama
    file_type = gguf.GGUFReader(str(gguf_file)).fields["general.file_type"].contents()
    assert file_type == gguf.LlamaFileType.MOSTLY_Q4_K_M

    added = result["added"]
    assert added["app"] == "ollama" and added["commands"][0][:2] == ["ollama", "create"]
    assert "Paris" in added["probe_answer"], added  # the stand-in answers with llama.cpp, as Ollama would
    calls = [json.loads(line) for line in (tmp_path / "ollama-state.log").read_text().splitlines()]
    assert calls[0]["cwd"] == str(out) and calls[0]["args"] == ["create", added["model"], "-f", "Modelfile"]

    chat = subprocess.run([sys.executable, "-m", "peftstudio", "chat", str(gguf_file), "--prompt",
                           "What is the capital of France?", "--json"], capture_output=True, text=True, timeout=300)
    assert chat.returncode == 0, chat.stderr[-2000:]
    answer = json.loads(chat.stdout)
    assert answer["engine"] == "llama.cpp" and "Paris" in answer["answer"] and answer["tokens_per_second"] > 0


def test_lm_studio_export_is_imported_with_lms(signed_run, stand_ins):
    env, tmp_path = stand_ins
    out = tmp_path / "for-lm-studio"
    done = peftstudio(env, "export", str(signed_run), "--format", "lmstudio", "--quant", "q8_0", "--out", str(out),
                      "--add", "--name", "zorblax", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    added = json.loads(done.stdout)["added"]
    assert added["app"] == "lms" and added["model"] == "peftstudio/zorblax"
    copied = tmp_path / "lmstudio-models" / "peftstudio" / "zorblax" / "zorblax-q8_0.gguf"
    assert copied.read_bytes()[:4] == b"GGUF"


def test_hand_over_without_the_app_is_a_plain_error(tmp_path, monkeypatch):
    from peftstudio.engine.errors import PlainError
    from peftstudio.engine.export import hand_over

    monkeypatch.setenv("PATH", str(tmp_path))  # no ollama, no lms
    with pytest.raises(PlainError) as error:
        hand_over(tmp_path, "ollama", "zorblax")
    assert "not on PATH" in error.value.what and "README" in " ".join(error.value.actions)


def test_add_is_refused_for_formats_without_an_app(signed_run, tmp_path):
    done = peftstudio(dict(os.environ), "export", str(signed_run), "--format", "hf", "--out", str(tmp_path / "x"),
                      "--add")
    assert done.returncode == 1 and "Only Ollama and LM Studio" in done.stderr and "Traceback" not in done.stderr


def test_chat_with_a_missing_gguf_is_a_plain_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "peftstudio", "chat", str(tmp_path / "nope.gguf"), "--prompt", "hi"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "GGUF file not found" in done.stderr and "Traceback" not in done.stderr
