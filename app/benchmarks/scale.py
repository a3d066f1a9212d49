"""`engram bench scale`: does a large data folder stay usable?

Generates (or reuses, with --home) a data folder with N memories and M conversations, then
measures, in one run: opening it, start-up recovery, the first page of conversations, an
inspector page at the start and the end of the table, a memory count with filters, full-text
search, semantic search (embedding + Chroma), and purging one memory.
"""
from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from app.cli import print_fields, print_json

WORDS = ("garden tomato lisbon sister piano deadline invoice hiking mountain recipe budget "
         "birthday doctor python train concert novel coffee holiday meeting dentist bicycle "
         "weather project keyboard museum violin friend kitchen river forest").split()


def register(sub) -> None:
    p = sub.add_parser("scale", help="usability of a data folder with 100k memories")
    p.add_argument("--memories", type=int, default=100_000)
    p.add_argument("--conversations", type=int, default=10_000)
    p.add_argument("--home", type=Path, help="reuse (or create) this data folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _sentence(rng: random.Random, i: int) -> str:
    return f"Note {i}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))


def generate(home: Path, n_memories: int, n_conversations: int, log) -> None:
    from core.services.engine import Engram
    from core.store.db import transaction
    from core.store.memories import SourceRef

    eng = Engram.open(home)
    rng = random.Random(7)
    have = eng.memories.count(statuses=None)
    if have >= n_memories:
        eng.close()
        return
    per_conv = max(1, n_memories // max(1, n_conversations))
    t0 = time.perf_counter()
    made = have
    conv_i = eng.conversations.count()
    while made < n_memories:
        with transaction(eng.db):
            for _ in range(50):
                conv = eng.conversations.create(f"Conversation {conv_i}",
                                                created_at=1.6e9 + conv_i * 3600)
                conv_i += 1
                for j in range(per_conv):
                    if made >= n_memories:
                        break
                    text = _sentence(rng, made)
                    msg = eng.conversations.add_message(
                        conv.id, "user" if j % 2 == 0 else "assistant", text,
                        created_at=conv.created_at + j)
                    eng.memories.create(
                        "episodic", text, actor="import", conversation_id=conv.id,
                        occurred_at=msg.created_at, granularity="turn",
                        sources=[SourceRef(message_id=msg.id, conversation_id=conv.id)])
                    made += 1
        log(f"generated {made}/{n_memories} memories ({time.perf_counter() - t0:.0f} s)")
    log("embedding into the vector index (this is the slow part)")
    eng.index_sync.sync(progress=lambda p: log(f"embedded {p.done}/{p.total}")
                        if p.done % 10000 < 128 else None)
    eng.close()


def _ms(fn, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def run(args, ctx) -> int:
    import sys

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    home = args.home or Path(tempfile.mkdtemp(prefix="engram-scale-"))
    t_gen = time.perf_counter()
    generate(home, args.memories, args.conversations, log)
    gen_s = time.perf_counter() - t_gen

    from core.services.engine import Engram
    from core.services.purge import purge_memories
    from core.services.startup import recover

    open_ms, eng = _ms(lambda: Engram.open(home))
    figures: dict[str, float | int | str] = {"home": str(home), "generate_s": round(gen_s, 1)}
    figures["memories"] = eng.memories.count(statuses=None)
    figures["conversations"] = eng.conversations.count()
    figures["open_ms"] = round(open_ms, 1)
    figures["startup_recovery_ms"] = round(_ms(lambda: recover(eng))[0], 1)
    figures["conversation_list_first_page_ms"] = round(
        _ms(lambda: eng.conversations.list(limit=100), 5)[0], 2)
    figures["inspector_first_page_ms"] = round(_ms(lambda: eng.memories.list(limit=200), 5)[0], 2)
    figures["inspector_last_page_ms"] = round(_ms(lambda: eng.memories.list(
        limit=200, offset=max(0, figures["memories"] - 200)), 5)[0], 2)
    figures["inspector_count_filtered_ms"] = round(_ms(lambda: eng.memories.count(
        kinds=["episodic"]), 5)[0], 2)
    figures["fulltext_search_ms"] = round(_ms(lambda: eng.memories.list(
        text="tomato lisbon", limit=200), 5)[0], 2)
    eng.embedder.encode(["warm up"])
    _ms(lambda: eng.index.query(eng.embedder.encode_one("warm"), 10))
    figures["semantic_search_ms"] = round(_ms(lambda: eng.index.query(
        eng.embedder.encode_one("plans for my sister's birthday"), 20), 5)[0], 2)
    victim = eng.memories.list(limit=1)[0].id
    figures["purge_one_memory_ms"] = round(_ms(lambda: purge_memories(eng, [victim]))[0], 1)
    eng.close()
    figures["machine"] = _machine()
    if args.json:
        print_json(figures)
    else:
        print_fields(figures)
    return 0


def _machine() -> str:
    import os
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
