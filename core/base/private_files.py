"""Private files: everything Engram writes about a person is readable by that person only.

New folders are made 0700 and new files 0600 (the process umask is set to 077 by the
entry points: `use_private_umask`; files Engram creates itself are also created with an
explicit mode, so they are private whatever the umask). `audit` lists what is readable or
writable by others in a data folder, for `engram doctor`; `make_private` fixes it (doctor
--repair). On Windows, POSIX modes mean little and the audit reports nothing.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def use_private_umask() -> int:
    """Files and folders created from now on by this process (SQLite, Chroma, logs, exports)
    get no group or other permissions. Returns the previous umask."""
    return os.umask(0o077)


def create_private_file(path: Path) -> None:
    """Create `path` empty and owner-only if it does not exist (before SQLite opens it, so
    the database and its -wal/-shm files, which take the database's mode, are private)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def open_private(path: Path, mode: str = "w", encoding: str | None = "utf-8"):
    """`open` for a new file that is owner-only from its first byte (exports, partial files)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE)
    os.chmod(path, PRIVATE_FILE)   # an existing file keeps its old mode through O_CREAT
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding=encoding)


@dataclass(frozen=True)
class LooseFile:
    path: Path
    mode: int

    def describe(self, root: Path) -> str:
        try:
            name = str(self.path.relative_to(root)) or "."
        except ValueError:
            name = str(self.path)
        return f"{name} ({stat.filemode(self.mode)})"


def audit(data_dir: Path) -> list[LooseFile]:
    """Files and folders in the data folder (the folder itself included) that others may
    read, write or enter. Models are left out: they are not personal (and may be shared)."""
    if os.name != "posix" or not data_dir.exists():
        return []
    return [LooseFile(p, m) for p, m in _walk(data_dir) if m & _OTHERS]


def make_private(data_dir: Path) -> int:
    """Remove group and other permissions throughout the data folder (models excepted).
    Returns how many entries changed."""
    changed = 0
    for loose in audit(data_dir):
        try:
            os.chmod(loose.path, stat.S_IMODE(loose.mode) & ~_OTHERS)
            changed += 1
        except OSError:
            continue
    return changed


def _walk(root: Path) -> Iterator[tuple[Path, int]]:
    try:
        yield root, root.stat().st_mode
    except OSError:
        return
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root and "models" in dirnames:
            dirnames.remove("models")
        for name in dirnames + filenames:
            path = here / name
            try:
                st = path.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                continue
            yield path, st.st_mode
