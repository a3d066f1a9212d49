"""`engram bench import --memory-cost`: what writing episodic memories costs, with and
without passages, measured side by side on the same generated messages.

The messages of a generated sample of the synthetic export (the same text mix: 2% of them up
to 200 sentences) are stored once per run in a fresh data folder; then `remember_messages`
writes their memories, one transaction per conversation as an import does, alternately
without passages and with them, `rounds` times each (the median is the figure: on a shared
machine single runs vary by a third).
"""
from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _conversations(n: int, seed: int = 7) -> list[list[str]]:
    from app.benchmarks.import_ import _sentences, _text

    rng = random.Random(seed)
    pool = _sentences(rng, 4000)
    return [[_text(rng, pool) for _ in range(rng.randint(4, 60))] for _ in range(n)]


def _write(texts: list[list[str]], passages: bool) -> dict[str, float]:
    from core.memory.episodic import remember_messages
    from core.services.engine import Engram
    from core.store.db import transaction

    with tempfile.TemporaryDirectory(prefix="engram-bench-memcost-") as tmp:
        eng = Engram.open(tmp)
        try:
            threads = []
            for i, conv_texts in enumerate(texts):
                conv = eng.conversations.create(f"c{i}", created_at=1.6e9)
                parent, msgs = None, []
                for j, text in enumerate(conv_texts):
                    msg = eng.conversations.add_message(
                        conv.id, "user" if j % 2 == 0 else "assistant", text,
                        created_at=1.6e9 + 30 * j, parent_id=parent)
                    parent = msg.id
                    msgs.append(msg)
                threads.append(msgs)
            start = time.perf_counter()
            made = 0
            for msgs in threads:
                with transaction(eng.db):
                    made += len(remember_messages(eng.memories, msgs, actor="import",
                                                  passages=passages))
            seconds = time.perf_counter() - start
        finally:
            eng.close()
        size = (Path(tmp) / "engram.db").stat().st_size
    return {"seconds": seconds, "memories": made, "database_mb": size / (1 << 20)}


def memory_cost(conversations: int = 120, rounds: int = 3) -> dict[str, Any]:
    import os

    texts = _conversations(conversations)
    messages = sum(len(t) for t in texts)
    load = [os.getloadavg()[0]]
    runs: dict[str, list[dict[str, float]]] = {"whole messages": [], "with passages": []}
    for _ in range(rounds):
        runs["whole messages"].append(_write(texts, passages=False))
        runs["with passages"].append(_write(texts, passages=True))
    load.append(os.getloadavg()[0])
    out: dict[str, Any] = {"messages": messages, "rounds": rounds,
                           "load_average_1min": [round(x, 2) for x in load]}
    for name, rows in runs.items():
        secs = statistics.median(r["seconds"] for r in rows)
        out[name] = {"memories": int(rows[0]["memories"]),
                     "database_mb": round(rows[0]["database_mb"], 1),
                     "median_seconds": round(secs, 2),
                     "messages_per_s": round(messages / secs),
                     "all_seconds": [round(r["seconds"], 2) for r in rows]}
    whole, with_p = out["whole messages"], out["with passages"]
    out["passages_memory_ratio"] = round(with_p["memories"] / whole["memories"], 3)
    out["passages_time_ratio"] = round(with_p["median_seconds"] / whole["median_seconds"], 3)
    return out
