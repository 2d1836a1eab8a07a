"""One PEFT Studio per user and data folder: a second launch asks the first to come forward, then exits.

Uses Qt's local sockets (a named pipe on Windows, a Unix socket elsewhere). The name includes a hash of
the data folder, so a portable copy with its own data folder can run beside the installed one.
"""
from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACTIVATE = b"activate"
TIMEOUT_MS = 500


def server_name() -> str:
    from peftstudio.engine.paths import data_dir

    key = hashlib.sha1(f"{getpass.getuser()}|{data_dir().resolve()}".encode()).hexdigest()[:12]
    return f"peftstudio-{key}"


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
    return True


class InstanceServer(QObject):
    """Listens for later launches; `activate_requested` fires when one asks us to come forward."""

    activate_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.server = QLocalServer(self)
        name = server_name()
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # a stale socket left by a crash
            self.server.listen(name)
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
