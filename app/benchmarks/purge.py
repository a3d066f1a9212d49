"""`engram bench purge`: what a verifiable purge costs as the index grows.

For each size N, a fresh data folder gets N memories whose vectors are written straight into
the index (random unit vectors: embedding N texts would measure the embedder, not the
purge), plus one real memory embedded with the model, and a backup. Then that memory is
purged and the run reports the whole purge and the vector erasure inside it (the collection
rebuilt without it: core.index.erasure), and checks with the vector probe that no file
holds the purged vector afterwards. Figures from one run, with the load average.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from app.cli import print_fields, print_json

SECRET = "The spare key to the boat shed hangs behind the calendar, code pelican-7319"


def register(sub) -> None:
    p = sub.add_parser("purge", help="cost of a verifiable purge (index rebuild) by index size")
    p.add_argument("--sizes", default="1000,10000,30000",
                   help="comma-separated index sizes (memories)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="engram-bench-purge-") as tmp:
        for n in sizes:
            rows.append(measure(Path(tmp) / f"home-{n}", n))
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    if args.json:
        print_json({"runs": rows, "load_average": load})
        return 0
    for row in rows:
        print_fields(row)
        print()
    print(f"load average: {' '.join(f'{x:.2f}' for x in load)}")
    return 0


def measure(home: Path, n: int) -> dict:
    from app.benchmarks.vector_probe import files_under, find_vectors
    from core.index.vector_index import IndexEntry
    from core.services.engine import Engram
    from core.services.purge import purge_memories
    from core.store.backup import backup_now
    from core.store.memories import NewMemory

    eng = Engram.open(home)
    try:
        ids = eng.memories.create_many(
            [NewMemory("fact", f"filler memory number {i}") for i in range(n)], actor="system")
        rng = np.random.default_rng(n)
        vectors = rng.standard_normal((n, eng.embedder.dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        started = time.monotonic()
        eng.index.upsert([IndexEntry(i, "fact", "global", "active", None) for i in ids], vectors)
        fill_seconds = time.monotonic() - started
        eng.memories.mark_indexed({i: 1 for i in ids})
        secret = eng.memories.create("fact", SECRET, actor="user")
        eng.index_sync.sync()
        backup_now(eng.db, eng.layout.backups_dir)
        vector = eng.embedder.encode([SECRET])[0]
        started = time.monotonic()
        report = purge_memories(eng, [secret.id])
        seconds = time.monotonic() - started
        left = find_vectors(files_under(home), [vector])[0]
        return {"memories in the index": n,
                "writing the vectors first (s)": round(fill_seconds, 2),
                "purge, total (s)": round(seconds, 2),
                "of which the vector erasure (s)": report.vectors.get("seconds"),
                "vectors kept by the rebuild": report.vectors.get("kept"),
                "ms per kept vector": round(1000 * report.vectors.get("seconds", 0)
                                            / max(1, report.vectors.get("kept", 1)), 2),
                "files holding the purged vector after": len({h.path for h in left})}
    finally:
        eng.close()
