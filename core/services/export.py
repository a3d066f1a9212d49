"""Export everything (conversations with their message trees, memories with sources and
history, imports, queued memory work, and tombstones of what was purged) to one JSON file or
a folder of Markdown, and restore a JSON export.

The JSON export is written one record at a time (no whole-database object in memory) to an
owner-only `FILE.partial` beside the target, then renamed: a failure (a full disk) removes
the partial file and leaves nothing behind. It is the round-trip format: `restore` into
an empty or existing data folder recreates the rows with their ids (existing ids are
skipped, so restoring twice adds nothing), then the vector index is rebuilt from them.

Purges travel with exports. An export lists the ids purged before it (`tombstones`), and a
restore never brings back what a tombstone names, the data folder's own or the export's:
restoring an export made before a purge leaves the purged conversation out (and says how
many rows it left out), and restoring a later export purges what it names if an earlier
restore brought it in. Markdown is for reading, not restoring.
"""
from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from core.base import clock
from core.base.atomic import write_text_atomic
from core.base.errors import EngramError
from core.base.private_files import PRIVATE_DIR, open_private
from core.services.engine import Engram
from core.store import purge_journal as journal
from core.store.db import defer_foreign_keys, table_columns, transaction

FORMAT = "engram-export"
VERSION = 2                  # 2: tombstones and queued jobs
TABLE_ORDER = ("imports", "conversations", "messages", "memories", "memory_sources",
               "memory_events", "retrievals")
EXTRA_SECTIONS = ("tombstones", "jobs")


@dataclass
class ExportReport:
    path: Path
    counts: dict[str, int]


@dataclass
class RestoreReport:
    added: dict[str, int] = field(default_factory=dict)
    left_out_purged: int = 0          # rows an applicable tombstone kept out
    purged_after: int = 0             # rows already here that the export's tombstones purged

    def summary(self) -> dict[str, int]:
        return {**self.added, "left out (purged)": self.left_out_purged,
                "purged by the export's tombstones": self.purged_after}


def _stores(eng: Engram) -> dict[str, tuple[Callable[[], Iterable[dict[str, Any]]],
                                            Callable[[list[dict[str, Any]]], int]]]:
    """Each table of an export: how its store lists its rows and adds a restore's rows."""
    convs, mems = eng.conversations, eng.memories
    return {
        "imports": (eng.imports.export_rows, eng.imports.insert_missing),
        "conversations": (convs.export_conversations,
                          partial(convs.insert_missing, "conversations")),
        "messages": (convs.export_messages, partial(convs.insert_missing, "messages")),
        **{table: (partial(mems.export_rows, table), partial(mems.insert_missing, table))
           for table in ("memories", "memory_sources", "memory_events")},
        "retrievals": (eng.retrievals.export_rows, eng.retrievals.insert_missing),
    }


def _rows(eng: Engram, table: str) -> Iterable[dict[str, Any]]:
    if table == "jobs":
        return eng.jobs.export_queued()
    if table == "tombstones":
        return journal.tombstones(eng.db)
    return _stores(eng)[table][0]()


