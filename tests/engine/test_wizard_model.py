"""The wizard's logic without Qt: re-planning keeps the user's edits, rows come from the planner and exporter."""
from __future__ import annotations

import json
from dataclasses import replace

from helpers import signature_rows
from peftstudio.engine.planning.catalog import CATALOG
from peftstudio.engine.data.dataset_file import DatasetFile
from peftstudio.engine.export.architectures import exportable
from peftstudio.engine.planning.hardware import hardware_profile
from peftstudio.engine.planning.planner import BUDGET_SHARE, FITS, TOO_LARGE, device_budget, fit_badge
from peftstudio.engine.wizard_model import DEFAULT_DATA, WizardModel


def test_replanning_keeps_what_the_user_edited(tmp_path, demo_tokenizer):
    model = WizardModel(hardware_profile())
    assert model.data_summary() == DEFAULT_DATA
    first = model.replan()
    model.set_setting("lora_r", 48)
    dataset = tmp_path / "d.json"
    dataset.write_text(json.dumps(signature_rows(80)))
    model.dataset_changed(str(dataset))
    with DatasetFile.open(dataset) as data:
        found = data.inspect(demo_tokenizer, max_seq_length=model.state.config.max_seq_length)
    model.dataset_inspected(found.report, found.stats)
    assert model.data_summary().examples == 80
    second = model.replan()
    assert model.state.config.lora_r == 48 and model.state.config.dataset_path == str(dataset)
    assert second.config.max_seq_length != first.config.max_seq_length or second.config.epochs != first.config.epochs
    assert model.state.config.problems() == []


def test_model_rows_use_the_planners_budget_and_the_exporters_table():
    hardware = hardware_profile()
    rows = {row["id"]: row for row in WizardModel(hardware).model_rows()}
    for entry in CATALOG:
        row = rows[entry.model_id]
        assert (row["badge"], row["need"]) == fit_badge(entry.facts, hardware, 512)
        assert ("no GGUF/Ollama export yet" in row["notes"]) == (not exportable(entry.facts.architecture))
    tiny = replace(hardware, ram_total=2**20, ram_available=2**20, gpus=[], cuda_available=False)
    assert device_budget(tiny, 1) * BUDGET_SHARE < 2**20
    assert fit_badge(CATALOG[0].facts, tiny)[0] == TOO_LARGE
    assert any(row["badge"] == FITS for row in rows.values())


def test_presets_round_trip_through_the_model(tmp_path):
    model = WizardModel(hardware_profile())
    model.replan()
    model.set_setting("learning_rate", 3e-4)
    model.profile_chosen("summarization")
    model.save_preset("a test preset")
    other = WizardModel(hardware_profile())
    preset = other.load_preset("a test preset")
    assert preset.profile_id == "summarization" == other.state.profile_id
    assert other.state.config == model.state.config and "learning_rate" in other.state.user_edits


def test_the_agent_use_case_says_when_the_dataset_has_no_tools(tmp_path):
    from tool_datasets import tool_rows, write_rows

    model = WizardModel(hardware_profile())
    model.profile_chosen("tool-calling")
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(signature_rows(400)))
    agents = write_rows(tmp_path / "agents.jsonl", tool_rows(400, seed=1))
    warnings = {}
    for name, path in (("plain", plain), ("agents", agents)):
        model.dataset_changed(str(path))
        with DatasetFile.open(path) as data:
            model.dataset_inspected(data.inspect().report, None)
        warnings[name] = model.data_warning()
    assert "None of these conversations declares or calls a tool" in warnings["plain"]
    assert warnings["agents"] is None and model.state.dataset_report.rows_with_tools == 400
