"""`engram conversations list|show|purge`."""
from __future__ import annotations

from app.cli import confirm, print_json
from core.base import clock


def register(sub) -> None:
    p = sub.add_parser("conversations", help="list, show or purge conversations")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = inner.add_parser("list", help="list conversations, newest first")
    ls.add_argument("--search", default="", help="words in the title or messages")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    show = inner.add_parser("show", help="print a conversation's visible thread")
    show.add_argument("id")
    show.add_argument("--all-branches", action="store_true", help="every message of every branch")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    purge = inner.add_parser(
        "purge", help="irreversibly delete a conversation and every memory derived from it")
    purge.add_argument("id")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(func=run_purge)


def _conv_dict(c) -> dict:
    return {"id": c.id, "title": c.title, "created_at": clock.to_iso(c.created_at),
            "updated_at": clock.to_iso(c.updated_at), "pinned": c.pinned,
            "incognito": c.incognito, "source": c.source}


def run_list(args, ctx) -> int:
    convs = ctx.engram.conversations.list(search=args.search, limit=args.limit)
    if args.json:
        print_json([_conv_dict(c) for c in convs])
        return 0
    for c in convs:
        flags = ("*" if c.pinned else " ") + ("i" if c.incognito else " ")
        print(f"{c.id}  {flags} {clock.to_iso(c.updated_at)}  {c.title or '(untitled)'}")
    return 0


def run_show(args, ctx) -> int:
    store = ctx.engram.conversations
    conv = store.get(args.id)
    msgs = store.messages(conv.id) if args.all_branches else store.thread(conv.id)
    if args.json:
        print_json({**_conv_dict(conv), "messages": [
            {"id": m.id, "parent_id": m.parent_id, "branch": m.branch, "role": m.role,
             "text": m.text, "created_at": clock.to_iso(m.created_at), "hidden": m.hidden}
            for m in msgs]})
        return 0
    print(f"# {conv.title or '(untitled)'}\n")
    for m in msgs:
        if m.hidden:
            continue
        print(f"[{m.role}] {m.text}\n")
    return 0


def run_purge(args, ctx) -> int:
    from core.services.purge import purge_conversation

    conv = ctx.engram.conversations.get(args.id)
    if not confirm(f"Purge conversation {conv.id} and every memory derived from it? "
                   "This cannot be undone.", args.yes):
        print("cancelled")
        return 1
    report = purge_conversation(ctx.engram, conv.id)
    if args.json:
        print_json({"conversation": conv.id, "memories_purged": len(report.memories),
                    "kv_states_deleted": report.kv_states_deleted, "vectors": report.vectors,
                    "backups_removed": report.backups_removed, "warnings": report.warnings})
    else:
        from app.commands.memories import purge_summary

        print(f"purged conversation {conv.id}: {purge_summary(report)}")
    return 0
