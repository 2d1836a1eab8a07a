"""One PEFT Studio per user and data folder: a second launch asks the first to come forward, then exits.

Uses Qt's local sockets (a named pipe on Windows, a Unix socket elsewhere). The name includes a hash of
the data folder, so a portable copy with its own data folder can run beside the installed one. On Unix
the socket lives in the user's private runtime folder (mode 0700), never under a predictable name in
/tmp, where anyone listening first could stop the app from starting.
"""
from __future__ import annotations

import getpass
import hashlib
import logging
import os
import stat
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACTIVATE = b"activate"
TIMEOUT_MS = 500


log = logging.getLogger(__name__)


def private_folder() -> Path:
    """A folder only this user can enter: $XDG_RUNTIME_DIR/peftstudio, else one in the user's config folder."""
    import platformdirs

    from peftstudio.engine.paths import config_dir  # lazy: off the start-up path (bench/startup.py)

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    candidates = [Path(runtime) / "peftstudio"] if runtime else []
    candidates.append(config_dir() / "run")
    for folder in candidates:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = folder.stat()
            if info.st_uid == os.getuid() and not stat.S_IMODE(info.st_mode) & 0o077:
                return folder
            os.chmod(folder, 0o700)
            return folder
        except OSError:
            continue
    return Path(platformdirs.user_runtime_dir("peftstudio"))


def server_name() -> str:
    from peftstudio.engine.paths import data_dir  # lazy: off the start-up path (bench/startup.py)

    key = hashlib.sha1(f"{getpass.getuser()}|{data_dir().resolve()}".encode()).hexdigest()[:12]
    if os.name == "nt":
        return f"peftstudio-{key}"  # a named pipe; UserAccessOption below keeps other users out
    return str(private_folder() / f"instance-{key}.sock")


def ask_running_instance() -> bool:
    """True when another instance answered (it will show its window): this process should exit."""
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    if not socket.waitForConnected(TIMEOUT_MS):
        return False
    socket.write(ACTIVATE)
    socket.flush()
    socket.waitForBytesWritten(TIMEOUT_MS)
    socket.disconnectFromServer()
    message = "PEFT Studio is already open for this data folder: its window was brought to the front."
    log.info(message)
    print(message, file=sys.stderr)
    return True


class InstanceServer(QObject):
    """Listens for later launches; `activate_requested` fires when one asks us to come forward."""

    activate_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        name = server_name()
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # a stale socket left by a crash (nobody answered above)
            if not self.server.listen(name):
                log.warning("single-instance socket unavailable: %s", self.server.errorString())
        self.server.newConnection.connect(self._on_connection)

    def _on_connection(self) -> None:
        socket = self.server.nextPendingConnection()
        if socket is None:
            return
        socket.readyRead.connect(lambda s=socket: self._read(s))
        if socket.bytesAvailable():
            self._read(socket)

    def _read(self, socket) -> None:
        if ACTIVATE in bytes(socket.readAll()):
            self.activate_requested.emit()
        socket.disconnectFromServer()

    def close(self) -> None:
        self.server.close()


def bring_to_front(window) -> None:
    window.setWindowState(window.windowState() & ~window.windowState().__class__.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
