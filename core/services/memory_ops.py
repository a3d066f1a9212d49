"""What a person does to memories, in batches, each returning a `Changes` record.

The memory inspector's buttons and `engram memories ...` call these and nothing else: edit,
restore a version, forget, restore, pin, move (to global or to one conversation's scope),
merge, purge, undo. Each operation writes all its changes and their audit rows in one
transaction under one operation id (core.store.memories.MemoryStore.operation), so that
`undo` takes back exactly what one action did, from the audit log: the newest operation not
undone yet (older ones after it, one at a time). A purge cannot be undone, and ends what can
be: nothing before it is undone either.

Every record says what `undo` would take back next (`Changes.undo`), so the panels can show
it without asking again.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from core.base import clock
from core.base.errors import EngramError
from core.services.changes import Changes
from core.services.engine import Engram
from core.services.purge import purge_memories
from core.store.memories import Memory, MemoryEvent, SourceRef

UNDO_PREFIX = "undo:"         # an undo's own operation id: undo:<the operation it undid>
ACTOR = "user"


def edit(eng: Engram, memory_id: str, text: str) -> Changes:
    if not text.strip():
        raise EngramError("The new text is empty; use forget or purge to remove a memory")
    with eng.memories.operation():
        eng.memories.edit(memory_id, text, actor=ACTOR)
    return _done(eng, "edit a memory", [memory_id])


def restore_version(eng: Engram, memory_id: str, event_id: int) -> Changes:
    """Put back the text a memory had before the edit `event_id` (or its first text)."""
    with eng.memories.operation():
        eng.memories.restore_version(memory_id, event_id, actor=ACTOR)
    return _done(eng, "restore a version", [memory_id])


def forget(eng: Engram, memory_ids: Iterable[str]) -> Changes:
    """Active memories out of retrieval, reversibly (the others are left as they are)."""
    ids = _ids(memory_ids)
    mems = _existing(eng, ids)
    todo = [m for m in ids if mems[m].status == "active"]
    with eng.memories.operation():
        for mid in todo:
            eng.memories.forget(mid, actor=ACTOR)
    return _done(eng, _count("forget", todo), todo)


def restore(eng: Engram, memory_ids: Iterable[str]) -> Changes:
    """Forgotten or superseded memories back into retrieval."""
    ids = _ids(memory_ids)
    mems = _existing(eng, ids)
    todo = [m for m in ids if mems[m].status in ("forgotten", "superseded")]
    with eng.memories.operation():
        for mid in todo:
            eng.memories.restore(mid, actor=ACTOR)
    return _done(eng, _count("restore", todo), todo)


def pin(eng: Engram, memory_ids: Iterable[str], pinned: bool = True) -> Changes:
    """Pinned memories are kept: they never fade (they are not sent every time: that is
    `always_include`)."""
    todo = _each(eng, memory_ids, lambda m: m.status != "purged" and m.pinned != pinned,
                 lambda mid: eng.memories.set_pinned(mid, pinned, actor=ACTOR))
    return _done(eng, _count("pin" if pinned else "unpin", todo), todo)


def always_include(eng: Engram, memory_ids: Iterable[str], on: bool = True) -> Changes:
    """Send these memories with every message (their scope permitting), or stop. Apart from
    pinning, which only keeps a memory from fading."""
    todo = _each(eng, memory_ids, lambda m: m.status != "purged" and m.always_include != on,
                 lambda mid: eng.memories.set_always_include(mid, on, actor=ACTOR))
    verb = "always include" if on else "stop always including"
    return _done(eng, _count(verb, todo), todo)


def feedback(eng: Engram, memory_id: str, message_id: str | None, verdict: str) -> Changes:
    """The person's word on a memory used in an answer: "not_relevant" (it ranks far lower
    for similar questions: core.memory.steering) or "wrong" (recorded; the inspector opens
    it to be corrected or forgotten)."""
    mem = eng.memories.get(memory_id)
    if mem.status == "purged":
        raise EngramError("This memory was purged; there is nothing left to judge")
    eng.steering.add_feedback(memory_id, message_id, verdict)
    said = "not relevant" if verdict == "not_relevant" else "wrong"
    return Changes(f"marked a memory {said}", memories=(memory_id,), undo=None)


def pause(eng: Engram, minutes: float | None, *, reading: bool = False) -> Changes:
    """The memory switch: nothing new is remembered for `minutes` (None: until resumed);
    with `reading`, nothing is read either. Saved in the settings."""
    mem = eng.settings.memory
    mem.paused_until = -1.0 if minutes is None else clock.now() + 60.0 * max(1.0, minutes)
    mem.pause_reading = reading
    eng.save_settings()
    return Changes("memory paused" + (" (not read either)" if reading else ""))


def resume(eng: Engram) -> Changes:
    eng.settings.memory.paused_until = 0.0
    eng.settings.memory.pause_reading = False
    eng.save_settings()
    return Changes("memory on")


def move(eng: Engram, memory_ids: Iterable[str], scope: str,
         conversation_id: str | None = None) -> Changes:
    """To "global" (every conversation may read them) or to "conversation" scope (only
    `conversation_id`, or each memory's own conversation)."""
    if scope not in ("global", "conversation"):
        raise EngramError(f"Unknown scope {scope!r} (expected global or conversation)")
    ids = _ids(memory_ids)
    mems = _existing(eng, ids)
    todo = [m for m in ids if mems[m].status != "purged"]
    with eng.memories.operation():
        for mid in todo:
            eng.memories.set_scope(mid, scope, conversation_id, actor=ACTOR)
    return _done(eng, f"{_count('move', todo)} to {scope} scope", todo)


def merge(eng: Engram, memory_ids: Iterable[str]) -> Changes:
    """Several active memories become one (their texts, one per line, their sources); the
    originals stay, superseded by it ("merged"), so that undo or restore brings them back."""
    ids = _ids(memory_ids)
    mems = _existing(eng, ids)
    if any(mems[m].status != "active" for m in ids):
        raise EngramError("Only active memories can be merged (restore the others first)")
    if len(ids) < 2:
        raise EngramError("Merging needs at least two memories")
    first = mems[ids[0]]
    sources = [SourceRef(s["message_id"], s["conversation_id"], s["import_id"], s["source_ref"])
               for mid in ids for s in eng.memories.sources(mid)]
    with eng.memories.operation():
        merged = eng.memories.create(
            "fact" if first.kind == "episodic" else first.kind,
            "\n".join(mems[m].text for m in ids), actor=ACTOR, scope=first.scope,
            conversation_id=first.conversation_id, sources=sources,
            note=f"merged from {len(ids)} memories")
        for mid in ids:
            eng.memories.supersede(mid, merged.id, actor=ACTOR, event="merged")
    return _done(eng, f"merge {len(ids)} memories", ids, created=(merged.id,))


def purge(eng: Engram, memory_ids: Iterable[str], *,
          with_messages: bool | None = None) -> Changes:
    """Erase memories for good, as one journalled purge (core.services.purge): one index
    rebuild and one scrub of the files however many there are. Not undoable.
    `with_messages`: blank the messages they came from too (None: a turn's, yes; True: any
    memory's; False: never, the memory goes and the message stays). What will go, in
    words, before it goes: core.services.purge_preview."""
    ids = _ids(memory_ids)
    _existing(eng, ids)
    report = purge_memories(eng, ids, actor=ACTOR, with_source_messages=with_messages)
    return _done(eng, _count("purge", report.memories), report.memories,
                 conversations=tuple(report.conversations), detail=report)


def undo(eng: Engram) -> Changes:
    """Take back the newest operation not undone yet."""
    found = _undoable(eng)
    if found is None:
        raise EngramError("Nothing to undo" + (
            ": the last change was a purge, which is for good" if _last_was_purge(eng) else ""))
    op, events = found
    changed: list[str] = []
    with eng.memories.operation(UNDO_PREFIX + op):
        for event in reversed(events):
            if event.event == "created":       # what the operation made goes out of sight
                mem = eng.memories.get(event.memory_id)
                if mem.status == "active":
                    eng.memories.forget(event.memory_id, actor=ACTOR, note="undone")
                    changed.append(event.memory_id)
            elif eng.memories.revert(event, actor=ACTOR, note="undone") is not None:
                changed.append(event.memory_id)
    return _done(eng, f"undo {describe(events)}", changed)


def undo_description(eng: Engram) -> str:
    """What `undo` would take back now ("" when nothing)."""
    found = _undoable(eng)
    return describe(found[1]) if found else ""


def describe(events: Sequence[MemoryEvent]) -> str:
    """An operation in words, from its audit rows: "forget 3 memories"."""
    kinds = [e.event for e in events]
    ids = {e.memory_id for e in events}
    if "merged" in kinds:
        return f"merge {kinds.count('merged')} memories"
    if any("always_include" in (e.new_value or {}) for e in events):
        on = any((e.new_value or {}).get("always_include") for e in events)
        n = len(ids)
        return ("always include" if on else "stop always including") + (
            " a memory" if n == 1 else f" {n} memories")
    for event, verb in (("purged", "purge"), ("edited", "edit"), ("forgotten", "forget"),
                        ("restored", "restore"), ("pinned", "pin"), ("unpinned", "unpin"),
                        ("rescoped", "move"), ("superseded", "supersede")):
        if event in kinds:
            n = len({e.memory_id for e in events if e.event == event})
            return verb + (" a memory" if n == 1 else f" {n} memories")
    return f"change {len(ids)} memor{'y' if len(ids) == 1 else 'ies'}"


# -- internals -------------------------------------------------------------------------------
def _undoable(eng: Engram) -> tuple[str, list[MemoryEvent]] | None:
    undone: set[str] = set()
    for op, events in eng.memories.recent_operations():
        if op.startswith(UNDO_PREFIX):
            undone.add(op[len(UNDO_PREFIX):])
            continue
        if any(e.event == "purged" for e in events):
            return None                     # a purge ends what can be undone
        if op in undone or not any(e.actor == ACTOR for e in events):
            continue
        return op, events
    return None


def _last_was_purge(eng: Engram) -> bool:
    for op, events in eng.memories.recent_operations(limit=1):
        return any(e.event == "purged" for e in events)
    return False


def _each(eng: Engram, memory_ids: Iterable[str], wanted: Callable[[Memory], bool],
          apply: Callable[[str], Any]) -> list[str]:
    """`apply` to each named memory that is `wanted`, in one operation; the ids it changed."""
    ids = _ids(memory_ids)
    mems = _existing(eng, ids)
    todo = [m for m in ids if wanted(mems[m])]
    with eng.memories.operation():
        for mid in todo:
            apply(mid)
    return todo


def _ids(memory_ids: Iterable[str]) -> list[str]:
    ids = list(dict.fromkeys(memory_ids))
    if not ids:
        raise EngramError("No memory was named")
    return ids


def _existing(eng: Engram, ids: list[str]) -> dict[str, Memory]:
    """The memories by id; NotFoundError names the first id that does not exist."""
    found = eng.memories.get_many(ids)
    for mid in ids:
        if mid not in found:
            eng.memories.get(mid)           # raises NotFoundError with the id
    return found


def _count(verb: str, ids: Sequence[str]) -> str:
    return f"{verb} {'a memory' if len(ids) == 1 else f'{len(ids)} memories'}"


def _done(eng: Engram, description: str, ids: Sequence[str], **kw: Any) -> Changes:
    return Changes.of_memories(description, ids, undo=undo_description(eng), **kw)
