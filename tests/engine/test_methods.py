"""Each adapter method reaches the peft/transformers object it should, trained through the real session on a tiny
random Llama (the demo model's tokenizer): DoRA's magnitude vectors in the saved adapter, rsLoRA's scaling, LoRA+'s
parameter groups, NEFTune's noise in training mode only, PiSSA's residual base undone at save time (the merged
model equals the trained one), the embedding options; and the exports of DoRA and PiSSA runs verify in llama.cpp."""
from __future__ import annotations

import json
import math

import pytest
import torch

from helpers import signature_rows, small_config, tiny_llama_folder
from peftstudio.engine.runs.events import Status
from peftstudio.engine.training.session import TrainingSession


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, demo_folder):
    return tiny_llama_folder(tmp_path_factory.mktemp("tiny") / "llama", demo_folder)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "signature.json"
    path.write_text(json.dumps(signature_rows(24)), encoding="utf-8")
    return path


def trained(tiny, dataset, **settings) -> TrainingSession:
    session = TrainingSession.create(small_config(dataset, model_path=str(tiny), max_steps=3, **settings))
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    return session


def saved_tensors(run_dir) -> dict:
    from safetensors.torch import load_file

    return load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))


def test_dora_saves_a_magnitude_vector_per_adapted_layer(tiny, dataset):
    session = trained(tiny, dataset, use_dora=True)
    tensors = saved_tensors(session.run_dir)
    magnitudes = [k for k in tensors if "lora_magnitude_vector" in k]
    lora_a = [k for k in tensors if "lora_A" in k]
    assert magnitudes and len(magnitudes) == len(lora_a)
    assert json.loads((session.run_dir / "adapter" / "adapter_config.json").read_text())["use_dora"] is True


def test_rslora_scales_by_the_square_root_of_the_rank(tiny):
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.training.adapter_setup import lora_config

    def scaling(rslora: bool) -> float:
        model = AutoModelForCausalLM.from_pretrained(str(tiny))
        config = TrainingConfig(lora_r=16, lora_alpha=32, use_rslora=rslora)
        peft_model = get_peft_model(model, lora_config(config, model))
        layer = peft_model.base_model.model.model.layers[0].self_attn.q_proj
        return layer.scaling["default"]

    assert scaling(True) == pytest.approx(32 / math.sqrt(16))
    assert scaling(False) == pytest.approx(32 / 16)


def test_loraplus_gives_the_b_matrices_their_own_faster_group(tiny, dataset):
    session = trained(tiny, dataset, loraplus_lr_ratio=16.0, scheduler="constant", learning_rate=1e-3,
                      save_steps=3)
    checkpoint = session.run_dir / "checkpoints" / "checkpoint-3"
    state = torch.load(checkpoint / "optimizer.pt", map_location="cpu", weights_only=True)
    groups = [g for g in state["param_groups"] if g["params"]]
    rates = sorted({g["lr"] for g in groups})
    assert rates == [pytest.approx(1e-3), pytest.approx(16e-3)]
    n_b = sum(len(g["params"]) for g in groups if g["lr"] == pytest.approx(16e-3))
    n_lora_b = sum(1 for k in saved_tensors(session.run_dir) if "lora_B" in k)
    assert n_b == n_lora_b


def test_neftune_adds_noise_to_embeddings_in_training_mode_only(tiny, dataset):
    from transformers import TrainerCallback

    session = TrainingSession.create(small_config(dataset, model_path=str(tiny), max_steps=1,
                                                  neftune_noise_alpha=5.0))
    seen = {}

    class Probe(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, **kwargs):
            embeddings = model.get_input_embeddings()
            ids = torch.tensor([[5, 6, 7, 8]])
            was_training = embeddings.training
            embeddings.train()
            seen["train"] = (embeddings(ids), embeddings(ids))
            embeddings.eval()
            seen["eval"] = embeddings(ids)
            seen["clean"] = embeddings.weight[ids]
            embeddings.train(was_training)

    trainer, _ = session._prepare()
    assert trainer.args.neftune_noise_alpha == 5.0
    trainer.add_callback(Probe())
    trainer.train()
    session.close()
    noisy_a, noisy_b = seen["train"]
    assert not torch.allclose(noisy_a, noisy_b) and not torch.allclose(noisy_a, seen["clean"])
    assert torch.equal(seen["eval"], seen["clean"])


def test_pissa_start_is_converted_so_the_merged_model_equals_the_trained_one(tiny, dataset):
    from peftstudio.engine.export.run_model import load_merged_model, open_run

    session = trained(tiny, dataset, lora_init="pissa", learning_rate=5e-3)
    saved = json.loads((session.run_dir / "adapter" / "adapter_config.json").read_text())
    assert saved["r"] == 2 * 8 and saved["init_lora_weights"] is True  # peft's conversion: a plain LoRA of rank 2r
    ids = torch.tensor([[1, 100, 200, 300, 400, 500]])
    with torch.no_grad():
        trained_logits = session.model.eval()(input_ids=ids).logits
        merged_logits = load_merged_model(open_run(session.run_dir))(input_ids=ids).logits
        with session.model.disable_adapter():  # PiSSA's residual: not the base model
            residual_logits = session.model(input_ids=ids).logits
    assert torch.allclose(trained_logits, merged_logits, atol=1e-4)
    assert not torch.allclose(residual_logits, merged_logits, atol=1e-2)


