"""One module per `engram` subcommand. Each exposes `register(subparsers)`, which adds its
parser and sets `func(args, ctx) -> int` as the handler."""
from __future__ import annotations

import importlib

COMMAND_MODULES = [
    "gui", "info", "conversations", "memories", "import_", "reindex", "doctor", "chat",
    "models", "bench", "export", "jobs",
]


def register_all(subparsers) -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.commands.{name}":
                continue  # not written yet
            raise
        module.register(subparsers)
