"""PEFT Studio: fine-tune large language models with LoRA/QLoRA, guided."""
import os as _os

__version__ = "0.1.0"

# Privacy: no telemetry of any kind, whichever entry point imported us first.
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
_os.environ.setdefault("DO_NOT_TRACK", "1")
