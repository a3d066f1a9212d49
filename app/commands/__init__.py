"""One module per `engram` subcommand. Each exposes `register(subparsers)`, which adds its
parser and sets `func(args, ctx) -> int` as the handler."""
from __future__ import annotations

import argparse
import importlib

COMMAND_MODULES = [
    "gui", "info", "conversations", "memories", "import_", "reindex", "doctor", "chat",
    "models", "bench", "export", "jobs", "projects",
]


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"app.commands.{name}").register(subparsers)
