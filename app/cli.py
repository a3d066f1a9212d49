"""The `engram` command: the second face of core's services, usable with no display.

Errors that core raises on purpose (EngramError) become one line on stderr and exit code 1;
bad arguments exit with 2 (argparse). Never a traceback for a user's mistake.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.commands import register_all
from app.logging_setup import setup_logging
from app.paths import resolve_layout
from core.errors import EngramError
from core.paths import DataLayout


class Context:
    """What a command gets: the resolved folders and, on first use, the opened services."""

    def __init__(self, home: str | None, verbose: bool = False) -> None:
        self.layout: DataLayout = resolve_layout(home)
        self.verbose = verbose
        self._engram = None

    @property
    def engram(self):
        if self._engram is None:
            from core.engine import Engram

            self.layout.ensure()
            setup_logging(self.layout.logs_dir, verbose=self.verbose)
            self._engram = Engram(self.layout)
        return self._engram

    def close(self) -> None:
        if self._engram is not None:
            self._engram.close()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_fields(data: dict[str, Any]) -> None:
    """Key/value lines with the values aligned (the plain-text twin of --json)."""
    width = max((len(k) for k in data), default=0) + 2
    for key, value in data.items():
        print(f"{key:{width}}{value}")


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
    ctx = Context(args.home, args.verbose)
    try:
        return int(args.func(args, ctx) or 0)
    except EngramError as exc:
        print(f"engram: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("engram: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        ctx.close()


def existing_path(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


if __name__ == "__main__":
    sys.exit(main())
