"""Per-conversation KV states on disk: `<kv_state_dir>/<conversation_id>.kvstate`.

A file is a small JSON header (fingerprint of the model file + the KV settings, and the token
bookkeeping) followed by llama.cpp's sequence state. Files are written atomically; a state is
restored only when its fingerprint matches the loaded model and settings; total size is kept
under a budget by deleting the least recently used files. `delete_states` removes
`<conversation_id>.*` when a conversation or a memory it saw is purged (core.services.purge):
the file names are this module's to know.
"""
from __future__ import annotations

import json
import logging
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.base.atomic import write_bytes_atomic

log = logging.getLogger(__name__)
MAGIC = b"EKV1"
SUFFIX = ".kvstate"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


@dataclass
class SavedState:
    header: dict[str, Any]
    data: bytes


class KVStateStore:
    def __init__(self, directory: Path | str, budget_bytes: int) -> None:
        self.dir = Path(directory)
        self.budget = int(budget_bytes)

    def path(self, conversation_id: str) -> Path:
        if not _SAFE_ID.match(conversation_id):
            raise ValueError(f"unsafe conversation id for a file name: {conversation_id!r}")
        return self.dir / f"{conversation_id}{SUFFIX}"

    def save(self, conversation_id: str, fingerprint: str, book: dict[str, Any],
             data: bytes) -> Path:
        header = json.dumps({"fingerprint": fingerprint, "book": book},
                            separators=(",", ":")).encode()
        path = self.path(conversation_id)
        write_bytes_atomic(path, MAGIC + struct.pack("<Q", len(header)) + header + data)
        self.enforce_budget(keep=path)
        return path

    @staticmethod
    def _read_header(f) -> dict[str, Any] | None:
        head = f.read(12)
        if len(head) < 12 or head[:4] != MAGIC:
            return None
        (n,) = struct.unpack("<Q", head[4:])
        try:
            return json.loads(f.read(n))
        except ValueError:
            return None

    def load(self, conversation_id: str, fingerprint: str) -> SavedState | None:
        """The saved state when it matches `fingerprint`; a stale or damaged file is deleted."""
        path = self.path(conversation_id)
        try:
            with open(path, "rb") as f:
                header = self._read_header(f)
                if header is None or header.get("fingerprint") != fingerprint:
                    f.close()
                    path.unlink(missing_ok=True)
                    log.debug("kv state of %s discarded (stale or damaged)", conversation_id)
                    return None
                data = f.read()
        except FileNotFoundError:
            return None
        os.utime(path)   # recently used
        return SavedState(header, data)

    def files(self) -> list[Path]:
        if not self.dir.exists():
            return []
        return [p for p in self.dir.iterdir() if p.suffix == SUFFIX and p.is_file()]

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files())

    def enforce_budget(self, keep: Path | None = None) -> int:
        """Delete least recently used states until the total fits the budget."""
        entries = []
        for p in self.files():
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            entries.append((st.st_mtime, st.st_size, p))
        total = sum(e[1] for e in entries)
        removed = 0
        for _, size, p in sorted(entries, key=lambda e: e[0]):
            if total <= self.budget:
                break
            if p == keep:
                continue
            p.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def clear_except(self, fingerprint: str) -> int:
        """Delete every state not made with `fingerprint` (after a model or settings change)."""
        removed = 0
        for p in self.files():
            try:
                with open(p, "rb") as f:
                    header = self._read_header(f)
            except OSError:
                continue
            if header is None or header.get("fingerprint") != fingerprint:
                p.unlink(missing_ok=True)
                removed += 1
        return removed

    def delete(self, conversation_id: str) -> None:
        self.path(conversation_id).unlink(missing_ok=True)


def state_files(kv_state_dir: Path, conversation_id: str) -> list[Path]:
    """Every saved state of one conversation (`<conversation_id>.*`: the state and anything a
    killed write left beside it)."""
    if not kv_state_dir.exists():
        return []
    return sorted(kv_state_dir.glob(f"{conversation_id}.*"))


def delete_states(kv_state_dir: Path, conversation_ids: Iterable[str]) -> int:
    """Delete the saved states of these conversations (a purge); returns how many files."""
    n = 0
    for cid in conversation_ids:
        for path in state_files(kv_state_dir, cid):
            path.unlink(missing_ok=True)
            n += 1
    return n
