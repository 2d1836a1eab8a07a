"""Every architecture in the export table, end to end: a tiny model of the family trained for 2 steps through
`peftstudio train`, exported as F16 and Q4_K_M, and judged by llama.cpp: F16 gives the same greedy tokens
as transformers; Q4_K_M agrees with the model about as well as llama.cpp's own quantizer of the same
weights does, and picks the same type for every tensor as llama.cpp's quantizer."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import signature_rows
from peftstudio.engine.export import ARCHITECTURES, llama_cpp_reference
from peftstudio.engine.export.verify import Agreement, agreement_margin
from tiny_families import FAMILIES, tiny_family_folder

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not llama_cpp_reference.available(), reason="llama-cpp-python is a test dependency")]
SMALL = json.dumps({"batch_size": 2, "max_seq_length": 64, "lora_r": 8, "lora_alpha": 16, "save_steps": 100,
                    "eval_steps": 100, "learning_rate": 1e-3})


def test_every_architecture_in_the_table_has_a_family_test():
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    tested = {MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[model_type] for model_type, _, _ in FAMILIES.values()}
    assert set(ARCHITECTURES) == tested


def tensor_types(path) -> dict[str, str]:
    import gguf

    return {t.name: t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_trains_exports_and_runs_in_llama_cpp(family, tmp_path):
    from peftstudio.engine.export import export_run

    base = tiny_family_folder(family, tmp_path / f"tiny-{family}")
    dataset = tmp_path / "data.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in signature_rows(16)), encoding="utf-8")
    run = tmp_path / "run"
    trained = subprocess.run([sys.executable, "-m", "peftstudio", "train", "--model", str(base), "--dataset",
                              str(dataset), "--max-steps", "2", "--config", SMALL, "--out", str(run), "--json"],
                             capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]

    f16 = export_run(run, "gguf", tmp_path / "f16", quant="f16")
    report = f16.report
    assert report.reader.startswith("llama.cpp") and report.same_tokenization, report.to_dict()
    assert report.same_continuation and report.passed, report.to_dict()

    q4 = export_run(run, "ollama", tmp_path / "q4", quant="q4_k_m")
    report = q4.report
    assert report.reader.startswith("llama.cpp") and report.passed, report.to_dict()
    ours, theirs = report.agreement, report.llama_cpp_quantizer
    assert theirs is not None, "llama.cpp's own quantizer was not measured beside ours"
    # 5 points, or two standard errors where a tiny random model's 96 positions make 5 points noise
    margin = agreement_margin(Agreement(theirs["top1_agreement"], theirs["mean_kl"], theirs["positions"]))
    assert ours["top1_agreement"] >= theirs["top1_agreement"] - margin, (ours, theirs)

    ours_file = next((tmp_path / "q4").glob("*.gguf"))
    llama_file = tmp_path / "llama-cpp-q4_k_m.gguf"
    llama_cpp_reference.quantize_file(next((tmp_path / "f16").glob("*.gguf")), llama_file, "q4_k_m")
    assert tensor_types(ours_file) == tensor_types(llama_file)


def test_the_agreement_margin_is_five_points_unless_the_positions_are_too_few():
    assert agreement_margin(Agreement(0.95, 0.1, 96)) == 0.05  # a real model: 2 SE = 4.4 points
    assert agreement_margin(Agreement(0.45, 0.3, 10_000)) == 0.05
    assert abs(agreement_margin(Agreement(0.45, 0.3, 96)) - 2 * (0.45 * 0.55 / 96) ** 0.5) < 1e-12  # ~10 points
