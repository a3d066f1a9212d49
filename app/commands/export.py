"""`engram export` / `engram restore` / `engram backup`."""
from __future__ import annotations

from pathlib import Path

from app.cli import existing_path, print_json


def register(sub) -> None:
    p = sub.add_parser("export", help="export all conversations and memories")
    p.add_argument("path", type=Path, help="a .json file, or a folder for --format markdown")
    p.add_argument("--format", choices=("json", "markdown"), default="json")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run_export)
    r = sub.add_parser("restore", help="restore a JSON export (adds what is missing)")
    r.add_argument("path", type=existing_path)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run_restore)
    b = sub.add_parser("backup", help="make a database backup now (kept in <data>/backups)")
    b.add_argument("--keep", type=int, default=7, help="automatic backups to keep")
    b.set_defaults(func=run_backup)


def run_export(args, ctx) -> int:
    from core.services.export import export_json, export_markdown

    if args.format == "json":
        report = export_json(ctx.engram, args.path)
    else:
        report = export_markdown(ctx.engram, args.path)
    if args.json:
        print_json({"path": str(report.path), "counts": report.counts})
    else:
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        print(f"exported to {report.path}: {counts}")
    return 0


def run_restore(args, ctx) -> int:
    from core.services.export import restore

    report = restore(ctx.engram, args.path)
    if args.json:
        print_json({**report.added, "left_out_purged": report.left_out_purged,
                    "purged_by_tombstones": report.purged_after})
        return 0
    print("restored: " + ", ".join(f"{v} {k}" for k, v in report.added.items()))
    if report.left_out_purged:
        print(f"left out: {report.left_out_purged} row(s) of things purged since the export "
              "(purges are never undone by a restore)")
    if report.purged_after:
        print(f"purged: {report.purged_after} row(s) an earlier restore had brought back, which "
              "this export's tombstones name")
    return 0


def run_backup(args, ctx) -> int:
    from core.store.backup import backup_now

    path = backup_now(ctx.engram.db, ctx.layout.backups_dir, keep=args.keep)
    print(f"backup written: {path}")
    return 0
