"""Step 1: what the model is for. The nine use cases as cards, plus the user's own profiles."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWizardPage,
)

from peftstudio.engine.planning import OptimizationProfile, all_profiles, format_duration, save_user_profile
from peftstudio.ui.locales import STRINGS

# the platform's own icons, so cards look native everywhere without shipping image files
ICONS = {"chat": QStyle.SP_MessageBoxQuestion, "code": QStyle.SP_ComputerIcon, "summary": QStyle.SP_FileDialogDetailedView,
         "question": QStyle.SP_MessageBoxInformation, "pen": QStyle.SP_FileDialogContentsView,
         "book": QStyle.SP_DirHomeIcon, "check": QStyle.SP_DialogApplyButton, "tools": QStyle.SP_FileDialogListView,
         "json": QStyle.SP_FileIcon}


class UseCasePage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle(STRINGS["wizard.use_case.title"])
        self.setSubTitle(STRINGS["wizard.use_case.subtitle"])
        layout = QVBoxLayout(self)
        self.grid = QGridLayout()
        layout.addLayout(self.grid)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.cards: dict[str, QToolButton] = {}
        row = QHBoxLayout()
        self.custom_button = QPushButton(STRINGS["wizard.use_case.custom"])
        self.custom_button.setObjectName("use_case.custom")
        self.custom_button.clicked.connect(self.create_custom_profile)
        row.addWidget(self.custom_button)
        row.addStretch()
        layout.addLayout(row)
        self.message = QLabel()
        self.message.setTextFormat(Qt.PlainText)
        self.message.setObjectName("use_case.message")
        self.message.setStyleSheet("color: #b00020;")
        layout.addWidget(self.message)
        self.populate()

    def populate(self) -> None:
        for card in self.cards.values():
            self.group.removeButton(card)
            card.deleteLater()
        self.cards.clear()
        for index, profile in enumerate(all_profiles()):
            card = QToolButton()
            card.setObjectName(f"use_case.{profile.id}")
            card.setCheckable(True)
            card.setIcon(self.style().standardIcon(ICONS.get(profile.icon, QStyle.SP_FileIcon)))
            card.setIconSize(QSize(28, 28))
            card.setToolButtonStyle(Qt.ToolButtonTextUnderIcon)
            card.setMinimumSize(280, 150)
            card.setText(self._card_text(profile))
            card.setToolTip(profile.description)
            card.setStyleSheet("QToolButton { text-align: left; padding: 8px; border: 1px solid #bbb; "
                               "border-radius: 8px; } QToolButton:checked { border: 2px solid #2a6fdb; "
                               "background: #eaf1fd; }")
            card.clicked.connect(lambda _=False, pid=profile.id: self.choose(pid))
            self.group.addButton(card)
            self.grid.addWidget(card, index // 3, index % 3)
            self.cards[profile.id] = card
        self.select(self.wiz.state.profile_id)

    def _card_text(self, profile: OptimizationProfile) -> str:
        minutes = self.wiz.model.profile_time_estimate(profile)
        needs = profile.requirements
        return (f"{profile.name}\n{_wrap(profile.description, 38)}\n"
                f"Needs ~{needs.min_gpu_memory / 2**30:.0f} GB, {needs.recommended_dataset_size}+ examples\n"
                f"On this machine: ~{format_duration(minutes)} for {needs.recommended_dataset_size} examples")

    def select(self, profile_id: str) -> None:
        card = self.cards.get(profile_id)
        if card is not None:
            card.setChecked(True)

    def choose(self, profile_id: str) -> None:
        self.wiz.model.profile_chosen(profile_id)
        self.message.clear()

    def create_custom_profile(self) -> None:
        name, ok = QInputDialog.getText(self, STRINGS["wizard.use_case.custom"], STRINGS["wizard.use_case.name"])
        if not ok or not name.strip():
            return
        base = next(p for p in all_profiles() if p.id == self.wiz.state.profile_id)
        custom = OptimizationProfile.from_dict(base.to_dict())
        custom.id = "".join(c if c.isalnum() else "-" for c in name.strip().lower()).strip("-")[:60] or "custom"
        custom.name = name.strip()
        custom.description = f"Your profile, based on {base.name}."
        try:
            save_user_profile(custom)
        except Exception as exc:  # noqa: BLE001 - a PlainError with the reason
            self.message.setText(str(exc))
            return
        self.wiz.model.profile_chosen(custom.id)
        self.populate()

    def validatePage(self) -> bool:  # noqa: N802 - Qt naming
        if self.group.checkedButton() is None:
            self.message.setText(STRINGS["wizard.use_case.pick"])
            return False
        return True


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:3])
