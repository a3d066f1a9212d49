"""The `engram` command: the second face of core's services, usable with no display.

Every failure is one line on stderr and exit code 1: errors core raises on purpose
(EngramError) with their own message, failures of the environment (a full disk, a read-only
or unreadable folder, a missing folder) described by `app.failures`, anything else as
"unexpected ...". The traceback goes to the log file, never to the terminal (`-v` prints it
too). Bad arguments exit with 2 (argparse). Files the command creates are owner-only.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.commands import register_all
from app.failures import describe
from app.logging_setup import LOG_NAME, current_log_file, private_fallback_dir, setup_logging
from app.paths import resolve_layout
from core.base.errors import EngramError
from core.base.paths import DataLayout
from core.base.private_files import use_private_umask

if TYPE_CHECKING:
    from core.services.engine import Engram

log = logging.getLogger("engram.cli")


class Context:
    """What a command gets: the resolved folders and, on first use, the opened services."""

    def __init__(self, home: str | None, verbose: bool = False, *,
                 finish_purges: bool = True) -> None:
        self.layout: DataLayout = resolve_layout(home)
        self.verbose = verbose
        self.finish_purges = finish_purges
        self._engram: Engram | None = None

    @property
    def engram(self) -> Engram:
        if self._engram is None:
            from core.services.engine import Engram

            self.layout.ensure()
            setup_logging(self.layout.logs_dir, verbose=self.verbose)
            self._engram = Engram(self.layout)
            if self.finish_purges:
                _finish_interrupted_purges(self._engram)
        return self._engram

    def close(self) -> None:
        if self._engram is not None:
            self._engram.close()


def _finish_interrupted_purges(eng: Engram) -> None:
    """A purge an earlier run left unfinished is finished before the command reads anything
    (as the app does at start-up). If it cannot be yet, the command goes on with a warning."""
    from core.services.purge import finish_pending
    from core.store import purge_journal

    if not purge_journal.pending(eng.db):
        return
    try:
        done = finish_pending(eng)
    except (EngramError, OSError, sqlite3.Error) as exc:
        print(f"engram: warning: an interrupted purge is not finished yet ({exc}); "
              "see `engram doctor`", file=sys.stderr)
        return
    print(f"engram: finished {len(done)} purge(s) an earlier run had left unfinished",
          file=sys.stderr)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_fields(data: dict[str, Any]) -> None:
    """Key/value lines with the values aligned (the plain-text twin of --json)."""
    width = max((len(k) for k in data), default=0) + 2
    for key, value in data.items():
        print(f"{key:{width}}{value}")


def counted(n: int, one: str, many: str | None = None) -> str:
    """"1 memory", "2 memories", "3 index entries": a count with its noun in the right number."""
    if many is None:
        many = one[:-1] + "ies" if one.endswith("y") else one + "s"
    return f"{n} {one if n == 1 else many}"


def confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise EngramError(f"{question} Refusing without confirmation: pass --yes.")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="engram", description="Engram: a private local assistant with a memory you control.")
    parser.add_argument("--home", help="data folder (default: $ENGRAM_HOME or the platform's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_all(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    previous_umask = use_private_umask()
    ctx: Context | None = None
    try:
        # doctor reports an unfinished purge (and finishes it with --repair) itself
        ctx = Context(args.home, args.verbose, finish_purges=args.command != "doctor")
        return int(args.func(args, ctx) or 0)
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line and a log entry
        return report_failure(exc, args, ctx)
    finally:
        if ctx is not None:
            _close_quietly(ctx)
        os.umask(previous_umask)


def report_failure(exc: BaseException, args: argparse.Namespace, ctx: Context | None) -> int:
    """One line on stderr naming the failure (and where its detail went); the traceback in
    the log file."""
    data_dir = ctx.layout.data_dir if ctx is not None else None
    line = describe(exc, data_dir=data_dir)
    log_file = _log_failure(exc, args, ctx)
    if not isinstance(exc, EngramError) or exc.__cause__ is not None:
        line += f" (details in {log_file})" if log_file else " (no log file could be written)"
    if getattr(args, "verbose", False):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    print(f"engram: error: {line}", file=sys.stderr)
    return 1


def _log_failure(exc: BaseException, args: argparse.Namespace,
                 ctx: Context | None) -> Path | None:
    """Append the failure and its traceback to the log file, or, when that cannot be written
    (a full or read-only disk), to the fallback log folder. Returns where it went. Written
    directly rather than through `logging`, whose handlers swallow a failed write."""
    import time
    import traceback

    detail = "".join(traceback.format_exception(exc))
    entry = (f"{time.strftime('%Y-%m-%d %H:%M:%S')} ERROR engram.cli: engram "
             f"{getattr(args, 'command', '?')} failed: {type(exc).__name__}\n{detail}")
    logs = ctx.layout.logs_dir if ctx is not None else None
    fallback = private_fallback_dir()
    candidates = [current_log_file(), logs / LOG_NAME if logs else None,
                  fallback / LOG_NAME if fallback else None]
    for path in dict.fromkeys(c for c in candidates if c is not None):
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(entry)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            continue
        return path
    return None


def _close_quietly(ctx: Context) -> None:
    try:
        ctx.close()
    except Exception:  # closing after a failure must not add a second one
        log.debug("closing the data folder failed", exc_info=True)


def existing_path(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


if __name__ == "__main__":
    sys.exit(main())