def export_json(eng: Engram, path: Path) -> ExportReport:
    """Write the whole data folder's content as one JSON document (atomically, owner-only)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise EngramError(f"Cannot export to {path}: the folder {path.parent} does not exist "
                          "(create it first, or choose another place)")
    if path.is_dir():
        raise EngramError(f"Cannot export to {path}: it is a folder (name a .json file)")
    tmp = path.with_name(path.name + ".partial")
    counts: dict[str, int] = {}
    try:
        with open_private(tmp) as f:
            f.write(f'{{"format": "{FORMAT}", "version": {VERSION}, '
                    f'"exported_at": {json.dumps(clock.now())}')
            for table in (*TABLE_ORDER, *EXTRA_SECTIONS):
                f.write(f',\n"{table}": [')
                n = 0
                for row in _rows(eng, table):
                    f.write(("\n" if n == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
                    n += 1
                f.write("]")
                counts[table] = n
            f.write("}\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise EngramError(f"The disk is full: {path} could not be written (nothing was "
                              "left behind); free some space and export again") from exc
        raise
    return ExportReport(path, counts)


def restore(eng: Engram, path: Path, *, reindex: bool = True) -> RestoreReport:
    path = Path(path)
    report = RestoreReport(added={t: 0 for t in TABLE_ORDER})
    try:
        header = dict(_top_scalars(path))
        _check_header(path, header)
        with path.open("rb") as f:
            theirs = {r["id"]: r for r in _items(f, "tombstones")}
            names = _restorer(eng, set(theirs), f, report)
            with transaction(eng.db):
                # one transaction; foreign keys are checked at commit (a memory may name the
                # one that superseded it, which comes later in the file)
                defer_foreign_keys(eng.db)
                names.restore_tables()
                journal.restore_tombstones(eng.db, list(theirs.values()))
                names.restore_jobs()
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError) as exc:
        raise EngramError(f"{path.name} is truncated or damaged ({_json_problem(exc)}); "
                          "nothing was restored") from exc
    report.purged_after = _apply_their_tombstones(eng, theirs)
    if reindex:
        eng.index_sync.reindex()
    return report


class _restorer:
    """Reads each table of the export and inserts what no tombstone names."""

    def __init__(self, eng: Engram, theirs: set[str], f: BinaryIO, report: RestoreReport) -> None:
        self.eng, self.f, self.report = eng, f, report
        ours = set(journal.tombstone_ids(eng.db))
        self.gone = ours | theirs                 # ids nothing may bring back
        self.left_out: set[str] = set()           # rows of this export left out
        self.labels = self._left_out_conversation_labels()

    def _left_out_conversation_labels(self) -> set[str]:
        labels: set[str] = set()
        for row in _items(self.f, "conversations"):
            if row.get("id") in self.gone:
                labels |= {v for v in (row.get("title"), row.get("source_id")) if v}
        return labels

    def restore_tables(self) -> None:
        stores = _stores(self.eng)
        for table in TABLE_ORDER:
            columns = table_columns(self.eng.db, table)
            insert = stores[table][1]
            batch: list[dict[str, Any]] = []
            for row in _items(self.f, table):
                kept = self._keep(table, {k: v for k, v in row.items() if k in columns})
                if kept is None:
                    self.report.left_out_purged += 1
                    continue
                batch.append(kept)
                if len(batch) >= 500:
                    self.report.added[table] += insert(batch)
                    batch = []
            self.report.added[table] += insert(batch)

    def _keep(self, table: str, row: dict[str, Any]) -> dict[str, Any] | None:
        """The row to insert, with links to left-out rows cut, or None to leave it out."""
        gone = self.gone | self.left_out
        rid = row.get("id")
        if table in ("conversations", "messages") and (
                rid in gone or row.get("conversation_id") in gone):
            self.left_out.add(rid)
            return None
        if table == "memory_events" and row.get("memory_id") in gone:
            return None            # the audit log of a purged memory held its text
        if table in ("retrievals", "memory_sources") and (row.get("memory_id") in gone
                                                          or (table == "retrievals"
                                                              and row.get("message_id") in gone)):
            return None
        if table == "memories" and rid in self.gone and row.get("status") != "purged":
            self.left_out.add(rid)
            return None            # only a purged memory's tombstone row may come in
        if table in ("memories", "memory_sources"):
            for key in ("conversation_id", "message_id", "superseded_by"):
                if row.get(key) in gone:
                    row[key] = None
        if table == "imports" and self.labels:
            row["report"] = _scrub_labels(row.get("report") or "{}", self.labels)
        return row

    def restore_jobs(self) -> None:
        jobs = self.eng.jobs
        for row in _items(self.f, "jobs"):
            payload = json.loads(row.get("payload") or "{}")
            named = {v for v in payload.values() if isinstance(v, str)} if isinstance(
                payload, dict) else set()
            if named & (self.gone | self.left_out):
                continue
            jobs.enqueue(row["kind"], payload, needs_model=bool(row.get("needs_model")))


def _items(f: BinaryIO, section: str) -> Iterator[dict[str, Any]]:
    f.seek(0)
    yield from ijson.items(f, f"{section}.item", use_float=True)


def _check_header(path: Path, header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise EngramError(f"{path.name} is not an Engram export (no '{FORMAT}' marker).")
    if int(header.get("version", 0)) > VERSION:
        raise EngramError(f"{path.name} was exported by a newer Engram (version "
                          f"{header.get('version')}); this one reads up to {VERSION}.")


def _apply_their_tombstones(eng: Engram, theirs: dict[str, dict[str, Any]]) -> int:
    """What the export says was purged, but an earlier restore (of an older export) brought
    into this data folder: purge it here too."""
    from core.services.purge import purge_conversation, purge_memories

    n = 0
    for cid in eng.conversations.present(
            [i for i, r in theirs.items() if r.get("kind") == "conversation"]):
        n += 1 + len(purge_conversation(eng, cid, actor="system").memories)
    live = eng.memories.live_ids([i for i, r in theirs.items() if r.get("kind") == "memory"])
    mems = [i for i, r in theirs.items()     # what the conversations did not take
            if r.get("kind") == "memory" and i in live]
    if mems:
        n += len(purge_memories(eng, mems, actor="system").memories)
    return n


def _scrub_labels(raw: str, labels: set[str]) -> str:
    report = json.loads(raw)
    if isinstance(report, dict) and isinstance(report.get("skipped"), list):
        report["skipped"] = [s for s in report["skipped"] if not (
            isinstance(s, dict) and s.get("conversation") in labels)]
    return json.dumps(report, ensure_ascii=False)


def _top_scalars(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open("rb") as f:
        for prefix, event, value in ijson.parse(f):
            if prefix in ("format", "version", "exported_at") and event in ("string", "number"):
                yield prefix, value
            elif event == "start_array":
                return


def _json_problem(exc: BaseException) -> str:
    text = " ".join(str(exc).split()).lower()
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if "premature eof" in text or "incomplete" in text:
        return "it ends before its JSON does"
    return "it is not valid JSON"


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_markdown(eng: Engram, folder: Path) -> ExportReport:
    """One Markdown file per conversation (visible thread) plus memories.md."""
    folder = Path(folder)
    if not folder.parent.is_dir():
        raise EngramError(f"Cannot export to {folder}: the folder {folder.parent} does not "
                          "exist (create it first, or choose another place)")
    folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
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
