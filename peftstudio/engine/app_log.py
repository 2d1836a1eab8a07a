"""The application's log: rotating files in the platform's log folder, and a diagnostics summary.

Only PEFT Studio's own messages at INFO and above go to the file (libraries at WARNING), never dataset
contents. "Copy diagnostics" in the Help menu gives the summary below to paste into a bug report.
"""
from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
from pathlib import Path

from peftstudio import __version__
from peftstudio.engine import paths
from peftstudio.engine.paths import log_dir
from peftstudio.engine.planning.hardware import hardware_profile

LOG_FILE = "peftstudio.log"
MAX_BYTES = 2 * 2**20
BACKUPS = 5
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging() -> Path:
    """Attach the rotating file handler once; returns the log file's path."""
    path = log_dir() / LOG_FILE
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))
    logging.getLogger("peftstudio").setLevel(logging.INFO)
    for noisy in ("transformers", "peft", "accelerate", "urllib3", "huggingface_hub", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("peftstudio").info("PEFT Studio started (%s)", " ".join(sys.argv[1:]) or "gui")
    return path


def diagnostics(tail_lines: int = 40) -> str:
    """Versions, machine, folders and the end of the log: what a bug report needs, nothing private."""
    from importlib import metadata


    lines = [f"PEFT Studio {__version__}", f"Python {platform.python_version()} on {platform.platform()}",
             f"Frozen build: {bool(getattr(sys, 'frozen', False))}"]
    for package in ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "gguf", "PySide6-Essentials"):
        try:
            lines.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{package} not installed")
    hw = hardware_profile()
    lines.append(f"CPU: {hw.cpu_model}, {hw.cpu_cores} cores; RAM {hw.ram_total / 2**30:.1f} GB "
                 f"({hw.ram_available / 2**30:.1f} GB free); disk free {hw.disk_free / 2**30:.1f} GB")
    for gpu in hw.gpus:
        lines.append(f"GPU {gpu.index}: {gpu.name}, {gpu.memory_total / 2**30:.1f} GB, CUDA {gpu.cuda_version}")
    lines += [f"Data folder: {paths.data_dir()}", f"Log folder: {paths.log_dir()}", "", "Last log lines:"]
    log = paths.log_dir() / LOG_FILE
    if log.exists():
        lines += log.read_text(encoding="utf-8", errors="replace").splitlines()[-tail_lines:]
    return "\n".join(lines)
