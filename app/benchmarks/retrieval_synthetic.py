"""Latency of retrieval + prompt assembly with N generated memories (used by
`engram bench retrieval --synthetic N`)."""
from __future__ import annotations

import contextlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.base.errors import EngramError
from core.base.llm import approx_tokens
from core.base.progress import Progress

if TYPE_CHECKING:
    from core.services.engine import Engram

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


def synthetic(n: int, embedder, *, queries: int = 200, progress: bool = True,
              home: Path | None = None) -> dict[str, Any]:
    """Latency of retrieval + assembly over `n` generated memories, in a temporary folder or
    in `home` (built there once, reused while it holds exactly the same generated set)."""
    from core.memory.assembly import PromptAssembler
    from core.memory.retrieval import Retriever
    from core.services.engine import Engram

    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="engram-bench-")))
        eng = Engram.open(home)
        stack.callback(eng.close)
        eng._embedder = embedder
        rng = random.Random(7)
        t0 = time.perf_counter()
        conv, reused = _build(eng, n, rng, progress)
        build = time.perf_counter() - t0
        history = eng.conversations.thread(conv.id)
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
    return {"memories": n, "queries": queries, "build_seconds": round(build, 1),
            "reused": reused,
            "total_ms": _stats(totals), "chroma_ms": _stats(raw)}


def _build(eng: Engram, n: int, rng: random.Random, progress: bool):
    """The generated memories and a 40-message conversation (reused when already there), and
    whether they were reused."""
    from core.store.db import transaction

    title = f"bench {n}"
    existing = [c for c in eng.conversations.list(limit=10) if c.title == title]
    if existing and eng.memories.count(statuses=None) == n and eng.index.count() == n:
        # the generator is seeded: consume the same draws so the questions are the same
        for _ in range(n):
            _text(rng), rng.random(), rng.random()
        for _ in range(40):
            _text(rng)
        return existing[0], True
    if eng.memories.count(statuses=None):
        raise EngramError(f"{eng.layout.data_dir} holds other data; give an empty folder")
    conv = eng.conversations.create(title)
    with transaction(eng.db):
        for _ in range(n):
            eng.memories.create("episodic", _text(rng), actor="import", granularity="turn",
                                created_at=time.time() - rng.random() * 86400 * 365,
                                occurred_at=time.time() - rng.random() * 86400 * 365)
    for i in range(40):
        eng.conversations.add_message(conv.id, "user" if i % 2 == 0 else "assistant",
                                      _text(rng))

    def report(p: Progress) -> None:
        if progress and (p.done % 5000 < 128 or p.done == p.total):
            print(f"\rindexing {p.done}/{p.total}", end="", file=sys.stderr, flush=True)

    eng.index_sync.sync(progress=report)
    if progress:
        print(file=sys.stderr)
    return conv, False


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(1000 * statistics.median(ordered), 1), "p95": round(1000 * p95, 1)}
