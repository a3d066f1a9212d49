"""Latency of retrieval + prompt assembly with N generated memories (used by
`engram bench retrieval --synthetic N`)."""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from typing import Any

from core.llm import approx_tokens

NAMES = ["Anna", "Tomas", "Ingrid", "Miso", "Lena", "Omar", "Priya", "Kenji", "Sofia", "Yusuf"]
PLACES = ["Ghent", "Lyon", "Porto", "Oslo", "Kyoto", "Lima", "Cairo", "Quebec", "Riga", "Perth"]
THINGS = ["piano", "cello", "garden", "bicycle", "novel", "recipe", "marathon", "camera",
          "painting", "telescope", "kayak", "chess"]
VERBS = ["bought", "sold", "fixed", "borrowed", "painted", "found", "lost", "built", "tried",
         "finished"]
TEMPLATES = [
    "User: {n} {v} a {t} in {p} last {d}.",
    "Assistant: How did {n} feel about the {t} from {p}?",
    "User: We talked about the {t} again; {n} wants to go to {p} in {d}.",
    "User: My friend {n} {v} the {t} and now plans a trip to {p}.",
]
DAYS = ["Monday", "Tuesday", "week", "month", "spring", "summer", "winter", "May", "June"]


def _text(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(n=rng.choice(NAMES), v=rng.choice(VERBS),
                                        t=rng.choice(THINGS), p=rng.choice(PLACES),
                                        d=rng.choice(DAYS))


def synthetic(n: int, embedder, *, queries: int = 200, progress: bool = True) -> dict[str, Any]:
    from core.db import transaction
    from core.engine import Engram
    from core.memory.assembly import PromptAssembler
    from core.memory.retrieval import Retriever

    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
        eng = Engram.open(tmp)
        eng._embedder = embedder
        t0 = time.perf_counter()
        conv = eng.conversations.create("bench")
        with transaction(eng.db):
            for i in range(n):
                eng.memories.create("episodic", _text(rng), actor="import", granularity="turn",
                                    created_at=time.time() - rng.random() * 86400 * 365,
                                    occurred_at=time.time() - rng.random() * 86400 * 365)
        history = []
        for i in range(40):
            history.append(eng.conversations.add_message(conv.id, "user" if i % 2 == 0
                                                         else "assistant", _text(rng)))

        def report(done: int, total: int) -> None:
            if progress and (done % 5000 < 128 or done == total):
                print(f"\rindexing {done}/{total}", end="", file=sys.stderr, flush=True)

        eng.index_sync.sync(progress=report)
        if progress:
            print(file=sys.stderr)
        build = time.perf_counter() - t0
        eng.settings.memory.full_context_tokens = 600     # retrieval mode, as in a long chat
        assembler = PromptAssembler(
            eng.memories, Retriever(eng.memories, eng.index, embedder), eng.settings.memory,
            count_tokens=approx_tokens, context_size=4096, reply_tokens=512, system_prompt="")
        conversation = eng.conversations.get(conv.id)
        questions = [f"What did {rng.choice(NAMES)} do with the {rng.choice(THINGS)}?"
                     for _ in range(queries)]
        totals, raw = [], []
        for q in questions[:5]:                            # warm caches once
            assembler.assemble(conversation, history, q)
        for q in questions:
            t1 = time.perf_counter()
            assembled = assembler.assemble(conversation, history, q)
            totals.append(time.perf_counter() - t1)
            assert assembled.mode == "retrieval"
            vector = embedder.encode_one(q)
            t2 = time.perf_counter()
            eng.index.query(vector, 10)
            raw.append(time.perf_counter() - t2)
        eng.close()
    return {"memories": n, "queries": queries, "build_seconds": round(build, 1),
            "total_ms": _stats(totals), "chroma_ms": _stats(raw)}


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(1000 * statistics.median(ordered), 1), "p95": round(1000 * p95, 1)}
