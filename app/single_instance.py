"""One running Engram per data folder: a second launch raises the first window and exits.

Two parts, both keyed by the data folder, so two different ENGRAM_HOMEs can run side by side:

- a `QLockFile` in the data folder says who owns the folder. Qt treats a lock whose process is
  gone as stale and takes it over, so a killed Engram never blocks the next start;
- a `QLocalServer` owned by that process receives "activate" requests. Its socket file may be
  left behind by a killed process; the lock owner removes it before listening, which is safe
  because only the lock owner ever listens.

A later launch that cannot take the lock connects, sends one JSON line with its arguments,
waits for "ok" and exits. If the owner does not answer (hung, or still starting for a long
time), `claim` raises `InstanceBusyError` instead of opening the database a second time.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Qt, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from core.base.errors import EngramError

log = logging.getLogger(__name__)

LOCK_NAME = ".engram-instance.lock"
CONNECT_TIMEOUT_MS = 5000


class InstanceBusyError(EngramError):
    """Another Engram owns this data folder but did not answer."""


def server_name(data_dir: Path | str) -> str:
    """A short socket name, the same for every process of this user on this data folder."""
    key = str(Path(data_dir).expanduser().resolve())
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    digest = hashlib.sha256(f"{user}\0{key}".encode()).hexdigest()[:16]
    return f"engram-{digest}"


class SingleInstance(QObject):
    """The running instance's side: emits `activated(argv)` when a later launch asks."""

    activated = Signal(list)

    def __init__(self, lock: QLockFile, server: QLocalServer) -> None:
        super().__init__()
        self._lock = lock
        self._server = server
        self._clients: dict[QLocalSocket, bytearray] = {}
        self._done: list[QLocalSocket] = []
        server.setParent(self)
        server.newConnection.connect(self._on_connection)

    @property
    def name(self) -> str:
        return self._server.serverName()

    def _on_connection(self) -> None:
        self._prune()
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            self._clients[sock] = bytearray()
            sock.readyRead.connect(lambda sock=sock: self._on_ready(sock))
            if sock.bytesAvailable():
                self._on_ready(sock)

    def _on_ready(self, sock: QLocalSocket) -> None:
        buf = self._clients.get(sock)
        if buf is None:
            return
        buf.extend(bytes(sock.readAll()))
        if b"\n" not in buf:
            return
        del self._clients[sock]
        self._done.append(sock)
        try:
            argv = [str(a) for a in json.loads(bytes(buf).split(b"\n", 1)[0]).get("argv", [])]
        except (ValueError, AttributeError, UnicodeDecodeError):
            log.warning("ignored a malformed activation request")
            sock.disconnectFromServer()
            return
        sock.write(b"ok\n")
        sock.flush()
        sock.disconnectFromServer()
        log.info("another launch asked to raise the window")
        self.activated.emit(argv)

    def _prune(self) -> None:
        """Free answered sockets (not from inside their own signal handlers: PySide crashes)."""
        keep = []
        for sock in self._done:
            if sock.state() == QLocalSocket.LocalSocketState.UnconnectedState:
                sock.setParent(None)   # now owned by Python; freed with the last reference
            else:
                keep.append(sock)
        self._done = keep

    def release(self) -> None:
        """Stop listening and free the folder (also happens when the process ends)."""
        self._server.close()
        self._lock.unlock()


def _ask_running(name: str, argv: list[str], timeout_ms: int) -> bool:
    """Ask the owner to raise its window; True when it answered."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write(json.dumps({"argv": argv}).encode("utf-8") + b"\n")
    sock.waitForBytesWritten(timeout_ms)
    reply = b""
    while b"\n" not in reply and sock.waitForReadyRead(timeout_ms):
        reply += bytes(sock.readAll())
    sock.disconnectFromServer()
    return reply.startswith(b"ok")


def claim(data_dir: Path | str, argv: list[str] | None = None, *,
          timeout_ms: int = CONNECT_TIMEOUT_MS) -> SingleInstance | None:
    """Become the instance for `data_dir`, or hand over to the one that is.

    Returns a listening `SingleInstance` (keep a reference for the process lifetime), or None
    when a running Engram was asked to raise its window and this launch should just exit.
    Needs a QCoreApplication for the server's signals.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    name = server_name(data_dir)
    lock = QLockFile(str(data_dir / LOCK_NAME))
    lock.setStaleLockTime(0)   # stale only when its process is gone, never by age
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        if lock.tryLock(0):
            QLocalServer.removeServer(name)   # a socket file left by a killed owner
            server = QLocalServer()
            server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
            if not server.listen(name):
                lock.unlock()
                raise EngramError(f"Could not listen for other launches: {server.errorString()}")
            log.info("this process owns the data folder (instance %s)", name)
            return SingleInstance(lock, server)
        # Someone owns the folder; the server may not be listening yet, so retry briefly.
        if _ask_running(name, list(argv or []), 100):
            return None
        if lock.error() == QLockFile.LockError.PermissionError:
            raise EngramError(f"Cannot write the lock file in {data_dir}.")
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    raise InstanceBusyError(
        "Engram is already running on this data folder but does not answer. Close it (or end "
        "the process) and try again.")


def raise_window(window) -> None:
    """Bring a window to the front, un-minimising it (window managers may only flash it)."""
    window.setWindowState((window.windowState() & ~Qt.WindowState.WindowMinimized)
                          | Qt.WindowState.WindowActive)
    window.show()
    window.raise_()
    window.activateWindow()


def claim_for_launch(home: str | None = None,
                     argv: list[str] | None = None) -> SingleInstance | None:
    """What the desktop entry point calls first: make sure a QApplication exists, then `claim`
    the data folder. None means "another Engram raised its window; exit now". A hung owner is
    reported in a message box (the user double-clicked; there may be no terminal) and exits 1.
    """
    import sys

    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.paths import resolve_layout

    argv = list(argv if argv is not None else sys.argv)
    app = QApplication.instance() or QApplication(argv)
    layout = resolve_layout(home)
    try:
        return claim(layout.data_dir, argv[1:])
    except EngramError as exc:
        print(f"engram: error: {exc}", file=sys.stderr)
        if isinstance(app, QApplication):
            QMessageBox.warning(None, "Engram", str(exc))
        raise SystemExit(1) from exc
