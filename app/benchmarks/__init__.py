"""`engram bench NAME`: one module per benchmark, each exposing `register(subparsers)` that sets
`func(args, ctx) -> int`. Benchmarks print figures and ratios measured in one run.

Beside them, the tooling they and the tests share: synthetic GGUF files (synthetic_gguf), KV
cache quality measures (kv_quality), and the probe that looks for a vector's bytes in files
(vector_probe). None of it is part of the runtime the app uses."""
from __future__ import annotations

import argparse
import importlib

BENCHMARKS = ["runtime", "retrieval", "import_", "ui", "scale", "purge", "memory_writing", "chat"]


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for name in BENCHMARKS:
        importlib.import_module(f"app.benchmarks.{name}").register(subparsers)


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
