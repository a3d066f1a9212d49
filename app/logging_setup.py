"""Logging to a rotating, owner-only file in the data folder.

Rule: message and memory text is never logged at INFO or above; log ids and counts instead.
When the data folder cannot hold the log (it is read-only, or missing), the log goes to a
private folder in the system's temporary directory, so a failure's detail is never lost;
`current_log_file` says where. Logging never prints its own errors to the terminal (a full
disk must not turn one error line into a traceback).
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import tempfile
from pathlib import Path

LOG_NAME = "engram.log"
_current: Path | None = None


def setup_logging(logs_dir: Path, *, verbose: bool = False) -> Path | None:
    """Log to `logs_dir/engram.log` (or the fallback folder). Returns the file in use, or
    None if no file could be opened anywhere. Calling it again keeps the first file."""
    global _current
    logging.raiseExceptions = False
    root = logging.getLogger()
    if any(getattr(h, "_engram", False) for h in root.handlers):
        return _current
    handler = None
    for folder in (logs_dir, private_fallback_dir()):
        if folder is None:
            continue
        handler = _file_handler(folder)
        if handler is not None:
            _current = folder / LOG_NAME
            break
    if handler is None:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._engram = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("chromadb", "httpx", "urllib3", "sentence_transformers", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return _current


def current_log_file() -> Path | None:
    return _current


def fallback_logs_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    return Path(tempfile.gettempdir()) / f"engram-{uid}-logs"


def private_fallback_dir() -> Path | None:
    """The fallback folder, made if needed; None if it cannot be made or is not this user's
    alone (someone else's folder in /tmp is never logged into)."""
    folder = fallback_logs_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _owned_and_private(folder):
            return folder
    except OSError:
        pass
    return None


def _file_handler(folder: Path) -> logging.Handler | None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / LOG_NAME
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    return handler


def _owned_and_private(folder: Path) -> bool:
    if not hasattr(os, "getuid"):
        return True
    st = folder.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o077
