"""One line for every failure: what failed, where, and what to do about it.

The CLI prints `describe(error)` on stderr, exits non-zero, and writes the traceback to the
log file. Failures of the environment (a full disk, a read-only or unreadable folder, a
missing folder) are recognised whatever layer raised them: an OSError, SQLite's
"database or disk is full", or a Chroma error that carries SQLite's or the OS's message. A
chain of exceptions (a failure while recovering from a failure) is described by its most
telling link, not by the last one. An EngramError is core's own message and is used as is.
"""
from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from core.base.errors import EngramError

DISK_FULL = "the disk is full"
MAX_LINE = 400


def describe(exc: BaseException, *, data_dir: Path | None = None) -> str:
    """The one line (without the "engram: error: " prefix). An EngramError is raised on
    purpose with its own message; anything else is described by its most telling link."""
    if isinstance(exc, EngramError):
        return _one_line(str(exc))
    chain = list(_chain(exc))
    for link in chain:
        line = _environment(link, data_dir)
        if line:
            return _one_line(line)
    for link in chain:
        if isinstance(link, EngramError):
            return _one_line(str(link))
    text = str(exc) or type(exc).__name__
    return _one_line(f"unexpected {type(exc).__name__}: {text}")


def is_environment_failure(exc: BaseException) -> bool:
    return any(_environment(link, None) for link in _chain(exc))


def _environment(exc: BaseException, data_dir: Path | None) -> str | None:
    if isinstance(exc, OSError) and exc.errno is not None:
        return _os_error(exc, data_dir)
    message = str(exc)
    lowered = message.lower()
    where = _where(exc)
    if "database or disk is full" in lowered or "no space left on device" in lowered:
        where = where or (f"the data folder {data_dir}" if data_dir else "the data folder")
        return f"{DISK_FULL} (writing {where}): free some space and try again"
    if "readonly database" in lowered or "read-only file system" in lowered:
        folder = data_dir or "the data folder"
        return (f"{folder} is read-only (Engram cannot write its database there): make it "
                "writable, or choose another data folder with --home")
    if "disk i/o error" in lowered and _no_room(data_dir):
        # SQLite reports a write into its memory-mapped -shm file on a full disk as an I/O
        # error, not as "disk is full": the free space tells which it was
        return (f"{DISK_FULL} (writing the data folder {data_dir}): free some space and "
                "try again")
    if isinstance(exc, sqlite3.OperationalError) and "unable to open database file" in lowered:
        folder = data_dir or "the data folder"
        return (f"cannot open the database in {folder} (the folder is not readable and "
                "writable for you): check its permissions, or choose another with --home")
    if isinstance(exc, sqlite3.OperationalError) and "database is locked" in lowered:
        return "the database is busy (another Engram process is writing): try again"
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in lowered
                                                   or "not a database" in lowered):
        return ("the database file is damaged: run `engram doctor`, or restore a backup "
                "from the backups folder")
    if "permission denied" in lowered:
        return f"permission denied{f': {where}' if where else ''} ({message.strip()})"
    return None


def _os_error(exc: OSError, data_dir: Path | None) -> str | None:
    name = exc.filename or ""
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"{DISK_FULL} (writing {name or 'a file'}): free some space and try again"
    if code in (errno.EACCES, errno.EPERM):
        inside = _inside(name, data_dir)
        hint = ("the data folder is not writable for you; make it so, or choose another "
                "with --home") if inside else "check its permissions"
        return f"permission denied: {name or 'a file'} ({hint})"
    if code == errno.EROFS:
        return f"{name or 'the folder'} is on a read-only file system"
    if code == errno.ENOENT:
        return f"no such file or folder: {name}" if name else None
    if code in (errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP):
        return f"{exc.strerror}: {name}" if name else exc.strerror
    if code == errno.EIO:
        return f"input/output error reading or writing {name or 'a file'} (a failing disk?)"
    return None


def _no_room(folder: Path | None, minimum: int = 1 << 20) -> bool:
    """Whether the file system holding `folder` has less than `minimum` bytes free."""
    if folder is None or not hasattr(os, "statvfs"):
        return False
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < minimum


def _where(exc: BaseException) -> str:
    name = getattr(exc, "filename", None)
    return str(name) if name else ""


def _inside(name: str, data_dir: Path | None) -> bool:
    if not name or data_dir is None:
        return False
    try:
        Path(name).resolve().relative_to(data_dir.resolve())
    except (ValueError, OSError):
        return False
    return True


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"
