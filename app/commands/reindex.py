"""`engram reindex`: rebuild the vector index from SQLite."""
from __future__ import annotations

import sys

from core.base.progress import Progress


def register(sub) -> None:
    p = sub.add_parser("reindex", help="rebuild the Chroma index from the database")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    sync = ctx.engram.index_sync

    def progress(p: Progress) -> None:
        print(f"\rembedding {p.done}/{p.total}", end="", file=sys.stderr, flush=True)

    report = sync.reindex(progress=progress)
    print(file=sys.stderr)
    print(f"reindexed: {report.embedded} memories embedded, {sync.index.count()} in the index")
    return 0
