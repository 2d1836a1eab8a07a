"""Export paths, atomic packages, disk checks, and the pieces that must hold for any input."""
from __future__ import annotations

import os
import shutil

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peftstudio.engine.errors import PlainError
from peftstudio.engine.export import safety
from peftstudio.engine.export.chat_format import probe_chat_format
from peftstudio.engine.export.ollama import build_package, parse_modelfile


def test_traversal_in_the_destination_is_refused(tmp_path):
    with pytest.raises(PlainError, match="cannot be used"):
        safety.check_destination(str(tmp_path / "a" / ".." / ".." / "elsewhere"))


def test_a_link_as_destination_or_parent_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(PlainError):
        safety.check_destination(tmp_path / "link")
    with pytest.raises(PlainError):
        safety.check_destination(tmp_path / "link" / "export")


@pytest.mark.parametrize("relative", ["../outside.gguf", "/etc/passwd", "a/../../x", ""])
def test_files_cannot_be_placed_outside_the_package(tmp_path, relative):
    with pytest.raises(PlainError):
        safety.safe_join(tmp_path, relative)


def test_files_cannot_be_written_through_a_link_inside_the_package(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    package = tmp_path / "package"
    package.mkdir()
    (package / "publisher").symlink_to(outside)
    with pytest.raises(PlainError) as refused:
        safety.safe_join(package, "publisher/model.gguf")
    assert "link" in refused.value.why


def test_a_non_empty_folder_is_never_overwritten_silently(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(PlainError, match="not empty"):
        safety.check_destination(tmp_path)
    with pytest.raises(PlainError, match="not an earlier export"):  # only our own exports may be replaced
        safety.check_destination(tmp_path, overwrite=True)
    (tmp_path / safety.EXPORT_MARKER).write_text("{}")
    assert safety.check_destination(tmp_path, overwrite=True) == tmp_path


def test_a_failed_export_leaves_nothing_behind(tmp_path):
    destination = tmp_path / "export"
    with pytest.raises(RuntimeError):
        with safety.staged_folder(destination) as staging:
            (staging / "model.gguf").write_bytes(b"half")
            raise RuntimeError("disk pulled out")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_the_old_package_in_one_step(tmp_path):
    destination = tmp_path / "export"
    destination.mkdir()
    (destination / "old.txt").write_text("old")
    (destination / safety.EXPORT_MARKER).write_text("{}")
    with safety.staged_folder(destination, overwrite=True) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in destination.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_too_little_disk_space_stops_before_writing(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=10_000_000))
    with pytest.raises(PlainError, match="disk space"):
        safety.check_free_space(tmp_path / "new", 50_000_000)


def test_export_refuses_a_traversal_before_loading_anything(signed_run, tmp_path):
    from peftstudio.engine.export.exporter import export_run

    with pytest.raises(PlainError):
        export_run(signed_run, "gguf", str(tmp_path / ".." / "escape"))
    assert not (tmp_path.parent / "escape").exists()


def test_unknown_format_is_a_plain_error(signed_run, tmp_path):
    from peftstudio.engine.export.exporter import export_run

    with pytest.raises(PlainError, match="Unknown export format"):
        export_run(signed_run, "onnx", tmp_path / "x")


def test_uploading_offline_says_so_plainly(tmp_path):
    from peftstudio.engine.export.push import push_to_hub

    with pytest.raises(PlainError, match="could not be uploaded"):
        push_to_hub(tmp_path, "someone/model", token="hf_fake")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_safe_names_are_one_harmless_path_component(text):
    name = safety.safe_name(text)
    assert name and "/" not in name and "\\" not in name and name not in (".", "..") and len(name) <= 64
    assert not name.startswith(".") and all(c.isalnum() or c in "._-" for c in name)


# **Feature: simplified-llm-optimization, Property 32: HuggingFace export completeness**
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run_name=st.text(max_size=40), profile=st.text(max_size=60), model_id=st.text(min_size=1, max_size=60),
       dataset=st.text(max_size=40), merged=st.booleans())
