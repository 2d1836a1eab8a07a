"""Real exports of a fine-tuned demo run in every format, each loaded back by an independent reader."""
from __future__ import annotations

import json

import pytest
import yaml

from peftstudio.engine.export.exporter import export_run
from peftstudio.engine.export.ollama import parse_modelfile

SIGNED_PROMPT = "What is 7 plus 7?"


@pytest.fixture(scope="module")
def exports(signed_run, tmp_path_factory):
    """The signed run exported once per format (GGUF as f16, Ollama and LM Studio as q8_0)."""
    out = tmp_path_factory.mktemp("exports")
    plan = {"hf": "f16", "hf-merged": "f16", "gguf": "f16", "ollama": "q8_0", "lmstudio": "q8_0"}
    return {fmt: export_run(signed_run, fmt, out / fmt, quant=quant) for fmt, quant in plan.items()}


def _answer(model, tokenizer, prompt=SIGNED_PROMPT) -> str:
    import torch

    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True)
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


# **Feature: simplified-llm-optimization, Property 32: HuggingFace export completeness**
def test_adapter_export_is_complete_and_loads_with_peft(exports, demo_folder):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = exports["hf"]
    names = set(result.files)
    assert {"adapter_model.safetensors", "adapter_config.json", "README.md", "tokenizer.json",
            "tokenizer_config.json", "chat_template.jinja"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names)
    card = (result.folder / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---")[1])
    assert front["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and front["library_name"] == "peft"
    for section in ("## Intended use", "## Training data", "## Training configuration", "## Results", "## How to load"):
        assert section in card
    assert "Training examples: 36" in card  # 40 rows, 10% held back for validation

    base = AutoModelForCausalLM.from_pretrained(str(demo_folder))
    model = PeftModel.from_pretrained(base, str(result.folder)).eval()
    assert "Zorblax" in _answer(model, AutoTokenizer.from_pretrained(str(result.folder)))


# **Feature: simplified-llm-optimization, Property 32: HuggingFace export completeness**
def test_merged_export_is_complete_and_loads_with_transformers_alone(exports):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = exports["hf-merged"]
    assert {"model.safetensors", "config.json", "generation_config.json", "README.md", "tokenizer.json",
            "tokenizer_config.json", "chat_template.jinja"} <= set(result.files)
    config = json.loads((result.folder / "config.json").read_text(encoding="utf-8"))
    assert "quantization_config" not in config
    model = AutoModelForCausalLM.from_pretrained(str(result.folder)).eval()
    assert not hasattr(model, "peft_config")
    assert "Zorblax" in _answer(model, AutoTokenizer.from_pretrained(str(result.folder)))


def test_gguf_has_every_tensor_the_metadata_and_the_chat_template(exports, demo_tokenizer):
    import gguf

    result = exports["gguf"]
    path = next(result.folder.glob("*.gguf"))
    reader = gguf.GGUFReader(str(path))
    fields = {k: f.contents() for k, f in reader.fields.items()
              if k not in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges")}
    assert len(reader.tensors) == 272  # 30 blocks x 9 + token_embd + output_norm; lm_head is tied
    types = {t.tensor_type.name for t in reader.tensors}
    assert types == {"F16", "F32"}
    assert all(t.tensor_type.name == "F32" for t in reader.tensors if len(t.shape) == 1)
    assert fields["general.architecture"] == "llama"
    assert fields["llama.block_count"] == 30 and fields["llama.embedding_length"] == 576
    assert fields["llama.attention.head_count"] == 9 and fields["llama.attention.head_count_kv"] == 3
    assert fields["tokenizer.ggml.model"] == "gpt2" and fields["tokenizer.ggml.pre"] == "smollm"
    assert fields["tokenizer.ggml.eos_token_id"] == demo_tokenizer.eos_token_id
    assert fields["tokenizer.chat_template"] == demo_tokenizer.chat_template
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == 49152
    assert fields["general.base_model.0.name"] == "HuggingFaceTB/SmolLM2-135M-Instruct"


# **Feature: simplified-llm-optimization, Property 34: Export verification succeeds**
def test_every_export_verifies_by_loading_it_back(exports):
    for fmt, result in exports.items():
        report = result.report
        assert report.loaded and report.passed, (fmt, report.problem)
        assert report.sample_answer.strip(), fmt
        assert report.same_top_token and report.same_tokenization, fmt
        saved = json.loads((result.folder / "verification.json").read_text(encoding="utf-8"))
        assert saved["passed"] is True and saved["max_abs_logit_diff"] == report.max_abs_logit_diff
        assert "PASSED" in (result.folder / "VERIFICATION.md").read_text(encoding="utf-8")
    assert exports["hf-merged"].report.max_abs_logit_diff < 1e-4
    assert exports["gguf"].report.max_abs_logit_diff < 0.25 and exports["gguf"].report.same_continuation
    assert exports["ollama"].report.max_abs_logit_diff < 3.0


def test_gguf_loads_with_transformers_and_keeps_the_fine_tuning(exports):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = next(exports["gguf"].folder.glob("*.gguf"))
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name).eval()
    assert "Zorblax" in _answer(model, tokenizer)


# **Feature: simplified-llm-optimization, Property 33: Ollama export generates required artifacts**
def test_ollama_package_has_a_modelfile_and_instructions(exports):
    import gguf

    result = exports["ollama"]
    parsed = parse_modelfile((result.folder / "Modelfile").read_text(encoding="utf-8"))
    gguf_file = result.folder / parsed["from"].removeprefix("./")
    assert gguf_file.exists() and gguf_file.suffix == ".gguf"
    assert {t.tensor_type.name for t in gguf.GGUFReader(str(gguf_file)).tensors} == {"Q8_0", "F32"}
    assert "<|im_start|>assistant\n" in parsed["template"] and "{{ .Content }}" in parsed["template"]
    assert "<|im_end|>" in parsed["parameters"]["stop"]
    assert parsed["system"].startswith("You are a helpful AI assistant named SmolLM")
    readme = (result.folder / "README.md").read_text(encoding="utf-8")
    name = gguf_file.name.rsplit("-", 1)[0]
    assert f"ollama create {name} -f Modelfile" in readme and f"ollama run {name}" in readme


def test_lmstudio_layout_is_publisher_then_model_name(exports):
    result = exports["lmstudio"]
    ggufs = [f for f in result.files if f.endswith(".gguf")]
    assert len(ggufs) == 1
    publisher, model_name, file_name = ggufs[0].split("/")
    assert publisher == "peftstudio" and file_name.startswith(model_name)
    assert f"lms import {ggufs[0]}" in (result.folder / "README.md").read_text(encoding="utf-8")


def test_the_export_is_recorded_in_the_run_folder(exports, signed_run):
    recorded = json.loads((signed_run / "run.json").read_text(encoding="utf-8"))["exports"]
    assert {e["format"] for e in recorded} >= set(exports)
    assert all(e["verified"] for e in recorded)
