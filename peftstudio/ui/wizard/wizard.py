"""The Training Wizard: five pages bound to one engine WizardModel (six for the checker use case, whose rewards
page comes after the model); Back never loses anything.

All decisions (re-planning, what the user edited, the data summary, presets, which models fit) live in
`engine/wizard_model.py`, testable without Qt; the pages show the model and report the user's choices.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWizard

from peftstudio.engine.planning import Settings
from peftstudio.engine.wizard_model import WizardModel
from peftstudio.ui.locales import STRINGS
from peftstudio.ui.wizard.config_page import ConfigPage
from peftstudio.ui.wizard.dataset_page import DatasetPage
from peftstudio.ui.wizard.model_page import ModelPage
from peftstudio.ui.wizard.review_page import ReviewPage
from peftstudio.ui.wizard.rewards_page import RewardsPage
from peftstudio.ui.wizard.use_case_page import UseCasePage


class TrainingWizard(QWizard):
    launch_requested = Signal(object)  # TrainingConfig
    queue_requested = Signal(object)  # TrainingConfig: "Add to queue" instead of Launch
    sweep_queued = Signal(str)  # a sweep of these settings was queued ("Try several settings...")

    def __init__(self, hardware, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("wizard")
        self.setWindowTitle(STRINGS["wizard.title"])
        self.setWizardStyle(QWizard.ModernStyle)
        self.setOption(QWizard.NoBackButtonOnStartPage, True)
        self.resize(1040, 720)
        self.model = WizardModel(hardware, settings)
        self.use_case_page, self.dataset_page = UseCasePage(self), DatasetPage(self)
        self.model_page, self.config_page, self.review_page = ModelPage(self), ConfigPage(self), ReviewPage(self)
        self.rewards_page = RewardsPage(self)
        self.page_ids = {page: self.addPage(page) for page in (self.use_case_page, self.dataset_page, self.model_page,
                                                               self.rewards_page, self.config_page, self.review_page)}
        # "Add to queue" beside Launch, on the last page: the run waits its turn (e.g. overnight)
        self.setButtonText(QWizard.CustomButton1, STRINGS["wizard.add_to_queue"])
        self.setOption(QWizard.HaveCustomButton1, True)
        self.button(QWizard.CustomButton1).setObjectName("wizard.add_to_queue")
        self.button(QWizard.CustomButton1).clicked.connect(lambda: self.add_to_queue())
        self.currentIdChanged.connect(
            lambda _: self.button(QWizard.CustomButton1).setVisible(self.currentPage() is self.review_page))

    def nextId(self) -> int:  # noqa: N802 - Qt naming; the rewards page only for the checker use case (GRPO)
        following = super().nextId()
        if following == self.page_ids[self.rewards_page] and not self.model.learns_from_checker:
            return self.page_ids[self.config_page]
        return following

    @property
    def state(self):
        return self.model.state

    @property
    def hardware(self):
        return self.model.hardware

    def save_preset(self, name: str):
        return self.model.save_preset(name)

    def load_preset(self, name: str) -> None:
        preset = self.model.load_preset(name)
        self.use_case_page.select(preset.profile_id)
        if preset.config.dataset_path:
            self.dataset_page.set_dataset(preset.config.dataset_path)

    def prefill_continuation(self, config, facts: dict, profile_id: str | None = None) -> None:
        """Open on a version's continuation ("Improve this version"): use case, dataset, method and adapter
        chosen; the user reviews the pages and launches."""
        self.model.prefill_continuation(config, facts, profile_id)
        self.use_case_page.select(self.state.profile_id)
        self.dataset_page.set_dataset(config.dataset_path)

    def add_to_queue(self) -> None:
        self.model.name_model(self.review_page.model_name.text())
        self.queue_requested.emit(replace(self.state.config))
        self.done(QWizard.Accepted)

    def queue_sweep(self, sweep_id: str) -> None:
        """The settings page's sweep was queued: the wizard's work is done."""
        self.sweep_queued.emit(sweep_id)
        self.done(QWizard.Accepted)

    def accept(self) -> None:
        self.model.name_model(self.review_page.model_name.text())  # typed, then Launch without leaving the field
        self.launch_requested.emit(replace(self.state.config))
        super().accept()
