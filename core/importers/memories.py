"""Memories from elsewhere, as facts with provenance: Claude's `memories.json` and a pasted
list of "saved memories".

What each source looks like:
- Claude's data export carries `memories.json`. Engram has seen no real sample of it; this
  reads the shape described in the issue and public notes: objects with a
  `conversations_memory` text (the memory Claude keeps across chats), `memory_files` (a list of
  {name or path, content or text}, or a mapping of name -> text) and, where given,
  `project_memories` (a mapping of project uuid -> text). Unknown keys are ignored, and an
  object holding none of these is reported, not guessed at.
- A pasted list: what ChatGPT's "Saved memories" page shows, or the answer to "list every
  memory you have stored about me" ("[2024-05-01] - Prefers metric units"). One memory per
  line; bullets, numbering and a leading date are taken off (the date becomes when it
  happened). Headings (a line ending with ":" or starting with "#") are skipped.

Each memory becomes a fact, actor "import", its source an import record (format
"claude-memory" or "pasted") with `source_ref` "claude-memory[:file]" / "pasted", so the
inspector says "Imported from Claude memory" / "Pasted by you". Memories already known (the
same words, or nearly: most content words shared with an existing fact) are counted as
duplicates and not stored again. A project's memories go to that project's scope when the
project was imported (core.store.steering.projects).
"""
from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.base.errors import EngramError
from core.services.changes import Changes
from core.services.engine import Engram
from core.store.memories import NewMemory, SourceRef

NEAR_DUPLICATE = 0.8          # share of content words a known fact has: the same memory
MAX_LINE = 600                # a memory line longer than this is cut (one fact, one idea)

_BULLET = re.compile(r"^\s*(?:[-*•·]+|\d+[.)]|\(\d+\))\s*")
_DATE = re.compile(r"^\s*\[?\s*(\d{4}-\d{2}-\d{2})(?:[ T][\d:]+)?\s*\]?\s*(?:[-–—:]\s*)?")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class MemoryImportReport:
    import_id: str = ""
    source: str = ""
    created: list[str] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[str] = field(default_factory=list)     # lines or objects not taken, why

    def summary(self) -> str:
        n = len(self.created)
        return (f"{n} memor{'y' if n == 1 else 'ies'} imported as facts"
                + (f", {self.duplicates} already known" if self.duplicates else "")
                + (f", {len(self.skipped)} skipped" if self.skipped else ""))


