"""Export everything (conversations with their message trees, memories with sources and
history, imports) to one JSON file or a folder of Markdown, and restore a JSON export.

The JSON export is written one record at a time (no whole-database object in memory) and is
the round-trip format: `restore_json` into an empty or existing data folder recreates the rows
with their ids (existing ids are skipped, so restoring twice adds nothing), then the vector
index is rebuilt from them. Markdown is for reading, not restoring.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ijson

from core import clock
from core.atomic import write_text_atomic
from core.db import transaction
from core.engine import Engram
from core.errors import EngramError

FORMAT = "engram-export"
VERSION = 1
TABLE_ORDER = ("imports", "conversations", "messages", "memories", "memory_sources",
               "memory_events", "retrievals")


@dataclass
class ExportReport:
    path: Path
    counts: dict[str, int]


def _rows(eng: Engram, table: str) -> Iterator[dict[str, Any]]:
    if table == "messages":
        # parents before children, so a restore can insert in file order
        yield from _messages_parent_first(eng)
        return
    yield from eng.db.query(f"SELECT * FROM {table} ORDER BY rowid")


def _messages_parent_first(eng: Engram) -> Iterator[dict[str, Any]]:
    yield from eng.db.query(
        """
        WITH RECURSIVE tree(id, depth) AS (
            SELECT id, 0 FROM messages WHERE parent_id IS NULL
            UNION ALL
            SELECT m.id, tree.depth + 1 FROM messages m JOIN tree ON m.parent_id = tree.id
        )
        SELECT messages.* FROM tree JOIN messages ON messages.id = tree.id
        ORDER BY tree.depth, messages.rowid
        """)


def export_json(eng: Engram, path: Path) -> ExportReport:
    """Write the whole data folder's content as one JSON document (atomically)."""
    counts: dict[str, int] = {}
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8") as f:
        f.write('{"format": "%s", "version": %d, "exported_at": %s' % (FORMAT, VERSION,
                                                                        json.dumps(clock.now())))
        for table in TABLE_ORDER:
            f.write(f',\n"{table}": [')
            n = 0
            for row in _rows(eng, table):
                f.write(("\n" if n == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
                n += 1
            f.write("]")
            counts[table] = n
        f.write("}\n")
    tmp.replace(path)
    return ExportReport(path, counts)


def restore_json(eng: Engram, path: Path, *, reindex: bool = True) -> dict[str, int]:
    """Insert the rows of an export that are not already present. Returns rows added per table."""
    added = {t: 0 for t in TABLE_ORDER}
    with transaction(eng.db), path.open("rb") as f:
        # one transaction; foreign keys are checked at commit (a memory may name the one that
        # superseded it, which comes later in the file)
        eng.db.execute("PRAGMA defer_foreign_keys = ON")
        header = {k: v for k, v in _top_scalars(path)}
        if header.get("format") != FORMAT:
            raise EngramError(f"{path.name} is not an Engram export (no '{FORMAT}' marker).")
        if int(header.get("version", 0)) > VERSION:
            raise EngramError(f"{path.name} was exported by a newer Engram (version "
                              f"{header.get('version')}); this one reads up to {VERSION}.")
        for table in TABLE_ORDER:
            f.seek(0)
            columns = {c.name for c in eng.db[table].columns}
            batch: list[dict[str, Any]] = []
            for row in ijson.items(f, f"{table}.item", use_float=True):
                batch.append({k: v for k, v in row.items() if k in columns})
                if len(batch) >= 500:
                    added[table] += _insert_new(eng, table, batch)
                    batch = []
            added[table] += _insert_new(eng, table, batch)
    if reindex:
        eng.index_sync.reindex()
    return added


def _top_scalars(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as f:
        for prefix, event, value in ijson.parse(f):
            if prefix in ("format", "version", "exported_at") and event in ("string", "number"):
                yield prefix, value
            elif event == "start_array":
                return


def _insert_new(eng: Engram, table: str, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    before = eng.db[table].count
    eng.db[table].insert_all(rows, pk="id", ignore=True)
    if table == "memories":
        # the index is rebuilt from scratch after a restore
        eng.db.execute("UPDATE memories SET indexed_version = NULL")
    return eng.db[table].count - before


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_markdown(eng: Engram, folder: Path) -> ExportReport:
    """One Markdown file per conversation (visible thread) plus memories.md."""
    folder.mkdir(parents=True, exist_ok=True)
    convs = 0
    for conv in eng.conversations.list(limit=10**9):
        lines = [f"# {conv.title or '(untitled)'}", "",
                 f"- id: `{conv.id}`", f"- created: {clock.to_iso(conv.created_at)}",
                 f"- source: {conv.source}", ""]
        for msg in eng.conversations.thread(conv.id):
            if msg.hidden:
                continue
            lines += [f"## {msg.role} · {clock.to_iso(msg.created_at)}", "", msg.text, ""]
        name = _SAFE.sub("-", (conv.title or "untitled"))[:60].strip("-") or "untitled"
        write_text_atomic(folder / f"{name}-{conv.id[:8]}.md", "\n".join(lines))
        convs += 1
    mem_lines = ["# Memories", ""]
    n = 0
    for mem in eng.memories.list(statuses=("active", "forgotten", "superseded"), limit=None,
                                 order="created_at"):
        flags = " (pinned)" if mem.pinned else ""
        mem_lines.append(f"- **{mem.kind}**, {mem.status}{flags}, "
                         f"{clock.to_iso(mem.created_at)}: {mem.text}")
        n += 1
    write_text_atomic(folder / "memories.md", "\n".join(mem_lines) + "\n")
    return ExportReport(folder, {"conversations": convs, "memories": n})
