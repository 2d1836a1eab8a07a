"""Issue 40: a GGUF type that loses too much of a small model's answers is said plainly, and when the type is
left to PEFT Studio the smallest larger type that keeps them is written instead (judged in llama.cpp)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from peftstudio.engine.export import quant_choice
from peftstudio.engine.export.quant_choice import KEEPS_BEHAVIOUR, climb


def _report(top1: float, answer: str = "an answer"):
    return SimpleNamespace(loaded=True, agreement={"top1_agreement": top1, "mean_kl": 0.1}, sample_answer=answer)


def test_the_climb_keeps_the_smallest_type_that_agrees_enough():
    measured = {"q5_k_m": 0.88, "q6_k": 0.93, "q8_0": 0.99}
    asked = []
    advice, kept = climb("q4_k_m", _report(0.80), lambda quant: asked.append(quant) or _report(measured[quant]))
    assert kept == "q6_k" and asked == ["q5_k_m", "q6_k"]  # q8_0 never written: q6_k already keeps them
    assert advice.recommended == "q6_k" and [t["quant"] for t in advice.tried] == ["q4_k_m", "q5_k_m", "q6_k"]
    # none keeps them: the most faithful type tried is kept, and the words say none reached the line
    advice, kept = climb("q4_k_m", _report(0.5), lambda quant: _report(0.6))
    assert kept == "q8_0" and advice.recommended is None
    assert "none reached" in quant_choice.advice_sentence(advice)
    assert quant_choice.keeps_behaviour(_report(KEEPS_BEHAVIOUR)) and not quant_choice.keeps_behaviour(_report(0.8))


@pytest.fixture(scope="module")
def barely_trained_run(tmp_path_factory):
    """The demo trained 2 steps at the default settings: measured, it agrees about 85% at q4_k_m in llama.cpp and
    answers "What is the capital of France?" with nonsense there, while the model in memory says Paris."""
    from helpers import signature_rows
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.runs.events import Status
    from peftstudio.engine.training.session import TrainingSession

    dataset = tmp_path_factory.mktemp("barely") / "signature.json"
    dataset.write_text(json.dumps(signature_rows()), encoding="utf-8")
    config = TrainingConfig(dataset_path=str(dataset), max_steps=2, batch_size=4, max_seq_length=64, save_steps=100)
    session = TrainingSession.create(config, tmp_path_factory.mktemp("barely-run") / "run")
    assert session.run() == Status.COMPLETED
    session.close()
    return session.run_dir


@pytest.mark.skipif(not __import__("importlib").util.find_spec("llama_cpp"), reason="llama.cpp judges the files")
def test_a_small_model_exported_with_the_type_left_open_keeps_its_answers(barely_trained_run, tmp_path):
    from peftstudio.engine.export import export_run

    chosen = export_run(barely_trained_run, "gguf", tmp_path / "chosen", quant=None)
    advice = chosen.report.quant_advice
    assert advice is not None, chosen.report.markdown()  # the 135M demo loses too much at q4_k_m
    first = advice["tried"][0]
    assert first["quant"] == "q4_k_m" and first["top1_agreement"] < KEEPS_BEHAVIOUR
    assert advice["chosen"] != "q4_k_m" and chosen.report.quant == advice["chosen"]
    assert chosen.report.agreement["top1_agreement"] >= KEEPS_BEHAVIOUR or advice["chosen"] == "q8_0"
    ggufs = [name for name in chosen.files if name.endswith(".gguf")]
    assert ggufs == [f"{chosen.details['model_name']}-{advice['chosen']}.gguf"]  # only the kept file
    assert not any(".larger-types" in name for name in chosen.files)
    report = chosen.report.markdown()
    assert "What is the capital of France?" in report
    assert all(repr(t["probe_answer"]) in report for t in advice["tried"])  # the probe answered by each type
    assert f"So {advice['chosen']} was written instead" in chosen.report.summary()
    assert json.loads((chosen.folder / "verification.json").read_text())["quant_advice"]["chosen"] == advice["chosen"]

    # had the user asked for q4_k_m, the file is kept and the words say what it costs and what to do (the same
    # measured finding; exporting it again would only repeat the measurement)
    kept = quant_choice.plain_advice("q4_k_m", SimpleNamespace(agreement={"top1_agreement": first["top1_agreement"],
                                                                          "mean_kl": first["mean_kl"]},
                                                               sample_answer=first["probe_answer"]))
    sentence = quant_choice.advice_sentence(kept)
    assert kept.chosen is None
    assert "below the 90% that keeps what it learned" in sentence and "Export again without choosing" in sentence
