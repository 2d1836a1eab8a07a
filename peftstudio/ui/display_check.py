"""Before the window: can Qt show one here? Otherwise a plain message instead of Qt's abort.

Qt's own failure ("no Qt platform plugin could be initialized. Reinstalling the application may fix this
problem.") aborts the process and sends users to reinstall, which does not help: on Linux the usual cause
is a system library the xcb plugin needs (libxcb-cursor0 and its siblings). Loading the plugin's shared
library with the dynamic loader, as Qt would, names the missing library exactly; no Qt code runs.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from pathlib import Path

# what to install on Debian/Ubuntu and Fedora for Qt 6's xcb plugin (measured on a bare Debian machine)
DEBIAN_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-xinerama0 "
                   "libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0")
FEDORA_PACKAGES = "xcb-util-cursor xcb-util-wm xcb-util-image xcb-util-keysyms xcb-util-renderutil libxkbcommon-x11"
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so", "offscreen": "libqoffscreen.so",
                "minimal": "libqminimal.so", "eglfs": "libqeglfs.so", "vnc": "libqvnc.so"}


def _plugin_folder() -> Path | None:
    override = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "Qt" / "plugins" / "platforms"


def _platform() -> str:
    """The platform Qt will try first, as it decides: QT_QPA_PLATFORM, else Wayland or X11 by the session."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return "wayland"
    return "xcb"


def problem() -> str | None:
    """A plain explanation when no window can be shown here, else None (also None off Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    platform = _platform()
    folder = _plugin_folder()
    if folder is None:
        return None
    plugin = folder / PLUGIN_FILES.get(platform, f"libq{platform}.so")
    if not plugin.is_file():
        return (f"PEFT Studio cannot open its window: Qt's display plugin for '{platform}' is not in {folder}.\n"
                "Why: the plugin folder was changed (QT_QPA_PLATFORM_PLUGIN_PATH) or the installation is incomplete.\n"
                "What to do:\n"
                "  1. Unset QT_QPA_PLATFORM_PLUGIN_PATH and QT_QPA_PLATFORM, then start PEFT Studio again.\n"
                "  2. If it still fails, run `make clean` and `make run` to reinstall.\n"
                "  3. Everything also works from the terminal: peftstudio --help")
    try:
        ctypes.CDLL(str(plugin), mode=getattr(os, "RTLD_LAZY", 1))
    except OSError as exc:
        missing = re.match(r"([^:\s]+\.so[.\d]*)", str(exc))
        name = missing.group(1) if missing else str(exc)
        return ("PEFT Studio cannot open its window: a system library that Qt needs to draw windows is missing "
                f"({name}).\n"
                "Why: desktop-less Linux installations leave out the X11 libraries of Qt's display plugin; "
                "reinstalling PEFT Studio does not add them.\n"
                "What to do:\n"
                f"  1. Debian/Ubuntu: sudo apt install {DEBIAN_PACKAGES}\n"
                f"  2. Fedora: sudo dnf install {FEDORA_PACKAGES}\n"
                "  3. Or use the terminal, which needs no window: peftstudio --help")
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return ("PEFT Studio cannot open its window: there is no display here (DISPLAY is not set).\n"
                "Why: the app was started outside a desktop session, e.g. over ssh.\n"
                "What to do:\n"
                "  1. Start it from your desktop, or connect with `ssh -X` to forward the window.\n"
                "  2. Or use the terminal, which needs no window: peftstudio --help")
    return None