def parse_list(text: str) -> list[tuple[str, float | None]]:
    """One (memory, when) per line of a pasted list."""
    out: list[tuple[str, float | None]] = []
    for raw in (text or "").splitlines():
        line = raw.strip().strip("`").strip()
        if not line or line.startswith("#") or (line.endswith(":") and len(line) < 80):
            continue
        line = _BULLET.sub("", line, count=1)
        when = None
        m = _DATE.match(line)
        if m:
            try:
                when = float(calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d")))
            except ValueError:
                when = None
            line = line[m.end():]
        line = _BULLET.sub("", line, count=1).strip()
        if len(_WORD.findall(line)) < 2:
            continue
        out.append((line[:MAX_LINE], when))
    return out


def import_pasted(eng: Engram, text: str, *, project_id: str | None = None
                  ) -> MemoryImportReport:
    """A pasted list of saved memories, as facts ("pasted by you")."""
    items = parse_list(text)
    if not items:
        raise EngramError("Nothing to import: no line of the pasted text reads as a "
                                "memory (one memory per line)")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _store(eng, "pasted", f"pasted {time.strftime('%Y-%m-%d %H:%M')}", digest,
                  [(t, w, "pasted", project_id) for t, w in items])


def paste(eng: Engram, text: str) -> Changes:
    """`import_pasted` as an operation (the inspector's "Paste memories…")."""
    report = import_pasted(eng, text)
    return Changes(report.summary(), memories=tuple(report.created), vectors=True,
                   detail=report)


def import_claude_memories(eng: Engram, path: Path | str) -> MemoryImportReport:
    """Claude's `memories.json` (the file, or an export folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "memories.json"
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EngramError(f"Cannot read {path.name} as Claude memories: {exc}") from exc
    items, skipped = claude_items(eng, data)
    if not items:
        raise EngramError(f"{path.name} holds no Claude memory this version can read "
                                "(expected conversations_memory, memory_files or "
                                "project_memories)")
    report = _store(eng, "claude-memory", path.name, hashlib.sha256(raw).hexdigest(), items)
    report.skipped += skipped
    return report


def is_claude_memories(path: Path) -> bool:
    """Whether `path` is (or holds) a Claude memories.json."""
    target = path / "memories.json" if path.is_dir() else path
    return target.name == "memories.json" and target.is_file()


def claude_items(eng: Engram, data: Any) -> tuple[list[tuple[str, float | None, str,
                                                              str | None]], list[str]]:
    objects = data if isinstance(data, list) else [data]
    items: list[tuple[str, float | None, str, str | None]] = []
    skipped: list[str] = []
    for n, obj in enumerate(objects):
        if not isinstance(obj, dict):
            skipped.append(f"item {n + 1}: not an object")
            continue
        found = False
        text = obj.get("conversations_memory")
        if isinstance(text, str) and text.strip():
            found = True
            items += [(t, w, "claude-memory", None) for t, w in _sentences(text)]
        for name, body in _files(obj.get("memory_files")):
            found = True
            items += [(t, w, f"claude-memory:{name}", None) for t, w in _sentences(body)]
        projects = obj.get("project_memories")
        if isinstance(projects, dict):
            for uuid, body in projects.items():
                if isinstance(body, str) and body.strip():
                    found = True
                    project = eng.steering.project_by_source("claude", str(uuid))
                    items += [(t, w, f"claude-memory:project:{uuid}",
                               project.id if project else None) for t, w in _sentences(body)]
        if not found:
            skipped.append(f"item {n + 1}: no memory text in it")
    return items, skipped


def _files(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items() if isinstance(v, str) and v.strip()]
    out = []
    for f in value if isinstance(value, list) else []:
        if isinstance(f, dict):
            body = f.get("content") or f.get("text") or ""
            name = f.get("name") or f.get("path") or f.get("file_name") or "memory file"
            if isinstance(body, str) and body.strip():
                out.append((str(name), body))
    return out


def _sentences(text: str) -> list[tuple[str, float | None]]:
    """A memory text: its lines when it is a list, else its sentences."""
    lines = parse_list(text)
    if len(lines) > 1:
        return lines
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“])", " ".join(text.split()))
    return [(p.strip()[:MAX_LINE], None) for p in parts if len(_WORD.findall(p)) >= 2]


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


def _store(eng: Engram, fmt: str, name: str, digest: str,
           items: list[tuple[str, float | None, str, str | None]]) -> MemoryImportReport:
    known = [(m.text.lower().strip(), _content(m.text))
             for m in eng.memories.list(kinds=["fact"], limit=None, order="rowid")]
    report = MemoryImportReport(source=fmt)
    new: list[NewMemory] = []
    import_id = eng.imports.begin(name, digest, [fmt])
    report.import_id = import_id
    for text, when, ref, project_id in items:
        words = _content(text)
        if any(text.lower().strip() == k or (words and kw and len(words & kw)
               >= NEAR_DUPLICATE * max(len(words), len(kw))) for k, kw in known):
            report.duplicates += 1
            continue
        known.append((text.lower().strip(), words))
        new.append(NewMemory("fact", text, sources=[SourceRef(import_id=import_id,
                                                              source_ref=ref)],
                             occurred_at=when, subject="you",
                             meta={"imported_from": fmt, "project": project_id}))
    report.created = eng.memories.create_many(new, actor="import") if new else []
    projects = {mid: n.meta.get("project") for mid, n in zip(report.created, new, strict=True)}
    eng.views.set_projects({m: p for m, p in projects.items() if p})
    eng.imports.finish(import_id, "completed", {"memories": len(report.created),
                                                 "duplicates": report.duplicates},
                       {"skipped": [], "errors": []})
    return report
