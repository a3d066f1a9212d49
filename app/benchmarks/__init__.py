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


def emit(out: dict, *, as_json: bool, report) -> int:
    """Print a benchmark's figures: as JSON, or through its `report(out)`."""
    import json
    import sys

    if as_json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        report(out)
    return 0


def machine() -> dict:
    """What the figures were measured on: cores, Python, the load average at the end."""
    import os
    import platform

    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in load]}
