"""`engram bench ...`: the benchmarks (see app/benchmarks/)."""
from __future__ import annotations

from app.benchmarks import register_all


def register(sub) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print its figures")
    inner = p.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    register_all(inner)
