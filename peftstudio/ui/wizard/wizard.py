"""The Training Wizard: five pages over one WizardState; Back never loses anything.

Changing the dataset or the model re-plans only the settings the user did not edit by hand.
"""
from __future__ import annotations

import functools
from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWizard

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.planner import DatasetSummary, Settings, estimates_for, plan, precision_for
from peftstudio.engine.presets import Preset, load_preset, save_preset
from peftstudio.engine.profiles import get_profile
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.wizard.config_page import ConfigPage
from peftstudio.ui.wizard.dataset_page import DatasetPage
from peftstudio.ui.wizard.model_page import ModelPage
from peftstudio.ui.wizard.review_page import ReviewPage
from peftstudio.ui.wizard.state import WizardState
from peftstudio.ui.wizard.use_case_page import UseCasePage

DEFAULT_DATA = DatasetSummary(examples=500, tokens_mean=200, tokens_p95=400, loss_tokens_per_epoch=50_000)


@functools.lru_cache(maxsize=4)
def _tokenizer(model_id: str):
    from peftstudio.engine.models import load_tokenizer, resolve_model, trainable_folder

    # local only: a model not on this machine is not downloaded just to count tokens
    return load_tokenizer(trainable_folder(resolve_model(model_id, allow_download=False)))


class TrainingWizard(QWizard):
    launch_requested = Signal(object)  # TrainingConfig

    def __init__(self, hardware, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("wizard")
        self.setWindowTitle(STRINGS["wizard.title"])
        self.setWizardStyle(QWizard.ModernStyle)
        self.setOption(QWizard.NoBackButtonOnStartPage, True)
        self.resize(1040, 720)
        self.hardware = hardware
        self.settings = settings or Settings()
        self.state = WizardState()
        self.use_case_page, self.dataset_page = UseCasePage(self), DatasetPage(self)
        self.model_page, self.config_page, self.review_page = ModelPage(self), ConfigPage(self), ReviewPage(self)
        for page in (self.use_case_page, self.dataset_page, self.model_page, self.config_page, self.review_page):
            self.addPage(page)

    # ---- facts the pages ask for ------------------------------------------------------------
    def profile_time_estimate(self, profile) -> float:
        facts = self._facts()
        data = replace(DEFAULT_DATA, examples=profile.requirements.recommended_dataset_size)
        return plan(facts, self.hardware, data, profile, settings=self.settings).estimates.duration_expected

    def _facts(self):
        from peftstudio.engine.catalog import catalog_entry
        from peftstudio.engine.model_facts import model_facts

        entry = catalog_entry(self.state.model_id)  # exact and instant; local files need the hub library
        return entry.facts if entry is not None else _cached_facts(self.state.model_id, model_facts)

    def tokenizer_for_current_model(self):
        try:
            return _tokenizer(self.state.model_id)
        except PlainError:
            return None

    def local_models(self) -> list[str]:
        from peftstudio.engine.models import DEMO_MODEL_ID, demo_gguf_path

        found = [DEMO_MODEL_ID] if demo_gguf_path() else []
        try:
            from huggingface_hub import scan_cache_dir

            found += [repo.repo_id for repo in scan_cache_dir().repos if repo.repo_type == "model"]
        except Exception:  # noqa: BLE001 - no cache folder yet is normal
            pass
        return found

    # ---- changes that ripple ------------------------------------------------------------------
    def dataset_changed(self, path: str) -> None:
        self.state.dataset_path = path
        self.state.dataset_report = self.state.dataset_stats = None
        self.state.config = replace(self.state.config, dataset_path=path)

    def model_changed(self, model_id: str) -> None:
        self.state.model_id = model_id
        self.state.config = replace(self.state.config, model_name=model_id)

    def set_setting(self, name: str, value) -> None:
        self.state.user_edits.add(name)
        self.state.config = replace(self.state.config, **{name: value})

    def data_summary(self) -> DatasetSummary:
        stats, report = self.state.dataset_stats, self.state.dataset_report
        if stats is not None and stats.examples:
            return DatasetSummary.from_stats(stats)
        if report is not None and report.rows_usable:
            lengths = sorted(n // 4 for n in report.char_lengths) or [200]
            return DatasetSummary(report.rows_usable, sum(lengths) / len(lengths),
                                  lengths[int(0.95 * (len(lengths) - 1))], sum(lengths) // 2)
        return DEFAULT_DATA

    def replan(self):
        """The planner's settings for the current choices; the user's own edits stay as they are."""
        state = self.state
        base = replace(state.config, model_name=state.model_id, dataset_path=state.dataset_path)
        result = plan(self._facts(), self.hardware, self.data_summary(), get_profile(state.profile_id), base,
                      self.settings)
        edits = {name: getattr(state.config, name) for name in state.user_edits}
        state.config = replace(result.config, **edits)
        state.plan = result
        return result

    def current_estimates(self):
        return estimates_for(self._facts(), self.hardware, self.state.config, self.data_summary(),
                             precision_for(self.hardware), self.settings)

    def use_alternative(self, alternative) -> None:
        if alternative.model_name:
            self.model_changed(alternative.model_name)
        self.state.config = replace(alternative.config)
        self.state.user_edits |= {f for f in TrainingConfig.__dataclass_fields__
                                  if getattr(alternative.config, f) != getattr(self.state.plan.config, f)}

    # ---- presets ----------------------------------------------------------------------------------
    def save_preset(self, name: str):
        return save_preset(Preset(name, self.state.profile_id, replace(self.state.config)))

    def load_preset(self, name: str) -> None:
        preset = load_preset(name)
        self.state.profile_id = preset.profile_id
        self.state.model_id = preset.config.model_name
        self.state.dataset_path = preset.config.dataset_path
        self.state.config = replace(preset.config)
        self.state.user_edits = set(TrainingConfig.__dataclass_fields__)  # a preset's values are the user's
        self.use_case_page.select(preset.profile_id)
        if preset.config.dataset_path:
            self.dataset_page.set_dataset(preset.config.dataset_path)

    def accept(self) -> None:
        self.launch_requested.emit(replace(self.state.config))
        super().accept()


_FACTS: dict[str, object] = {}


def _cached_facts(model_id: str, loader):
    if model_id not in _FACTS:
        _FACTS[model_id] = loader(model_id)
    return _FACTS[model_id]
