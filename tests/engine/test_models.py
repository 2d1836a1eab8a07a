import time

import pytest

from peftstudio.engine.errors import PlainError
from peftstudio.engine.models import DEMO_MODEL_ID, demo_gguf_path, resolve_model, trainable_folder


def test_demo_model_resolves_offline_to_the_shipped_gguf():
    source = resolve_model(DEMO_MODEL_ID)
    assert source.is_gguf
    assert (source.folder / source.gguf_file) == demo_gguf_path()
    assert resolve_model(DEMO_MODEL_ID.lower()).gguf_file == source.gguf_file


def test_gguf_file_and_converted_folder_resolve_directly(demo_folder):
    by_file = resolve_model(str(demo_gguf_path()))
    assert by_file.is_gguf
    by_folder = resolve_model(str(demo_folder))
    assert not by_folder.is_gguf and by_folder.folder == demo_folder.resolve()


def test_conversion_is_cached_and_loads_as_plain_safetensors(demo_folder):
    assert (demo_folder / "model.safetensors").exists()
    assert (demo_folder / "tokenizer.json").exists()
    started = time.perf_counter()
    again = trainable_folder(resolve_model(DEMO_MODEL_ID))
    assert again == demo_folder
    assert time.perf_counter() - started < 5  # no second conversion (it takes ~20 s)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(demo_folder)
    assert getattr(config, "quantization_config", None) is None
    assert config.model_type == "llama"


@pytest.mark.parametrize("ref", ["", "no-such-org/no-such-model-xyz", "just-a-name", "./missing-folder",
                                 "/nonexistent/model.gguf"])
def test_unknown_models_get_a_plain_error(ref):
    with pytest.raises(PlainError) as raised:
        resolve_model(ref)
    assert raised.value.title == "The model could not be found"
    assert 2 <= len(raised.value.actions) <= 3


def test_folder_without_model_files_is_refused(tmp_path):
    with pytest.raises(PlainError):
        resolve_model(str(tmp_path))


def test_demo_model_generates_the_capital_of_france(demo_folder, demo_tokenizer):
    import torch

    from peftstudio.engine.models import load_causal_lm

    model = load_causal_lm(demo_folder)
    prompt = demo_tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                                tokenize=False, add_generation_prompt=True)
    ids = demo_tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    answer = demo_tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer
