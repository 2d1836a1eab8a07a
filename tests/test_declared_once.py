"""Concepts declared once (issue 34): sampling, the app's settings, export formats and GGUF types each have one
table, and every place that shows or uses them is derived from it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from peftstudio.cli import build_parser
from peftstudio.engine.app_settings import AppSettings, app_settings_declared, load_settings, save_settings
from peftstudio.engine.export.formats import DEFAULT_QUANT, FORMATS, GGUF_TYPES, LOSSY
from peftstudio.engine.export.ollama import build_package, parse_modelfile
from peftstudio.engine.sampling import Sampling, cli_flag, sampling_settings
from peftstudio.engine.errors import HELP_DIR


def test_every_sampling_setting_is_a_chat_flag_with_its_default_and_is_documented():
    parser = build_parser()
    args = parser.parse_args(["chat", "run"])
    help_page = (HELP_DIR / "playground.md").read_text(encoding="utf-8")
    for spec in sampling_settings():
        assert getattr(args, spec.name) == getattr(Sampling(), spec.name), spec.name
        assert cli_flag(spec.name) in help_page and f"**{spec.label}**" in help_page, spec.name
    changed = parser.parse_args(["chat", "run", "--top-k", "7", "--repetition-penalty", "1.3", "--system", "Be brief"])
    assert (changed.top_k, changed.repetition_penalty, changed.system_prompt) == (7, 1.3, "Be brief")


def test_an_out_of_range_sampling_flag_is_a_plain_error():
    result = subprocess.run([sys.executable, "-m", "peftstudio", "chat", "nowhere", "--temperature", "5",
                             "--prompt", "hi"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Temperature is out of range" in result.stderr and "from 0 to 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_llama_cpp_and_ollama_get_the_same_sampling_under_their_own_names():
    sampling = Sampling(temperature=0.4, top_p=0.8, top_k=20, max_new_tokens=64, repetition_penalty=1.2)
    assert sampling.llama_cpp() == {"temperature": 0.4, "top_p": 0.8, "top_k": 20, "max_tokens": 64,
                                    "repeat_penalty": 1.2}
    parsed = parse_modelfile(build_package("m", "m.gguf", None, ["</s>"], None, None).modelfile())
    defaults = Sampling()
    assert parsed["parameters"]["temperature"] == [f"{defaults.temperature:g}"]
    assert parsed["parameters"]["repeat_penalty"] == [f"{defaults.repetition_penalty:g}"]
    assert parsed["parameters"]["top_k"] == [str(defaults.top_k)]
    assert "num_predict" not in parsed["parameters"]  # answers end when the model ends them


def test_the_export_command_offers_exactly_the_declared_formats_and_types():
    parser = build_parser()
    export = parser._subparsers._group_actions[0].choices["export"]
    options = {action.dest: action for action in export._actions}
    assert list(options["format"].choices) == list(FORMATS)
    # left out, the type is PEFT Studio's choice (DEFAULT_QUANT, or larger when it loses too much: quant_choice.py)
    assert list(options["quant"].choices) == list(GGUF_TYPES) and options["quant"].default is None
    assert DEFAULT_QUANT in options["quant"].help
    assert LOSSY == {"q4_k_m", "q5_k_m", "q6_k"}
    # sizes follow the declared bits per weight: q8_0 is about twice q4_k_m, f16 twice q8_0
    sizes = {name: t.estimated_bytes(1_000_000_000) for name, t in GGUF_TYPES.items()}
    assert sizes["q4_k_m"] < sizes["q5_k_m"] < sizes["q6_k"] < sizes["q8_0"] < sizes["f16"] < sizes["f32"]


def test_app_settings_load_back_only_what_their_declarations_accept(own_data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("PEFTSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    save_settings(AppSettings(electricity_price=0.31, theme="dark"))
    from peftstudio.engine.app_settings import settings_file

    data = json.loads(settings_file().read_text())
    data["carbon_intensity"] = 50.0  # a hand edit outside the declared range
    data["theme"] = "purple"
    data["electricity_price"] = 0.31
    settings_file().write_text(json.dumps(data))
    loaded = load_settings()
    assert (loaded.electricity_price, loaded.carbon_intensity, loaded.theme) == (0.31, AppSettings().carbon_intensity,
                                                                               "system")
    # the plan command's defaults are the user's own settings
    args = build_parser().parse_args(["plan", "--model", "m", "--dataset", "d"])
    assert (args.price, args.carbon) == (0.31, AppSettings().carbon_intensity)


def test_every_app_setting_is_declared_with_its_kind():
    declared = {spec.name: spec for spec in app_settings_declared()}
    for name, value in vars(AppSettings()).items():
        assert declared[name].accepts(value), name


@pytest.mark.parametrize("kind", ["settings", "playground"])
def test_the_forms_are_built_from_the_declarations(qtbot, kind):
    if kind == "settings":
        from peftstudio.ui.settings_dialog import SettingsDialog

        form = SettingsDialog(AppSettings())
        specs = [s for s in app_settings_declared() if s.editable_by == "user"]
    else:
        from peftstudio.ui.sampling_form import SamplingForm

        form = SamplingForm(Sampling())
        specs = list(sampling_settings())
    qtbot.addWidget(form)
    assert list(form.widgets) == [s.name for s in specs]
    for spec in specs:
        assert form.widgets[spec.name].toolTip() == spec.help
        if spec.kind in ("int", "float"):
            assert (form.widgets[spec.name].minimum(), form.widgets[spec.name].maximum()) == (spec.minimum,
                                                                                            spec.maximum)


def test_a_setting_declared_once_reaches_every_place(tmp_path, qtbot):
    """adam_beta2 was added as one declaration (engine/config.py) and the one line that hands it to
    transformers; everything else below knows it from the declaration."""
    from types import SimpleNamespace

    from transformers import TrainingArguments

    from peftstudio.engine.config import TrainingConfig, settings_help
    from peftstudio.engine.export.model_card import SETTINGS as CARD_SETTINGS
    from peftstudio.engine.training.sweep_space import SWEEPABLE, parse_vary
    from peftstudio.engine.training.trainer_setup import training_arguments

    assert "adam_beta2" in settings_help()  # `peftstudio train --help` and the docs
    assert TrainingConfig.from_dict({"adam_beta2": 0.95}).adam_beta2 == 0.95  # --config and config.json
    assert any(field == "adam_beta2" for field, _ in TrainingConfig(adam_beta2=2.0).problems())  # validation
    assert "adam_beta2" in SWEEPABLE and parse_vary("beta2=0.95,0.999")[0].values == (0.95, 0.999)
    assert "adam_beta2" in CARD_SETTINGS
    prepared = SimpleNamespace(data=SimpleNamespace(validation=[]), precision="fp32", device="cpu")
    arguments = training_arguments(TrainingConfig(adam_beta2=0.95), prepared, tmp_path)
    assert TrainingArguments(**arguments).adam_beta2 == 0.95  # what the optimizer is built with

    from peftstudio.engine.planning import hardware_profile
    from PySide6.QtWidgets import QWidget

    from peftstudio.ui.wizard.wizard import TrainingWizard

    wizard = TrainingWizard(hardware_profile())
    qtbot.addWidget(wizard)
    assert wizard.findChild(QWidget, "train.adam_beta2") is not None  # the wizard's settings form


def test_every_training_method_has_its_row_and_every_role_is_known():
    from peftstudio.engine.config import TRAINING_METHODS, TrainingConfig
    from peftstudio.engine.settings import ROLES, settings_of
    from peftstudio.engine.training.methods import METHODS

    assert set(METHODS) == set(TRAINING_METHODS)
    for spec in settings_of(TrainingConfig):
        assert set(spec.roles) <= set(ROLES), spec.name
