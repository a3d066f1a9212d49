"""`engram import PATH`: bring in conversation archives from other assistants.

Progress goes to stderr, the summary to stdout (`--json` for a machine-readable one). A bad
archive is one line on stderr and exit code 1; conversations committed before a problem stay.
"""
from __future__ import annotations

import sys
import time

from app.cli import print_json
from core import clock


def register(sub) -> None:
    p = sub.add_parser("import", help="import ChatGPT, Claude and other conversation archives")
    p.add_argument("path", help="an export file, zip or folder")
    p.add_argument("--dry-run", action="store_true", help="count and check, write nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-embed", action="store_true",
                   help="skip embedding now (done later by `engram reindex` or the app)")
    p.set_defaults(func=run)


class _Progress:
    def __init__(self) -> None:
        self.last = 0.0
        self.shown = False

    def __call__(self, p) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        self.shown = True
        if p.phase == "embedding":
            line = f"embedding {p.embedded}/{p.embed_total}"
        else:
            line = (f"reading {p.fraction:5.1%}  {p.conversations} conversations,"
                    f" {p.messages} messages")
        print(f"\r{line:70}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def run(args, ctx) -> int:
    from core.importers import dry_run, run_import

    progress = _Progress() if sys.stderr.isatty() or args.verbose else None
    try:
        if args.dry_run:
            report = dry_run(args.path, progress)
        else:
            report = run_import(ctx.engram, args.path, progress, embed=not args.no_embed)
    finally:
        if progress:
            progress.done()
    if args.json:
        print_json(report.to_dict())
        return 0
    head = "Dry run (nothing written)" if report.dry_run else f"Imported ({report.status})"
    print(f"{head}: {report.path}")
    print(f"  format         {', '.join(report.formats)}")
    print(f"  conversations  {report.conversations}")
    print(f"  messages       {report.messages} ({report.hidden_messages} hidden, kept out of"
          f" memory)")
    print(f"  branches       {report.branches}")
    if report.first_message_at is not None:
        print(f"  dates          {clock.to_iso(report.first_message_at)[:10]} to"
              f" {clock.to_iso(report.last_message_at)[:10]}")
    if not report.dry_run:
        print(f"  new            {report.new_conversations} conversations,"
              f" {report.new_messages} messages, {report.memories_created} memories")
        print(f"  embedded       {report.embedded}"
              + ("" if not args.no_embed else " (skipped: --no-embed)"))
    print(f"  skipped        {report.skipped_count}")
    for reason, count in sorted(report.skipped_by_reason.items(), key=lambda kv: -kv[1]):
        print(f"    {count:6}  {reason}")
    for name, what in list(report.unrecognised_files.items())[:10]:
        print(f"  not imported   {name}: {what}")
    return 0
