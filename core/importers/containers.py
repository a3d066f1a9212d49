"""Where archive files come from: a plain file, a zip, or a folder (an unpacked export).

Zips are read in place (nothing is extracted to disk) and checked first: entries whose names
try to leave the archive (absolute paths, `..`) are refused, and the declared sizes must stay
under a total and a compression-ratio limit. The actual bytes read are counted against the
declared size too (see SafeReader), since a hostile zip can lie.
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from core.importers.model import ArchiveError, Skipped
from core.importers.stream import ByteCounter, SafeReader

MAX_TOTAL_BYTES = 64 << 30          # decompressed, across all entries read
MAX_RATIO = 200                     # JSON compresses about 5-20x; bombs go to thousands
MAX_ENTRIES = 200_000
_READABLE = (".json", ".jsonl", ".md", ".markdown", ".txt")


@dataclass
class Entry:
    name: str                       # path inside the archive (or the file's name)
    size: int                       # uncompressed bytes
    _open: Callable[[], BinaryIO]
    max_bytes: int | None = None

    def open(self, counter: ByteCounter | None = None, **limits) -> SafeReader:
        try:
            raw = self._open()
        except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
            raise ArchiveError(f"Cannot read {self.name}: {exc}") from exc
        return SafeReader(raw, name=self.name, counter=counter, max_bytes=self.max_bytes, **limits)

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix.lower()

    @property
    def basename(self) -> str:
        return PurePosixPath(self.name).name


class Container:
    """The readable entries of an archive, plus what was refused and why."""

    def __init__(self, path: Path, entries: list[Entry], refused: list[Skipped],
                 kind: str, closer: Callable[[], None] | None = None) -> None:
        self.path = path
        self.entries = entries
        self.refused = refused
        self.kind = kind              # file, zip, folder
        self._closer = closer

    def close(self) -> None:
        if self._closer:
            self._closer()

    def __enter__(self) -> Container:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_container(path: Path | str, *, max_total: int = MAX_TOTAL_BYTES,
                   max_ratio: int = MAX_RATIO) -> Container:
    path = Path(path)
    try:
        if path.is_dir():
            return _folder(path)
        if not path.is_file():
            raise ArchiveError(f"No such file: {path}")
        if zipfile.is_zipfile(path):
            return _zip(path, max_total, max_ratio)
        if _starts_like_a_zip(path):
            raise ArchiveError(f"{path.name} is a zip file that is truncated or damaged (its "
                               "table of contents is missing): download or copy it again")
        size = path.stat().st_size
        return Container(path, [Entry(path.name, size, lambda: open(path, "rb"))], [], "file")
    except PermissionError as exc:
        raise ArchiveError(f"Cannot read {path}: permission denied") from exc
    except OSError as exc:
        raise ArchiveError(f"Cannot read {path}: {exc.strerror or exc}") from exc


def _starts_like_a_zip(path: Path) -> bool:
    """A zip's first bytes are a local file header; `is_zipfile` looks for the central
    directory at the end, which a cut-off download lacks."""
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _safe_name(name: str) -> bool:
    if not name or "\x00" in name or name.startswith(("/", "\\")):
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return ".." not in parts and not (parts and ":" in parts[0])


def _zip(path: Path, max_total: int, max_ratio: int) -> Container:
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ArchiveError(f"{path.name} is not a readable zip: {exc}") from exc
    if len(infos) > MAX_ENTRIES:
        zf.close()
        raise ArchiveError(f"{path.name} holds {len(infos)} entries (limit {MAX_ENTRIES})")
    entries, refused, total = [], [], 0
    for info in infos:
        if info.is_dir():
            continue
        if not _safe_name(info.filename):
            refused.append(Skipped("unsafe path in zip (refused)", item=info.filename))
            continue
        if PurePosixPath(info.filename).suffix.lower() not in _READABLE:
            continue
        if info.file_size > max_ratio * max(info.compress_size, 1) and info.file_size > 1 << 20:
            refused.append(Skipped(f"compression ratio over {max_ratio}:1 (possible zip bomb)",
                                   item=info.filename))
            continue
        total += info.file_size
        if total > max_total:
            zf.close()
            raise ArchiveError(f"{path.name} would decompress to more than "
                               f"{max_total >> 30} GB; refusing a possible zip bomb")
        entries.append(Entry(info.filename, info.file_size,
                             (lambda i=info: zf.open(i)), max_bytes=info.file_size + 4096))
    return Container(path, entries, refused, "zip", zf.close)


def _folder(path: Path) -> Container:
    entries: list[Entry] = []
    for root, dirs, files in os.walk(path, followlinks=False):
        dirs.sort()
        for fname in sorted(files):
            full = Path(root) / fname
            if full.suffix.lower() not in _READABLE or full.is_symlink():
                continue
            rel = full.relative_to(path).as_posix()
            opener = (lambda f=full: open(f, "rb"))  # noqa: SIM115
            entries.append(Entry(rel, full.stat().st_size, opener))
            if len(entries) > MAX_ENTRIES:
                raise ArchiveError(f"{path} holds more than {MAX_ENTRIES} files")
    return Container(path, entries, [], "folder")
