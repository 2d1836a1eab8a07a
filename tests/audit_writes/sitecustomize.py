"""Test-only: in processes of rank > 0, record every file opened for writing (Python audit hooks).

Put this folder on PYTHONPATH and set PEFTSTUDIO_AUDIT_REPORT to a folder; each non-zero rank writes
`writes-rank<N>.json` there when it exits. Rank 0 and processes outside a launch are left alone.
"""
import atexit
import json
import os
import sys

_RANK = os.environ.get("RANK")
_REPORT = os.environ.get("PEFTSTUDIO_AUDIT_REPORT")

if _RANK not in (None, "0") and _REPORT:
    _writes = set()

    def _hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing:
                _writes.add(os.path.abspath(os.fsdecode(args[0])))
        elif event in ("os.rename", "os.replace", "os.remove", "os.mkdir", "shutil.rmtree"):
            for arg in args:
                if isinstance(arg, (str, bytes, os.PathLike)):
                    _writes.add(os.path.abspath(os.fsdecode(arg)))

    sys.addaudithook(_hook)

    @atexit.register
    def _save():
        path = os.path.join(_REPORT, f"writes-rank{_RANK}.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(sorted(_writes), handle)
