"""Test-only: kill this process at a chosen point, and record every path it writes (Python audit hooks).

PEFTSTUDIO_FAULT="GLOB|N|DELAY_MS": SIGKILL, DELAY_MS after the N-th time a file matching GLOB is opened for
writing (0: at once, while the file is still empty). PEFTSTUDIO_FAULT_WRITES=FILE: each written, renamed,
made or removed path is appended to FILE as it happens (a killed process runs no exit handlers).
Files written by native code (safetensors, SQLite) raise no audit event; the tests check those folders
by listing them instead.
"""
import fnmatch
import os
import signal
import sys
import threading

_FAULT = os.environ.get("PEFTSTUDIO_FAULT")
_WRITES = os.environ.get("PEFTSTUDIO_FAULT_WRITES")

if _FAULT or _WRITES:
    _pattern, _nth, _delay = (_FAULT.split("|") + ["", "1", "0"])[:3] if _FAULT else ("", "1", "0")
    _state = {"count": 0, "seen": set(), "armed": False}
    _log = os.open(_WRITES, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if _WRITES else None

    def _kill() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def _record(path) -> None:
        path = os.path.abspath(os.fsdecode(path))
        if _log is not None and path not in _state["seen"]:
            _state["seen"].add(path)
            os.write(_log, (path + "\n").encode("utf-8", "surrogateescape"))
        if _pattern and not _state["armed"] and fnmatch.fnmatch(path, _pattern):
            _state["count"] += 1
            if _state["count"] == int(_nth):
                _state["armed"] = True
                if int(_delay) <= 0:
                    _kill()
                threading.Timer(int(_delay) / 1000, _kill).start()

    def _hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing:
                _record(args[0])
        elif event in ("os.rename", "os.replace", "os.remove", "os.mkdir", "os.rmdir", "shutil.rmtree",
                       "os.truncate"):
            dir_fds = {"os.mkdir": args[2:3], "os.rename": args[2:4], "os.replace": args[2:4]}.get(event, args[1:2])
            if event != "os.truncate" and any(isinstance(fd, int) and fd >= 0 for fd in dir_fds):
                return  # relative to a folder descriptor (inside an rmtree, which was recorded itself)
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)):
                    _record(arg)

    sys.addaudithook(_hook)
