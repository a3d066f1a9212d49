"""`engram bench NAME`: one module per benchmark, each exposing `register(subparsers)` that sets
`func(args, ctx) -> int`. Benchmarks print figures and ratios measured in one run."""
from __future__ import annotations

import importlib

BENCHMARKS = ["runtime", "retrieval", "import_", "ui", "scale", "purge", "memory_writing", "chat"]


def register_all(subparsers) -> None:
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"app.benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"app.benchmarks.{name}":
                continue
            raise
        module.register(subparsers)
