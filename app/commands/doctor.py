"""`engram doctor`: check the database and that the vector index agrees with it."""
from __future__ import annotations

from app.cli import print_fields, print_json


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check integrity; repair index drift with --repair")
    p.add_argument("--repair", action="store_true", help="fix what is found")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    eng = ctx.engram
    integrity = eng.db.execute("PRAGMA integrity_check").fetchone()[0]
    report = eng.index_sync.doctor(repair=args.repair)
    data = {
        "integrity_check": integrity,
        "memories_indexable": report.sqlite_indexable,
        "index_count": report.index_count,
        "missing_in_index": len(report.missing_in_index),
        "orphans_in_index": len(report.orphans_in_index),
        "stale_in_index": len(report.stale),
        "repaired": report.repaired,
    }
    healthy = integrity == "ok" and (report.healthy or report.repaired)
    if args.json:
        print_json({**data, "healthy": healthy})
    else:
        print_fields(data)
        print("healthy" if healthy else "problems found (run `engram doctor --repair`)")
    return 0 if healthy else 1
