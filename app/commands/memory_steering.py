"""`engram memories knows | turns | feedback | always | pause | resume | import-list |
import-claude`: what the inspector shows and steers, in a terminal (issue 15)."""
from __future__ import annotations

import sys
from pathlib import Path

from app.cli import counted
from core.base import clock
from core.importers.memories import import_claude_memories, import_pasted
from core.services import memory_ops


def register(inner) -> None:
    kn = inner.add_parser("knows", help="what Engram knows: the portrait, facts and thoughts "
                                        "by subject, summaries (no turns, no windows)")
    kn.add_argument("--limit", type=int, default=100)
    kn.set_defaults(func=run_knows)
    tu = inner.add_parser("turns", help="what was said, turn by turn, grouped by chat "
                                        "(windows are counted, not listed)")
    tu.add_argument("--limit", type=int, default=100)
    tu.set_defaults(func=run_turns)
    fb = inner.add_parser("feedback", help="say a memory used in an answer was not relevant "
                                           "(it ranks lower for similar questions) or wrong")
    fb.add_argument("id")
    fb.add_argument("verdict", choices=("not-relevant", "wrong"))
    fb.add_argument("--answer", help="the answer's message id (for not-relevant: the "
                                     "question it replied to is what 'similar' compares with)")
    fb.set_defaults(func=run_feedback)
    al = inner.add_parser("always", help="send memories with every message (apart from pin, "
                                         "which only keeps them from fading)")
    al.add_argument("ids", nargs="+", metavar="ID")
    al.add_argument("--off", action="store_true", help="stop sending them every time")
    al.set_defaults(func=run_always)
    pa = inner.add_parser("pause", help="the memory switch: remember nothing new for a while")
    pa.add_argument("--minutes", type=float, help="for this long (default: until resumed)")
    pa.add_argument("--no-read", action="store_true", help="and read no memory either")
    pa.set_defaults(func=run_pause)
    re_ = inner.add_parser("resume", help="turn memory back on")
    re_.set_defaults(func=run_resume)
    il = inner.add_parser("import-list", help="import a pasted list of saved memories (one a "
                                              "line; '-' reads standard input) as facts")
    il.add_argument("file")
    il.set_defaults(func=run_import_list)
    ic = inner.add_parser("import-claude", help="import Claude's memories.json (or an export "
                                                "folder holding it) as facts")
    ic.add_argument("path")
    ic.set_defaults(func=run_import_claude)


def _page(eng, view: str, limit: int):
    """One view's rows with their sources, after the tally line."""
    rows = eng.views.page(view, limit=limit)
    print(tally_line(eng.views.tally()))
    return rows, eng.views.sources_of([m.id for m in rows])


# how `knows` heads the kinds that are not facts about someone, in the order they are shown
KIND_HEADINGS = {"portrait": "how Engram sees you", "summary": "summaries",
                 "compact": "running summaries of chats"}


def knows_heading(mem, name: str | None) -> str:
    """The heading a memory goes under: its kind in words, or whom the fact is about (the
    person as "you", with their name once Engram knows it)."""
    if mem.kind in KIND_HEADINGS:
        return KIND_HEADINGS[mem.kind]
    subject = (mem.subject or "").strip()
    if not subject:
        return "other facts"
    if subject.lower() in ("the user", "user") or (name and subject.lower() == name.lower()):
        return f"about you ({name})" if name else "about you"
    return f"about {subject[:1].upper()}{subject[1:]}"


def run_knows(args, ctx) -> int:
    from core.memory.person import person_name

    rows, info = _page(ctx.engram, "knows", args.limit)
    name = person_name(ctx.engram)
    groups: dict[str, list] = {}
    for mem in rows:                  # one heading each, in the order the view ranks them
        groups.setdefault(knows_heading(mem, name), []).append(mem)
    for head, mems in groups.items():
        print(f"\n{head}:")
        for mem in mems:
            src = info.get(mem.id, {})
            where = f" (from the chat “{src['title']}”)" if src.get("title") else ""
            when = clock.to_iso(mem.occurred_at or src.get("said_at") or mem.created_at)[:10]
            print(f"  {mem.id}  {when}  {' '.join(mem.text.split())[:100]}{where}")
    return 0


def run_turns(args, ctx) -> int:
    rows, info = _page(ctx.engram, "turns", args.limit)
    chat = None
    for mem in rows:
        src = info.get(mem.id, {})
        if mem.conversation_id != chat:
            chat = mem.conversation_id
            print(f"\n“{src.get('title') or 'Untitled chat'}”:")
        who = "assistant" if (mem.meta.get("role") or "user") == "assistant" else "you"
        text = " ".join(mem.text.split()).removeprefix("User: ").removeprefix("Assistant: ")
        print(f"  {mem.id}  {who:>9}: {text[:100]}")
    return 0


def tally_line(t: dict[str, int]) -> str:
    names = {"fact": "facts", "thought": "thoughts", "portrait": "portraits",
             "summary": "summaries"}
    parts = [counted(t.get(k, 0), k, many) for k, many in names.items()]
    return (f"Engram knows {', '.join(parts)}; {counted(t.get('turn', 0), 'turn', 'turns')} "
            f"from {counted(t.get('chats', 0), 'chat', 'chats')}; "
            f"{counted(t.get('window', 0), 'index entry', 'index entries')} (not listed)")



def run_feedback(args, ctx) -> int:
    verdict = args.verdict.replace("-", "_")
    print(memory_ops.feedback(ctx.engram, args.id, args.answer, verdict).description)
    return 0


def run_always(args, ctx) -> int:
    print(memory_ops.always_include(ctx.engram, args.ids, not args.off).description)
    return 0


def run_pause(args, ctx) -> int:
    print(memory_ops.pause(ctx.engram, args.minutes, reading=args.no_read).description
          + ("" if args.minutes is None else f" for {args.minutes:g} min"))
    return 0


def run_resume(args, ctx) -> int:
    print(memory_ops.resume(ctx.engram).description)
    return 0


def run_import_list(args, ctx) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    report = import_pasted(ctx.engram, text)
    print(report.summary())
    return 0


def run_import_claude(args, ctx) -> int:
    report = import_claude_memories(ctx.engram, args.path)
    print(report.summary())
    for line in report.skipped:
        print(f"  skipped {line}")
    return 0
