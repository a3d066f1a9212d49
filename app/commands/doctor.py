"""`engram doctor`: check the database, that the vector index agrees with it, that every purge
is complete (text and vectors: core.services.purge_audit) and that private files are owner-only.
`--repair` finishes unfinished purges, replaces backups that hold purged rows, erases
leftover vectors, repairs index drift and makes the files owner-only."""
from __future__ import annotations

from app.cli import print_fields, print_json


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check integrity, purges and permissions; --repair fixes")
    p.add_argument("--repair", action="store_true", help="fix what is found")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    from core.base.private_files import audit as audit_permissions
    from core.base.private_files import make_private
    from core.services.purge_audit import audit as audit_purges
    from core.services.purge_audit import repair as repair_purges
    from core.store.db import integrity_check

    eng = ctx.engram
    integrity = integrity_check(eng.db)
    purges = audit_purges(eng)
    actions: list[str] = []
    if args.repair and not purges.complete:
        actions = repair_purges(eng, purges)
        purges = audit_purges(eng)
    report = eng.index_sync.doctor(repair=args.repair)
    folders = list(dict.fromkeys([eng.layout.data_dir, eng.layout.config_dir]))
    loose = [item for folder in folders for item in audit_permissions(folder)]
    if args.repair and loose:
        actions.append(f"made {sum(make_private(f) for f in folders)} file(s) owner-only")
        loose = [item for folder in folders for item in audit_permissions(folder)]
    data = {
        "integrity_check": integrity,
        "memories_indexable": report.sqlite_indexable,
        "index_count": report.index_count,
        "missing_in_index": len(report.missing_in_index),
        "orphans_in_index": len(report.orphans_in_index),
        "stale_in_index": len(report.stale),
        "index_damaged": ("yes, rebuilt from the database" if report.damaged and report.repaired
                          else "yes (run `engram doctor --repair`)" if report.damaged else "no"),
        "repaired": report.repaired or bool(actions),
        "purges": f"{purges.finished} finished, {len(purges.unfinished)} unfinished",
        "purged_text_left": _problems(purges.text_problems) or (
            f"none (memories, history, messages, conversations, full-text indexes, "
            f"{purges.backups_checked} backup(s), KV states, import reports)"),
        "purged_vectors_left": _problems(purges.vector_problems) or (
            f"none ({purges.vector_checks})"),
        "file_permissions": "owner-only" if not loose else (
            f"{len(loose)} readable by others: "
            + ", ".join(item.describe(eng.layout.data_dir) for item in loose[:5])
            + (" ..." if len(loose) > 5 else "")),
    }
    healthy = (integrity == "ok" and (report.healthy or report.repaired) and purges.complete
               and not loose)
    if args.json:
        print_json({**data, "unfinished_purges": purges.unfinished,
                    "purged_text_problems": purges.text_problems,
                    "purged_vector_problems": purges.vector_problems,
                    "loose_permissions": [str(item.path) for item in loose],
                    "actions": actions, "healthy": healthy})
    else:
        print_fields(data)
        for pending in purges.unfinished:
            print(f"unfinished purge: {pending}")
        for action in actions:
            print(f"repair: {action}")
        print("healthy" if healthy else "problems found (run `engram doctor --repair`)")
    return 0 if healthy else 1


def _problems(found: dict[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in found.items())
