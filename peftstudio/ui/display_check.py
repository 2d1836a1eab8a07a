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


def _candidates() -> list[str]:
    """The platforms Qt will try, in order: QT_QPA_PLATFORM's list, else Wayland (in a Wayland session), then X11."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "")
    if chosen.strip():
        return [part.split(":")[0].strip() for part in chosen.split(";") if part.strip()]
    return (["wayland"] if os.environ.get("WAYLAND_DISPLAY") else []) + ["xcb"]


def _x_server_answers(display: str) -> bool:
    """Connect to the X server with libxcb (what the xcb plugin does first); True when unsure."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # the plugin check names missing libraries; nothing more to learn here
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def _why_not(platform: str, folder: Path) -> str | None:
    """Why this platform cannot open a window here, or None when it can."""
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
    if platform == "xcb" and os.environ.get("DISPLAY") and not _x_server_answers(os.environ["DISPLAY"]):
        return (f"PEFT Studio cannot open its window: no display answers at {os.environ['DISPLAY']}.\n"
                "Why: the X server of that display is not running, or this user may not use it.\n"
                "What to do:\n"
                "  1. Start PEFT Studio from your desktop session (or check DISPLAY).\n"
                "  2. Over ssh, connect with `ssh -X` to forward the window.\n"
                "  3. Or use the terminal, which needs no window: peftstudio --help")
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return ("PEFT Studio cannot open its window: there is no display here (DISPLAY is not set).\n"
                "Why: the app was started outside a desktop session, e.g. over ssh.\n"
                "What to do:\n"
                "  1. Start it from your desktop, or connect with `ssh -X` to forward the window.\n"
                "  2. Or use the terminal, which needs no window: peftstudio --help")
    return None


def problem() -> str | None:
    """A plain explanation when no platform Qt would try can open a window here, else None (also off Linux).
    Qt falls back along its list, so one that works is enough; the first failure is the one explained."""
    if not sys.platform.startswith("linux"):
        return None
    folder = _plugin_folder()
    if folder is None:
        return None
    reasons = [_why_not(platform, folder) for platform in _candidates()]
    return None if any(reason is None for reason in reasons) else reasons[0]