def test_model_card_metadata_is_valid_for_any_run(tmp_path, run_name, profile, model_id, dataset, merged):
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.engine.export.model_card import clean, model_card
    from peftstudio.engine.export.run_model import ExportableRun

    run = ExportableRun(run_dir=tmp_path / "run", config=TrainingConfig(model_name=model_id, dataset_path="x.json"),
                        info={"profile": profile, "summary": {"version": run_name, "final_loss": 0.5}},
                        base_folder=tmp_path, source_gguf=None, data_summary={"file": dataset, "train_examples": 9})
    card = model_card(run, merged, "you/model")
    assert card.startswith("---\n")
    front = yaml.safe_load(card.split("\n---\n")[0].removeprefix("---\n"))
    assert front["base_model"] == clean(run.base_model_id)  # the hub id, or only a local model's name
    assert run.base_model_id in (model_id.strip(), Path(model_id.strip()).stem or "unknown")
    assert front["library_name"] == ("transformers" if merged else "peft")
    for section in ("## Intended use", "## Training data", "## Training configuration", "## Results", "## How to load"):
        assert card.count(section) == 1


# **Feature: simplified-llm-optimization, Property 33: Ollama export generates required artifacts**
@settings(max_examples=100, deadline=None)
@given(name=st.text(max_size=30), system=st.one_of(st.none(), st.text(max_size=120)),
       stops=st.lists(st.text(min_size=1, max_size=12), max_size=3))
def test_modelfile_is_valid_for_any_name_and_system_prompt(demo_tokenizer, name, system, stops):
    chat = probe_chat_format(demo_tokenizer)
    model_name = safety.safe_name(name).lower()
    package = build_package(model_name, f"{model_name}-q8_0.gguf", chat, stops, system, None)
    parsed = parse_modelfile(package.modelfile())
    assert parsed["from"] == f"./{model_name}-q8_0.gguf"
    assert parsed["template"] == chat.go_template()
    printable_stops = ["".join(c for c in s if c.isprintable()) for s in stops]
    assert parsed["parameters"].get("stop", []) == [s for s in printable_stops if s]
    expected = _clean(system) if system else chat.default_system
    expected = expected.replace('"""', "'''") + (" " if expected.endswith('"') else "")
    assert parsed.get("system") == (expected if expected.strip() else None)
    text = package.instructions()
    assert f"ollama create {model_name} -f Modelfile" in text and f"ollama run {model_name}" in text


def _clean(text: str) -> str:
    return "".join(c for c in text if not (ord(c) < 32 and c not in "\t\n") and c != "\x7f")


conversation = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20),
                        min_size=1, max_size=6)


@settings(max_examples=100, deadline=None)
@given(turns=conversation, system=st.one_of(st.none(), st.text(min_size=1, max_size=20)), generation=st.booleans())
def test_the_translated_chat_format_renders_like_the_models_own_template(demo_tokenizer, turns, system, generation):
    chat = probe_chat_format(demo_tokenizer)
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    expected = demo_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
    assert chat.render(messages, generation) == expected


def test_a_template_that_is_not_a_role_wrapper_is_left_to_the_gguf(demo_tokenizer):
    import copy

    tokenizer = copy.copy(demo_tokenizer)
    tokenizer.chat_template = ("{% for m in messages %}{% if m['role'] == 'user' %}[INST] "
                               "{% if loop.first and system is defined %}{{ system }}{% endif %}{{ m['content'] }} "
                               "[/INST]{% else %}{{ m['content'] }}</s>{% endif %}{% endfor %}"
                               "{% if messages|length > 2 %} {% endif %}")
    assert probe_chat_format(tokenizer) is None
    package = build_package("m", "m.gguf", None, ["</s>"], None, None)
    assert "TEMPLATE" not in package.modelfile() and "chat template stored in the GGUF" in package.instructions()


def test_a_truncated_gguf_fails_verification_without_raising(tmp_path):
    from peftstudio.engine.export.verify import Reference, verify_gguf

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(64))
    report = verify_gguf(broken, Reference([1, 2], [0.0], [3], "x"), "gguf", "f16")
    assert not report.loaded and not report.passed and "could not be loaded" in report.problem