def test_pissa_is_refused_on_a_quantized_base_with_a_plain_reason():
    from peftstudio.engine.config import TrainingConfig

    problems = dict(TrainingConfig(peft_method="qlora", quantization="4bit", lora_init="pissa").problems())
    assert "rewrites the model's weights" in problems["lora_init"]
    problems = dict(TrainingConfig(lora_init="olora", use_dora=True).problems())
    assert "DoRA" in problems["lora_init"]


def test_training_all_embeddings_saves_them_and_keeps_them_tied(tiny, dataset):
    session = trained(tiny, dataset, train_embeddings="all", learning_rate=5e-3)
    keys = list(saved_tensors(session.run_dir))
    assert any("embed_tokens" in k for k in keys)
    model = session.model.get_base_model()
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr() \
        or torch.equal(model.get_output_embeddings().weight, model.get_input_embeddings().weight)


def test_new_tokens_train_only_the_added_tokens_the_data_uses(tiny, dataset, demo_tokenizer):
    from peftstudio.engine.training.adapter_setup import added_token_ids

    session = trained(tiny, dataset, train_embeddings="new-tokens", learning_rate=5e-3)
    ids = added_token_ids(demo_tokenizer, session.data.train)
    assert ids and set(ids) <= set(demo_tokenizer.added_tokens_decoder)  # <|im_start|>, <|im_end|>
    saved = json.loads((session.run_dir / "adapter" / "adapter_config.json").read_text())
    assert sorted(next(iter(saved["trainable_token_indices"].values()))) == ids
    assert any("trainable_tokens" in k for k in saved_tensors(session.run_dir))


@pytest.mark.slow
@pytest.mark.parametrize("method", [{"use_dora": True}, {"lora_init": "pissa-fast"}], ids=["dora", "pissa"])
def test_dora_and_pissa_exports_verify_in_llama_cpp(method, tmp_path, dataset):
    from peftstudio.engine.export import export_run, llama_cpp_reference
    from tiny_families import tiny_family_folder

    if not llama_cpp_reference.available():
        pytest.skip("llama-cpp-python is a test dependency")
    base = tiny_family_folder("qwen2", tmp_path / "tiny-qwen2")
    session = TrainingSession.create(small_config(dataset, model_path=str(base), max_steps=2, max_seq_length=64,
                                                  learning_rate=5e-3, **method))
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    report = export_run(session.run_dir, "gguf", tmp_path / "f16", quant="f16").report
    assert report.reader.startswith("llama.cpp") and report.same_tokenization, report.to_dict()
    assert report.same_continuation and report.passed, report.to_dict()


def test_rope_scaling_stretches_the_context_in_training_the_playground_and_the_merge(tiny, dataset):
    from peftstudio.engine.export.run_model import load_merged_model, open_run
    from peftstudio.engine.inference import ChatModel

    session = trained(tiny, dataset, rope_scaling="yarn", max_seq_length=400)  # the tiny model knows 256 positions
    expected = {"rope_type": "yarn", "factor": 1.75, "original_max_position_embeddings": 256}
    for model in (session.model, load_merged_model(open_run(session.run_dir)), ChatModel(session.run_dir).model):
        rope = model.config.rope_parameters
        assert {k: rope[k] for k in expected} == expected and model.config.max_position_embeddings == 448


@pytest.mark.slow
def test_a_rope_scaled_export_carries_the_scaling_to_llama_cpp(tmp_path, dataset):
    import gguf

    from peftstudio.engine.export import export_run, llama_cpp_reference
    from tiny_families import tiny_family_folder

    if not llama_cpp_reference.available():
        pytest.skip("llama-cpp-python is a test dependency")
    base = tiny_family_folder("qwen2", tmp_path / "tiny-qwen2")  # 2048 positions
    session = TrainingSession.create(small_config(dataset, model_path=str(base), max_steps=2, max_seq_length=3072,
                                                  rope_scaling="yarn"))
    assert session.run() == Status.COMPLETED, session.error and session.error.what
    report = export_run(session.run_dir, "gguf", tmp_path / "f16", quant="f16").report
    fields = gguf.GGUFReader(str(next((tmp_path / "f16").glob("*.gguf")))).fields
    assert float(fields["qwen2.rope.scaling.factor"].parts[-1][0]) == 1.5
    # llama.cpp agrees with the model in memory at nearly every position (a greedy continuation may part at a tie)
    assert report.passed and report.agreement["top1_agreement"] >= 0.98, report.to_dict()
