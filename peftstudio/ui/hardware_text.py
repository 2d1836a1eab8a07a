"""This machine in one line, for the home page and the welcome."""
from __future__ import annotations

from peftstudio.ui.locales import STRINGS


def hardware_summary(profile) -> str:
    text = (f"{STRINGS['home.hardware']}: {profile.cpu_threads} CPU threads, {profile.ram_total / 2**30:.1f} GB RAM "
            f"({profile.ram_available / 2**30:.1f} GB free), {profile.disk_free / 2**30:.0f} GB free disk")
    if profile.gpus:
        text += "; " + ", ".join(f"{g.name} ({g.memory_total / 2**30:.0f} GB)" for g in profile.gpus)
    else:
        text += "; no NVIDIA GPU: small models train on the CPU"
    return text
