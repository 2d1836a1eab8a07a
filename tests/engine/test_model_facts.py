import json

import pytest

from peftstudio.engine.planning.catalog import CATALOG, catalog_entry, smaller_models
from peftstudio.engine.planning.memory_model import lora_parameters
from peftstudio.engine.planning.facts_reader import facts_from_folder, facts_from_gguf, model_facts
from peftstudio.engine.models import DEMO_MODEL_ID, demo_gguf_path
from peftstudio.engine.planning.profiles import (BUILTIN_PROFILES, OptimizationProfile, all_profiles, get_builtin,
                                                 get_profile, save_user_profile)


def test_facts_agree_across_gguf_safetensors_and_catalog(demo_folder):
    from_folder = facts_from_folder(demo_folder)
    from_gguf = facts_from_gguf(demo_gguf_path())
    from_catalog = catalog_entry(DEMO_MODEL_ID).facts
    for facts in (from_folder, from_gguf, from_catalog):
        assert (facts.layers, facts.hidden_size, facts.heads, facts.kv_heads, facts.intermediate_size,
                facts.vocab_size, facts.tied_embeddings) == (30, 576, 9, 3, 1536, 49152, True)
        assert facts.total_parameters == 134_515_008
    assert model_facts(DEMO_MODEL_ID).total_parameters == 134_515_008


def test_lora_parameter_count_matches_peft(demo_folder):
    import peft

    from peftstudio.engine.models import load_causal_lm

    model = peft.get_peft_model(load_causal_lm(demo_folder),
                                peft.LoraConfig(r=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert lora_parameters(model_facts(DEMO_MODEL_ID), 16, ["all-linear"]) == trainable
    assert lora_parameters(model_facts(DEMO_MODEL_ID), 8, ["q_proj", "v_proj"]) == 30 * 8 * (576 + 576 + 576 + 192)


@pytest.mark.parametrize("model_id,billions", [("Qwen/Qwen2.5-7B-Instruct", 7.62), ("meta-llama/Llama-3.1-8B-Instruct",
                                                                                     8.03),
                                                ("google/gemma-2-2b-it", 2.61), ("mistralai/Mistral-7B-Instruct-v0.3",
                                                                                 7.25)])
def test_catalog_parameter_counts_match_the_published_sizes(model_id, billions):
    assert round(catalog_entry(model_id).facts.total_parameters / 1e9, 2) == billions


def test_smaller_models_stay_in_the_family():
    names = [e.name for e in smaller_models("Qwen/Qwen2.5-7B-Instruct")]
    assert names[0] == "Qwen2.5 3B" and all("Qwen2.5" in n for n in names)
    assert len(CATALOG) >= 13


def test_user_profiles_round_trip(tmp_path):
    profile = OptimizationProfile.from_dict(get_builtin("chatbot").to_dict())
    profile.id, profile.name = "my-support-bot", "My support bot"
    profile.config.lora_r = 24
    path = save_user_profile(profile)
    assert json.loads(path.read_text())["config"]["lora_r"] == 24
    assert get_profile("my-support-bot") == profile
    assert len(all_profiles()) == len(BUILTIN_PROFILES) + 1


def test_every_catalog_model_exports_to_gguf_and_has_a_memory_prediction():
    """The catalog and the GGUF writer's table agree: nothing in the catalog is cut off from Ollama."""
    from peftstudio.engine.export.architectures import exportable
    from peftstudio.engine.planning.hardware import GPUInfo, HardwareProfile
    from peftstudio.engine.planning.planner import DatasetSummary, plan
    from peftstudio.engine.planning.profiles import get_builtin

    gib = 2**30
    gpu = HardwareProfile("cpu", 16, 32, 64 * gib, 48 * gib, 500 * gib,
                          [GPUInfo(0, "NVIDIA GeForce RTX 4090", 24 * gib, 22 * gib, "8.9", "12.4", "550.1")],
                          cuda_available=True, bf16_supported=True)
    data = DatasetSummary(2000, 300, 900, 300_000)
    for entry in CATALOG:
        assert exportable(entry.facts.architecture), entry.model_id
        result = plan(entry.facts, gpu, data, get_builtin("chatbot"))
        assert result.estimates.peak_memory > entry.facts.total_parameters // 4, entry.model_id
    new = {"Qwen/Qwen3-0.6B", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "google/gemma-3-1b-it",
           "google/gemma-3-4b-it", "HuggingFaceTB/SmolLM3-3B", "microsoft/Phi-4-mini-instruct"}
    assert new <= {entry.model_id for entry in CATALOG}
    # published sizes, within 5%: the shapes above are the models' real config.json values
    published = {"Qwen/Qwen3-0.6B": 0.596e9, "Qwen/Qwen3-8B": 8.19e9, "HuggingFaceTB/SmolLM3-3B": 3.08e9,
                 "microsoft/Phi-4-mini-instruct": 3.84e9, "google/gemma-3-1b-it": 1.0e9}
    for model_id, size in published.items():
        assert abs(catalog_entry(model_id).facts.total_parameters - size) / size < 0.05, model_id
