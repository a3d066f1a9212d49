"""`engram memories ...`: see, search, correct, pin, forget, restore, move, merge, undo and
purge memories, several at a time (core.services.memory_ops, as the inspector does)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.cli import confirm, print_json
from app.commands import memory_steering
from core.base import clock
from core.base.errors import EngramError
from core.services import memory_ops
from core.services.changes import Changes
from core.services.purge_preview import preview as purge_preview
from core.store.memories import KINDS, STATUSES, Memory


def register(sub) -> None:
    p = sub.add_parser("memories", help="inspect and control what Engram remembers")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = inner.add_parser("list", help="list memories, newest change first")
    ls.add_argument("--kind", choices=KINDS, action="append", help="only this kind (repeatable)")
    ls.add_argument("--status", choices=[*STATUSES, "all"], default="active")
    ls.add_argument("--conversation", help="only memories of this conversation")
    ls.add_argument("--pinned", action="store_true", help="only pinned memories")
    ls.add_argument("--granularity", help="only this granularity (turn, window, day, ...)")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)

    se = inner.add_parser("search", help="search as the chat does (meaning + words)")
    se.add_argument("query")
    se.add_argument("--limit", type=int, default=10)
    se.add_argument("--conversation", help="search as this conversation would")
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=run_search)

    sh = inner.add_parser("show", help="a memory with its sources, history and uses")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=run_show)

    ed = inner.add_parser("edit",
                          help="correct a memory's text (the old text stays in its history)")
    ed.add_argument("id")
    ed.add_argument("--text", required=True)
    ed.set_defaults(func=run_edit)

    pin = inner.add_parser("pin", help="pin memories: always considered, never fading")
    pin.add_argument("ids", nargs="+", metavar="ID")
    pin.add_argument("--off", action="store_true", help="unpin instead")
    pin.set_defaults(func=run_pin)

    fg = inner.add_parser("forget", help="forget memories (reversible: see restore and undo)")
    fg.add_argument("ids", nargs="+", metavar="ID")
    fg.set_defaults(func=run_forget)

    rs = inner.add_parser("restore", help="bring back forgotten or superseded memories")
    rs.add_argument("ids", nargs="+", metavar="ID")
    rs.add_argument("--version", type=int, metavar="EVENT_ID",
                    help="(one memory) also put back the text from this history event")
    rs.set_defaults(func=run_restore)

    mv = inner.add_parser("move", help="change memories' scope: every conversation, or one")
    mv.add_argument("ids", nargs="+", metavar="ID")
    mv.add_argument("--to", choices=("global", "conversation"), required=True)
    mv.add_argument("--conversation", help="with --to conversation: this one (default: each "
                                           "memory's own)")
    mv.set_defaults(func=run_move)

    mg = inner.add_parser("merge", help="combine memories into one (the originals are kept "
                                        "as merged: undo or restore brings them back)")
    mg.add_argument("ids", nargs="+", metavar="ID")
    mg.set_defaults(func=run_merge)

    un = inner.add_parser("undo", help="take back the last change made to memories (not a "
                                       "purge)")
    un.set_defaults(func=run_undo)

    pu = inner.add_parser("purge", help="erase memories for good, from every file")
    pu.add_argument("ids", nargs="+", metavar="ID")
    pu.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    pu.add_argument("--keep-message", action="store_true",
                    help="erase the memory only: the message it came from stays in the chat")
    pu.set_defaults(func=run_purge)
    memory_steering.register(inner)


def memory_dict(mem: Memory) -> dict[str, Any]:
    data = asdict(mem)
    for key in ("created_at", "updated_at", "occurred_at", "last_recalled_at"):
        data[key] = clock.to_iso(data[key])
    return data


def _line(mem: Memory, extra: str = "") -> str:
    flags = ("*" if mem.pinned else " ") + (" " if mem.status == "active" else "~")
    kind = mem.kind + (f"/{mem.granularity}" if mem.granularity else "")
    text = " ".join(mem.text.split())
    if len(text) > 90:
        text = text[:87] + "..."
    return f"{mem.id}{flags} {kind:<18} {extra}{text}"


def run_list(args, ctx) -> int:
    statuses = None if args.status == "all" else (args.status,)
    mems = ctx.engram.memories.list(kinds=args.kind, statuses=statuses,
                                    conversation_id=args.conversation,
                                    pinned=True if args.pinned else None,
                                    limit=None if args.granularity else args.limit)
    if args.granularity:
        mems = [m for m in mems if m.granularity == args.granularity][: args.limit]
    if args.json:
        print_json([memory_dict(m) for m in mems])
    else:
        for mem in mems:
            print(_line(mem))
        if not mems:
            print("no memories")
    return 0


def run_search(args, ctx) -> int:
    from core.memory.retrieval import Retriever

    eng = ctx.engram
    eng.index_sync.sync()
    result = Retriever(eng.memories, eng.index, eng.embedder).retrieve(
        args.query, conversation_id=args.conversation, budget_tokens=10**9, include_pinned=False)
    hits = result.ranked[: args.limit]
    if args.json:
        print_json([{**memory_dict(c.memory), "score": c.score, "reason": c.reason,
                     "detail": c.detail} for c in hits])
    else:
        for c in hits:
            print(_line(c.memory, f"{c.score:.4f} "))
        if not hits:
            print("nothing found")
    return 0


def run_show(args, ctx) -> int:
    store = ctx.engram.memories
    mem = store.get(args.id)
    sources = store.sources(mem.id)
    events = store.events(mem.id)
    uses = ctx.engram.retrievals.uses_of(mem.id)
    if args.json:
        print_json({"memory": memory_dict(mem), "sources": sources,
                    "events": [{**asdict(e), "at": clock.to_iso(e.at)} for e in events],
                    "used_in": uses})
        return 0
    print(_line(mem))
    print(f"  status {mem.status}, strength {mem.strength:g}, version {mem.version}, "
          f"scope {mem.scope}" + (f", superseded by {mem.superseded_by}" if mem.superseded_by else ""))
    print(f"  text: {mem.text}")
    print("  sources:")
    for s in sources:
        print(f"    message {s['message_id']} conversation {s['conversation_id']}"
              + (f" import {s['import_id']}" if s["import_id"] else "")
              + (f" ref {s['source_ref']}" if s["source_ref"] else ""))
    print("  history:")
    for e in events:
        print(f"    #{e.id} {clock.to_iso(e.at)} {e.event} by {e.actor}"
              + (f": {e.note}" if e.note else ""))
    print(f"  used in {len(uses)} answer(s)")
    return 0


def _report(changes: Changes, ids: list[str] | None = None) -> int:
    """One line for what changed (and for ids left as they were), then what undo would do."""
    done = changes.description if changes.memories or changes.created else \
        f"nothing to {changes.description.split()[0]}"
    print(done + (f": {', '.join(changes.created)}" if changes.created else ""))
    left = [i for i in ids or [] if i not in changes.memories]
    if left and changes.memories:
        print(f"left as they were: {', '.join(left)}")
    if changes.undo:
        print(f"(engram memories undo: {changes.undo})")
    return 0


def run_edit(args, ctx) -> int:
    return _report(memory_ops.edit(ctx.engram, args.id, args.text))


def run_pin(args, ctx) -> int:
    return _report(memory_ops.pin(ctx.engram, args.ids, not args.off), args.ids)


def run_forget(args, ctx) -> int:
    return _report(memory_ops.forget(ctx.engram, args.ids), args.ids)


def run_restore(args, ctx) -> int:
    eng = ctx.engram
    if args.version is not None and len(args.ids) != 1:
        raise EngramError("--version restores the text of one memory: name only that one")
    changes = memory_ops.restore(eng, args.ids)
    if args.version is not None:
        changes = changes + memory_ops.restore_version(eng, args.ids[0], args.version)
    return _report(changes, args.ids)


def run_move(args, ctx) -> int:
    return _report(memory_ops.move(ctx.engram, args.ids, args.to, args.conversation), args.ids)


def run_merge(args, ctx) -> int:
    return _report(memory_ops.merge(ctx.engram, args.ids))


def run_undo(args, ctx) -> int:
    return _report(memory_ops.undo(ctx.engram))


def run_purge(args, ctx) -> int:
    eng = ctx.engram
    found = eng.memories.get_many(args.ids)
    for mid in args.ids:
        if mid not in found:
            eng.memories.get(mid)          # the error names the missing id
    gone = [m for m in args.ids if found[m].status == "purged"]
    for mid in gone:
        mem = found[mid]
        when = next((e.at for e in reversed(eng.memories.events(mid)) if e.event == "purged"),
                    mem.updated_at)
        print(f"memory {mid} was purged already ({clock.to_iso(when)}); nothing of it is left")
    todo = [m for m in args.ids if m not in gone]
    if not todo:
        return 0
    what = f"memory {todo[0]}" if len(todo) == 1 else f"{len(todo)} memories"
    blank = False if args.keep_message else None
    print("This erases for good:\n" + "\n".join(
        f"  - {line}" for line in purge_preview(eng, todo, with_messages=blank).lines()))
    if not confirm(f"Erase {what} for good?", args.yes):
        print("nothing purged")
        return 1
    print(purge_summary(memory_ops.purge(eng, todo, with_messages=blank).detail))
    return 0


def purge_summary(report) -> str:
    """What a purge did, in words (the plural forms right)."""
    def n(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"

    vectors = report.vectors or {}
    line = (f"purged {n(len(report.memories), 'memory', 'memories')}, blanked "
            f"{n(report.messages_blanked, 'message', 'messages')}, "
            + (f"rewrote {n(report.titles_rewritten, 'chat title', 'chat titles')}, "
               if report.titles_rewritten else "")
            + "deleted "
            f"{n(report.kv_states_deleted, 'saved model state', 'saved model states')}; "
            f"vectors erased: {vectors.get('present', 0)}"
            + (" (index rebuilt)" if vectors.get("rebuilt") else "")
            + (f"; backups replaced: {report.backups_removed}" if report.backups_removed else ""))
    if report.resumed:
        line += " (finished a purge an earlier run had left unfinished)"
    for warning in report.warnings:
        line += f"; warning: {warning}"
    return line
