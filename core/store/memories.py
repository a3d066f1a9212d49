"""Memories in SQLite, each change written together with its audit event.

Every method that changes a memory runs in one transaction that also inserts the matching row
into `memory_events` (actor, time, old and new values), so the history can never disagree with
the data. `version` grows with every visible change; the vector index compares it with
`indexed_version` to know what to re-sync (see core.index.sync).

Changes made inside `operation()` share one operation id (`memory_events.op`): an operation
is what a person did in one go (forget 3 memories, a merge), and what `undo` takes back
(core.services.memory_ops). `revert` puts back the fields one event changed.

The store owns `memories`, `memory_sources`, `memory_events` and the memories' full-text
index; its specialised reads are in core.store.memory_queries and memory_upkeep.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from core.base import clock
from core.base.errors import EngramError, NotFoundError
from core.base.ids import new_id
from core.store.conversations import ConversationStore, fts_query
from core.store.db import chunks, insert_rows, insert_values, transaction
from core.store.memory_queries import MemoryQueries
from core.store.memory_upkeep import MemoryUpkeep

KINDS = ("episodic", "summary", "compact", "thought", "portrait", "fact")
STATUSES = ("active", "forgotten", "superseded", "purged")
ACTORS = ("user", "assistant", "import", "policy", "system")


@dataclass
class Memory:
    id: str
    kind: str
    text: str
    scope: str
    conversation_id: str | None
    status: str
    pinned: bool
    strength: float
    last_recalled_at: float | None
    created_at: float
    updated_at: float
    occurred_at: float | None
    version: int
    indexed_version: int | None
    superseded_by: str | None
    subject: str | None
    granularity: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    always_include: bool = False       # sent with every message (pinned only keeps it)
    project_id: str | None = None      # read only in that project's conversations

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Memory:
        data = dict(row)
        data["pinned"] = bool(data["pinned"])
        data["always_include"] = bool(data.get("always_include") or 0)
        data.setdefault("project_id", None)
        data["meta"] = json.loads(data.get("meta") or "{}")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SourceRef:
    """Where a memory came from. Any of the fields may be empty."""
    message_id: str | None = None
    conversation_id: str | None = None
    import_id: str | None = None
    source_ref: str | None = None


@dataclass(frozen=True)
class NewMemory:
    """One memory for `MemoryStore.create_many`: the arguments of `create()` but the actor."""
    kind: str
    text: str
    scope: str = "global"
    conversation_id: str | None = None
    sources: Sequence[SourceRef] = ()
    pinned: bool = False
    strength: float = 1.0
    occurred_at: float | None = None
    subject: str | None = None
    granularity: str | None = None
    meta: dict[str, Any] | None = None
    id: str | None = None
    created_at: float | None = None
    note: str | None = None


@dataclass
class MemoryEvent:
    id: int
    memory_id: str
    event: str
    actor: str
    at: float
    old_value: dict[str, Any] | None
    new_value: dict[str, Any] | None
    note: str | None
    op: str | None = None            # the operation it was part of (see `operation`)

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> MemoryEvent:
        return cls(id=r["id"], memory_id=r["memory_id"], event=r["event"], actor=r["actor"],
                   at=r["at"], old_value=json.loads(r["old_value"]) if r["old_value"] else None,
                   new_value=json.loads(r["new_value"]) if r["new_value"] else None,
                   note=r["note"], op=r.get("op"))


# What undoing an event writes: the event name for putting its old fields back.
_REVERT_EVENT = {"edited": "edited", "pinned": "unpinned", "unpinned": "pinned",
                 "rescoped": "rescoped", "forgotten": "restored", "merged": "restored",
                 "superseded": "restored", "restored": "forgotten"}


class MemoryStore(MemoryQueries, MemoryUpkeep):
    def __init__(self, db: sqlite_utils.Database,
                 conversations: ConversationStore | None = None) -> None:
        self.db = db
        # the conversations memories are made from (incognito ones are never remembered)
        self.conversations = conversations or ConversationStore(db)
        self._op: str | None = None

    @contextmanager
    def operation(self, op: str | None = None) -> Iterator[str]:
        """One transaction whose events share an operation id (a new one unless given)."""
        op = op or new_id()
        previous, self._op = self._op, op
        try:
            with transaction(self.db):
                yield op
        finally:
            self._op = previous

    # -- reads --------------------------------------------------------------------------
    def get(self, memory_id: str) -> Memory:
        rows = list(self.db.query("SELECT * FROM memories WHERE id = ?", [memory_id]))
        if not rows:
            raise NotFoundError(f"No memory with id {memory_id}")
        return Memory.from_row(rows[0])

    def get_many(self, memory_ids: Sequence[str]) -> dict[str, Memory]:
        out: dict[str, Memory] = {}
        for chunk, marks in chunks(memory_ids):
            for row in self.db.query(f"SELECT * FROM memories WHERE id IN ({marks})", chunk):
                out[row["id"]] = Memory.from_row(row)
        return out

    def list(self, *, kinds: Iterable[str] | None = None, statuses: Iterable[str] | None = ("active",),
             scope: str | None = None, conversation_id: str | None = None,
             pinned: bool | None = None, text: str = "", since: float | None = None,
             until: float | None = None, import_id: str | None = None,
             order: str = "updated_at DESC", limit: int | None = 200, offset: int = 0) -> list[Memory]:
        sql, params = self._filter_sql("SELECT memories.*", kinds, statuses, scope, conversation_id,
                                       pinned, text, since, until, import_id)
        if order not in {"updated_at DESC", "created_at DESC", "created_at", "strength DESC",
                         "occurred_at", "rowid"}:
            raise ValueError(f"unsupported order {order!r}")
        sql += f" ORDER BY memories.{order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [Memory.from_row(r) for r in self.db.query(sql, params)]

    def count(self, **filters: Any) -> int:
        filters.setdefault("statuses", ("active",))
        sql, params = self._filter_sql(
            "SELECT count(*)", filters.get("kinds"), filters.get("statuses"),
            filters.get("scope"), filters.get("conversation_id"), filters.get("pinned"),
            filters.get("text", ""), filters.get("since"), filters.get("until"),
            filters.get("import_id"))
        return self.db.execute(sql, params).fetchone()[0]

    @staticmethod
    def _filter_sql(select: str, kinds, statuses, scope, conversation_id, pinned, text,
                    since, until, import_id) -> tuple[str, list[Any]]:
        where, params = [], []
        if kinds:
            kinds = list(kinds)
            where.append(f"kind IN ({','.join('?' * len(kinds))})")
            params += kinds
        if statuses:
            statuses = list(statuses)
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params += statuses
        if scope:
            where.append("scope = ?")
            params.append(scope)
        if conversation_id:
            where.append("memories.conversation_id = ?")
            params.append(conversation_id)
        if pinned is not None:
            where.append("pinned = ?")
            params.append(int(pinned))
        if since is not None:
            where.append("coalesce(occurred_at, created_at) >= ?")
            params.append(since)
        if until is not None:
            where.append("coalesce(occurred_at, created_at) < ?")
            params.append(until)
        if import_id:
            where.append("id IN (SELECT memory_id FROM memory_sources WHERE import_id = ?)")
            params.append(import_id)
        if text:
            where.append("rowid IN (SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?)")
            params.append(fts_query(text))
        sql = f"{select} FROM memories"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, params

    def sources(self, memory_id: str) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT * FROM memory_sources WHERE memory_id = ? ORDER BY id", [memory_id]))

    def events(self, memory_id: str) -> list[MemoryEvent]:
        return [MemoryEvent.from_row(r) for r in self.db.query(
            "SELECT * FROM memory_events WHERE memory_id = ? ORDER BY at, id", [memory_id])]

    def recent_operations(self, limit: int = 100) -> list[tuple[str, list[MemoryEvent]]]:
        """The newest operations, newest first, each with its events in order."""
        ops = [r[0] for r in self.db.execute(
            "SELECT op FROM memory_events WHERE op IS NOT NULL GROUP BY op"
            " ORDER BY max(id) DESC LIMIT ?", [limit])]
        events: dict[str, list[MemoryEvent]] = {op: [] for op in ops}
        for chunk, marks in chunks(ops):
            for r in self.db.query(f"SELECT * FROM memory_events WHERE op IN ({marks})"
                                   " ORDER BY id", chunk):
                events[r["op"]].append(MemoryEvent.from_row(r))
        return [(op, events[op]) for op in ops]

    # -- writes -------------------------------------------------------------------------
    def create(self, kind: str, text: str, *, actor: str, scope: str = "global",
               conversation_id: str | None = None, sources: Iterable[SourceRef] = (),
               pinned: bool = False, strength: float = 1.0, occurred_at: float | None = None,
               subject: str | None = None, granularity: str | None = None,
               meta: dict[str, Any] | None = None, id: str | None = None,
               created_at: float | None = None, note: str | None = None) -> Memory:
        _check(kind, KINDS, "kind")
        _check(actor, ACTORS, "actor")
        row = _memory_row(NewMemory(
            kind, text, scope=scope, conversation_id=conversation_id, pinned=pinned,
            strength=strength, occurred_at=occurred_at, subject=subject,
            granularity=granularity, meta=meta, id=id, created_at=created_at))
        ts = row["created_at"]
        with transaction(self.db):
            insert_rows(self.db, "memories", [row])
            self._add_sources(row["id"], sources, ts)
            # the created text is not copied into the audit row (it would double the storage of
            # every memory); it is the old value of the first edit, or the current text
            self._event(row["id"], "created", actor, None, {"kind": kind}, note, ts)
        return Memory.from_row(row)

    def create_many(self, items: Iterable[NewMemory], *, actor: str) -> list[str]:
        """Create several memories in one transaction; returns their ids in order.

        Writes exactly the rows that one `create()` per item would (memory, sources, the
        'created' audit event; each item's time taken from the clock in turn), with one
        executemany per table instead of three statements per memory: imports create two
        memories per message. Every item is checked before anything is written.
        """
        _check(actor, ACTORS, "actor")
        items = list(items)
        rows = [_memory_row(item) for item in items]
        if not rows:
            return []
        created_values: dict[str, str] = {}
        sources: list[tuple] = []
        events: list[tuple] = []
        for item, row in zip(items, rows):
            mid, ts = row["id"], row["created_at"]
            sources += [(mid, s.message_id, s.conversation_id, s.import_id, s.source_ref, ts)
                        for s in item.sources]
            value = created_values.get(item.kind)
            if value is None:
                value = created_values[item.kind] = json.dumps({"kind": item.kind})
            events.append((mid, "created", actor, ts, None, value, item.note, self._op))
        with transaction(self.db):
            insert_rows(self.db, "memories", rows)
            insert_values(self.db, "INSERT INTO memory_sources", _SOURCE_COLUMNS, sources)
            insert_values(self.db, "INSERT INTO memory_events", _EVENT_COLUMNS, events)
        return [row["id"] for row in rows]

    def add_sources(self, memory_id: str, sources: Iterable[SourceRef]) -> None:
        with transaction(self.db):
            self._add_sources(memory_id, sources, clock.now())

    def edit(self, memory_id: str, text: str, *, actor: str = "user",
             note: str | None = None) -> Memory:
        return self._change(memory_id, "edited", actor, {"text": text}, note)

    def set_pinned(self, memory_id: str, pinned: bool, *, actor: str = "user") -> Memory:
        return self._change(memory_id, "pinned" if pinned else "unpinned", actor,
                            {"pinned": int(pinned)})

    def set_always_include(self, memory_id: str, on: bool, *, actor: str = "user") -> Memory:
        """Sent with every message (apart from pinned; audited as a pin-like change)."""
        return self._change(memory_id, "pinned" if on else "unpinned", actor,
                            {"always_include": int(on)})

    def set_scope(self, memory_id: str, scope: str, conversation_id: str | None = None, *,
                  actor: str = "user") -> Memory:
        if scope == "conversation" and not conversation_id:
            conversation_id = self.get(memory_id).conversation_id
            if not conversation_id:
                raise EngramError("This memory has no conversation to be scoped to")
        fields: dict[str, Any] = {"scope": scope}
        if scope == "conversation":
            fields["conversation_id"] = conversation_id
        return self._change(memory_id, "rescoped", actor, fields)

    def set_project(self, memory_id: str, project_id: str | None, *, actor: str = "user",
                    note: str | None = None) -> Memory:
        """Into a project's memory scope (None: back to every conversation's)."""
        return self._change(memory_id, "rescoped", actor, {"project_id": project_id}, note)

    def forget(self, memory_id: str, *, actor: str = "user", note: str | None = None) -> Memory:
        """Reversible: the memory stays, marked forgotten, out of retrieval."""
        mem = self.get(memory_id)
        if mem.status == "purged":
            raise EngramError("A purged memory cannot be forgotten or restored")
        return self._change(memory_id, "forgotten", actor, {"status": "forgotten"}, note)

    def restore(self, memory_id: str, *, actor: str = "user", note: str | None = None) -> Memory:
        mem = self.get(memory_id)
        if mem.status == "purged":
            raise EngramError("A purged memory is gone for good and cannot be restored")
        return self._change(memory_id, "restored", actor,
                            {"status": "active", "superseded_by": None}, note)

    def supersede(self, old_id: str, new_id_: str, *, actor: str, event: str = "superseded",
                  note: str | None = None) -> Memory:
        """Mark `old_id` as replaced by `new_id_` (TiM merge or contradiction), not deleted."""
        if event not in ("superseded", "merged"):
            raise ValueError(event)
        return self._change(old_id, event, actor,
                            {"status": "superseded", "superseded_by": new_id_}, note)

    def restore_version(self, memory_id: str, event_id: int, *, actor: str = "user") -> Memory:
        """Put back the text a memory had before the edit recorded by `event_id`, or the text
        it was created with for its 'created' event."""
        row = self.db.execute(
            "SELECT event, old_value FROM memory_events WHERE id = ? AND memory_id = ?",
            [event_id, memory_id]).fetchone()
        if row is None:
            raise NotFoundError(f"No event {event_id} for memory {memory_id}")
        if row[0] == "created":
            first_edit = self.db.execute(
                "SELECT old_value FROM memory_events WHERE memory_id = ? AND event = 'edited'"
                " ORDER BY at, id LIMIT 1", [memory_id]).fetchone()
            value = json.loads(first_edit[0]) if first_edit else {"text": self.get(memory_id).text}
        else:
            value = json.loads(row[1] or "{}")
        if "text" not in value:
            raise EngramError("That event holds no text version to restore")
        return self._change(memory_id, "edited", actor, {"text": value["text"]},
                            f"restored version from event {event_id}")

    def record_recall(self, memory_ids: Iterable[str], *, at: float | None = None,
                      actor: str = "assistant") -> None:
        """MemoryBank: each recall into a prompt adds 1 to strength and resets the clock."""
        ts = clock.now() if at is None else at
        ids = list(dict.fromkeys(memory_ids))
        if not ids:
            return
        with transaction(self.db):
            for mid in ids:
                row = self.db.execute(
                    "SELECT strength, last_recalled_at FROM memories WHERE id = ? AND status = 'active'",
                    [mid]).fetchone()
                if row is None:
                    continue
                self.db.execute(
                    "UPDATE memories SET strength = strength + 1, last_recalled_at = ? WHERE id = ?",
                    [ts, mid])
                self._event(mid, "recalled", actor, {"strength": row[0], "last_recalled_at": row[1]},
                            {"strength": row[0] + 1, "last_recalled_at": ts}, None, ts)

    def revert(self, event: MemoryEvent, *, actor: str = "user",
               note: str | None = None) -> Memory | None:
        """Put back the fields `event` changed (None when there is nothing to put back: a
        purged memory, an event that changed no field)."""
        name = _REVERT_EVENT.get(event.event)
        if name is None or not event.old_value:
            return None
        if self.get(event.memory_id).status == "purged":
            return None
        fields = dict(event.old_value)
        if event.event == "restored":            # back to forgotten, or to superseded
            name = "superseded" if fields.get("status") == "superseded" else "forgotten"
        if name == "pinned" or name == "unpinned":
            name = "pinned" if fields.get("pinned") or fields.get("always_include") \
                else "unpinned"
        return self._change(event.memory_id, name, actor, fields, note)

    def mark_indexed(self, versions: dict[str, int]) -> None:
        with transaction(self.db):
            for mid, version in versions.items():
                self.db.execute("UPDATE memories SET indexed_version = ? WHERE id = ?", [version, mid])

    def purge_rows(self, memory_id: str, *, actor: str = "user") -> None:
        """Irreversibly blank a memory's text and every copy of it in the audit log, leaving a
        tombstone (id, time, actor). Removing it from the vector index, KV states and files is
        the job of core.services.purge, which calls this."""
        with transaction(self.db):
            self.get(memory_id)
            self.db.execute(
                "UPDATE memories SET text = '', subject = NULL, meta = '{}', status = 'purged',"
                " pinned = 0, version = version + 1, updated_at = ? WHERE id = ?",
                [clock.now(), memory_id])
            self.db.execute(
                "UPDATE memory_events SET old_value = NULL, new_value = NULL, note = NULL"
                " WHERE memory_id = ?", [memory_id])
            self._event(memory_id, "purged", actor, None, None, None, clock.now())

    # -- internals ----------------------------------------------------------------------
    def _change(self, memory_id: str, event: str, actor: str, fields: dict[str, Any],
                note: str | None = None) -> Memory:
        _check(actor, ACTORS, "actor")
        ts = clock.now()
        with transaction(self.db):
            before = self.get(memory_id)
            if before.status == "purged":
                raise EngramError("This memory was purged; nothing of it is left to change")
            old = {k: _plain(getattr(before, k)) for k in fields}
            new = {k: _plain(v) for k, v in fields.items()}
            if old == new:
                return before
            self.db["memories"].update(
                memory_id, {**fields, "updated_at": ts, "version": before.version + 1})
            self._event(memory_id, event, actor, old, new, note, ts)
        return self.get(memory_id)

    def _add_sources(self, memory_id: str, sources: Iterable[SourceRef], ts: float) -> None:
        rows = [{"memory_id": memory_id, "message_id": s.message_id,
                 "conversation_id": s.conversation_id, "import_id": s.import_id,
                 "source_ref": s.source_ref, "created_at": ts} for s in sources]
        insert_rows(self.db, "memory_sources", rows)

    def _event(self, memory_id: str, event: str, actor: str, old: Any, new: Any,
               note: str | None, ts: float) -> None:
        self.db.execute(
            "INSERT INTO memory_events (memory_id, event, actor, at, old_value, new_value, note,"
            " op) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [memory_id, event, actor, ts, json.dumps(old) if old is not None else None,
             json.dumps(new) if new is not None else None, note, self._op])


_SOURCE_COLUMNS = ("memory_id", "message_id", "conversation_id", "import_id", "source_ref",
                   "created_at")
_EVENT_COLUMNS = ("memory_id", "event", "actor", "at", "old_value", "new_value", "note",
                  "op")


def _memory_row(item: NewMemory) -> dict[str, Any]:
    """The `memories` row of a new memory (checked), with its id and time filled in."""
    _check(item.kind, KINDS, "kind")
    if item.scope not in ("global", "conversation"):
        raise EngramError(f"Unknown scope {item.scope!r}")
    if item.scope == "conversation" and not item.conversation_id:
        raise EngramError("A conversation-scoped memory needs a conversation id")
    ts = clock.now() if item.created_at is None else item.created_at
    return {
        "id": item.id or new_id(), "kind": item.kind, "text": item.text, "scope": item.scope,
        "conversation_id": item.conversation_id, "status": "active",
        "pinned": int(item.pinned), "strength": item.strength, "last_recalled_at": None,
        "created_at": ts, "updated_at": ts, "occurred_at": item.occurred_at, "version": 1,
        "indexed_version": None, "superseded_by": None, "subject": item.subject,
        "granularity": item.granularity, "meta": json.dumps(item.meta or {}),
    }


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise EngramError(f"Unknown {what} {value!r} (expected one of {', '.join(allowed)})")
