"""Step 5: review everything, see what it takes, pick a quicker alternative in one click, launch."""
from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
                               QWizardPage)

from peftstudio.engine.planning import energy_text, format_duration, get_profile, method_name, time_text
from peftstudio.ui.locales import STRINGS


class ReviewPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(STRINGS["wizard.review.title"])
        self.setSubTitle(STRINGS["wizard.review.subtitle"])
        self.setFinalPage(True)
        self.setButtonText(wizard.WizardButton.FinishButton, STRINGS["wizard.launch"])
        layout = QVBoxLayout(self)
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel(STRINGS["wizard.review.name"]))
        self.model_name = QLineEdit()
        self.model_name.setObjectName("review.model_name")
        self.model_name.setToolTip(STRINGS["wizard.review.name_tip"])
        self.model_name.editingFinished.connect(
            lambda: self.model_name.setText(self.wiz.model.name_model(self.model_name.text())))
        name_row.addWidget(self.model_name, 1)
        layout.addLayout(name_row)
        self.summary = QLabel()
        self.summary.setObjectName("review.summary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("<b>Quicker or leaner alternatives</b>"))
        self.alternatives = QVBoxLayout()
        layout.addLayout(self.alternatives)
        row = QHBoxLayout()
        self.save_preset = QPushButton(STRINGS["wizard.review.save_preset"])
        self.save_preset.setObjectName("review.save_preset")
        self.save_preset.clicked.connect(self._save_preset)
        row.addWidget(self.save_preset)
        self.status = QLabel()
        self.status.setTextFormat(Qt.PlainText)
        self.status.setObjectName("review.status")
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addStretch()
        self.alternative_buttons: list[QPushButton] = []

    def initializePage(self) -> None:  # noqa: N802
        self.refresh()

    def refresh(self) -> None:
        state, plan = self.wiz.state, self.wiz.state.plan
        if not self.model_name.hasFocus():
            self.model_name.setText(state.version_name)
        c, e = state.config, self.wiz.model.current_estimates()
        profile = get_profile(state.profile_id)
        report = state.dataset_report
        rows = [
            ("Use case", profile.name),
            ("Dataset", f"{Path(state.dataset_path).name} ({report.rows_usable if report else '?'} examples)"),
            ("Model", state.model_id),
            ("Method", f"{method_name(c.peft_method)}, rank {c.lora_r}, alpha {c.lora_alpha}"
                       + (f", {c.quantization} weights" if c.quantization else "")),
            ("Training", f"{c.epochs:g} epochs" if not c.max_steps else f"{c.max_steps} steps"),
            ("Batch", f"{c.batch_size} x {c.gradient_accumulation}"
                      + (f" x {c.num_processes} GPUs" if c.num_processes > 1 else "")
                      + f" = {c.effective_batch_size} examples per update"),
            ("Learning rate", f"{c.learning_rate:g} ({c.scheduler}, {c.warmup_steps} warm-up steps)"),
            ("Sequence length", f"{c.max_seq_length} tokens, packing {'on' if c.packing else 'off'}"),
            ("Time", time_text(e)),
            ("Memory", f"about {e.peak_memory / 2**30:.1f} GB at peak"),
            ("Energy", f"{energy_text(e, self.wiz.model.settings.price_per_kwh)}, {e.carbon_kg * 1000:.0f} g CO₂"),
        ]
        if self.wiz.model.learns_from_checker:  # GRPO: what scores the answers, and how many it writes
            rows[4:4] = [("Rewards", ", ".join(c.rewards) + (f" (your file {Path(c.reward_file).name})"
                                                             if c.reward_file else "")),
                         ("Answers", f"{c.num_generations} per prompt, up to {c.max_completion_length} tokens, "
                                     f"KL beta {c.kl_beta:g}")]
            rows[1] = ("Dataset", f"{Path(state.dataset_path).name} ({report.rows_usable if report else '?'} prompts)")
        table = "".join(f"<tr><td style='padding-right:12px;color:#555'>{k}</td><td>{escape(str(v))}</td></tr>"
                        for k, v in rows)  # values name the user's model and dataset files
        note = f"<p style='color:#b00020'>{escape(plan.explanation)}</p>" if plan is not None and plan.explanation \
            else ""
        warning = self.wiz.model.data_warning()
        if warning:
            note += f"<p style='color:#a15c00'><b>Too little data.</b> {escape(warning)}</p>"
        longer = self.wiz.model.context_warning()
        if longer:
            note += f"<p style='color:#a15c00'><b>Longer than the model's context.</b> {escape(longer)}</p>"
        self.summary.setText(f"<table>{table}</table>{note}")
        for button in self.alternative_buttons:
            button.parentWidget().deleteLater()
        self.alternative_buttons = []
        for index, alt in enumerate(plan.alternatives if plan is not None else []):
            line = QWidget()
            line_layout = QHBoxLayout(line)
            line_layout.setContentsMargins(0, 0, 0, 0)
            text = QLabel(f"<b>{alt.title}</b>: about {format_duration(alt.estimates.duration_expected)}, "
                          f"{alt.estimates.peak_memory / 2**30:.1f} GB. {alt.tradeoff}")
            text.setWordWrap(True)
            line_layout.addWidget(text, 1)
            button = QPushButton(STRINGS["wizard.review.use"])
            button.setObjectName(f"review.alternative.{index}")
            button.clicked.connect(lambda _=False, a=alt: self._use(a))
            line_layout.addWidget(button)
            self.alternatives.addWidget(line)
            self.alternative_buttons.append(button)

    def _use(self, alternative) -> None:
        self.wiz.model.use_alternative(alternative)
        self.status.setText(f"Using: {alternative.title}")
        self.refresh()

    def _save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, STRINGS["wizard.review.save_preset"], STRINGS["wizard.review.preset_name"])
        if ok and name.strip():
            self.wiz.model.save_preset(name.strip())
            self.status.setText(f"Saved preset '{name.strip()}'.")
