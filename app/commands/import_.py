"""`engram import PATH [PATH ...]`: bring in conversation archives from other assistants.

Several paths import one after another; a folder that holds zips (an export delivered as
several parts) stands for those zips. Progress goes to stderr, the summary to stdout (`--json`
for a machine-readable one: a list when there are several). A bad archive, an unreadable file
or a full disk is one line on stderr and exit code 1; conversations committed before a problem
stay whole (each commits with its messages and memories), and importing the same file again
finishes the job without duplicates.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from app.cli import counted, print_json
from app.failures import describe, is_environment_failure
from core.base import clock
from core.base.errors import EngramError
from core.base.progress import Progress


class ImportStoppedError(EngramError):
    """The environment stopped an import midway (a full disk, a permission)."""


def register(sub) -> None:
    p = sub.add_parser("import", help="import ChatGPT, Claude and other conversation archives")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="an export file, zip or folder (a folder of zips: each zip)")
    p.add_argument("--dry-run", action="store_true", help="count and check, write nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-embed", action="store_true",
                   help="skip embedding now (done later by `engram reindex` or the app)")
    p.set_defaults(func=run)


class _Progress:
    def __init__(self) -> None:
        self.last = 0.0
        self.shown = False

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        self.shown = True
        if p.phase == "embedding":
            line = f"embedding {p.done}/{p.total}"
        else:
            line = (f"reading {p.fraction:5.1%}  {p.counts.get('conversations', 0)} conversations,"
                    f" {p.counts.get('messages', 0)} messages")
        print(f"\r{line:70}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def archives(paths: list[str]) -> list[Path]:
    """The archives to import: each path, except that a folder holding zips stands for its
    zips, in name order, plus its other files when they form an archive Engram reads (a
    manifest beside the parts does not, and is left out with a note)."""
    from core.importers import detect
    from core.importers.model import ArchiveError

    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        zips = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".zip"
                      ) if path.is_dir() else []
        if not zips:
            out.append(path)
            continue
        out.extend(zips)
        try:
            detect(path)
        except ArchiveError as exc:
            print(f"note: only the zips in {path} are imported ({exc})", file=sys.stderr)
        else:
            out.append(path)
    return out


def memory_export(path) -> bool:
    """Claude's memories.json (issue 15): memories, not chats."""
    from core.importers.memories import is_claude_memories

    return is_claude_memories(Path(path)) and Path(path).name == "memories.json"


def run(args, ctx) -> int:
    from core.importers import dry_run, run_import

    reports = []
    for path in archives(args.paths):
        if memory_export(path) and not args.dry_run:      # Claude's memories.json: facts
            from core.importers.memories import import_claude_memories

            print(f"{path.name}: " + import_claude_memories(ctx.engram, path).summary())
            continue
        progress = _Progress() if sys.stderr.isatty() or args.verbose else None
        before = None if args.dry_run else ctx.engram.conversations.count()
        try:
            if args.dry_run:
                report = dry_run(path, progress)
            else:
                report = run_import(ctx.engram, path, progress, embed=not args.no_embed)
        except Exception as exc:
            if before is None or not is_environment_failure(exc):
                raise
            raise ImportStoppedError(_stopped(ctx, path, exc, before)) from exc
        finally:
            if progress:
                progress.done()
        reports.append(report)
        if path.is_dir() and memory_export(path / "memories.json") and not args.dry_run:
            from core.importers.memories import import_claude_memories

            print("memories.json: " + import_claude_memories(ctx.engram, path).summary(),
                  file=sys.stderr if args.json else sys.stdout)
    if args.json:
        dicts = [r.to_dict() for r in reports]
        print_json(dicts[0] if len(dicts) == 1 else dicts)
        return 0
    for report in reports:
        _print_report(report, args.no_embed)
    if len(reports) > 1:
        _print_total(reports)
    return 0


def _print_total(reports) -> None:
    """One line over every archive of the command (a person imports a folder of them)."""
    new = sum(r.new_conversations for r in reports if not r.dry_run)
    msgs = sum(r.new_messages for r in reports if not r.dry_run)
    skipped = sum(r.skipped_count for r in reports)
    done = sum(1 for r in reports if r.status == "completed")
    print(f"All {len(reports)} archives: {done} completed; {counted(new, 'new conversation')}, "
          f"{counted(msgs, 'new message')}; {counted(skipped, 'item')} skipped")


def _stopped(ctx, path: Path, exc: BaseException, before: int) -> str:
    """The one line for an import the environment stopped: why, and what was kept."""
    reason = describe(exc, data_dir=ctx.layout.data_dir)
    try:
        kept = ctx.engram.conversations.count() - before
    except Exception:  # noqa: BLE001 - the count is a courtesy; the reason is what matters
        return f"{reason}; the import of {path.name} stopped (run it again to finish it)"
    return (f"{reason}; the import of {path.name} stopped after {kept} new conversation"
            f"{'' if kept == 1 else 's'} (each one whole): run it again to finish it")


def _print_report(report, no_embed: bool) -> None:
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
        print(f"  new            {counted(report.new_conversations, 'conversation')},"
              f" {counted(report.new_messages, 'message')}, {counted(report.memories_created, 'memory')}")
        print(f"  embedded       {report.embedded}"
              + ("" if not no_embed else " (skipped: --no-embed)"))
    print(f"  skipped        {report.skipped_count}")
    for reason, count in sorted(report.skipped_by_reason.items(), key=lambda kv: -kv[1]):
        print(f"    {count:6}  {reason}")
    if report.lossy_count:
        print(f"  shortened      {report.lossy_count}")
    for reason, count in sorted(report.lossy.items(), key=lambda kv: -kv[1]):
        print(f"    {count:6}  {reason}")
    for name, what in list(report.unrecognised_files.items())[:10]:
        print(f"  not imported   {name}: {what}")
