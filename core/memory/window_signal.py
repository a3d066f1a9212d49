"""The lexical side of windows, from their turns' own BM25 scores.

A window (core.memory.episodic) repeats the text of four turns; giving it its own full-text
row roughly doubles what an import writes into SQLite's FTS5 index, the largest part of an
import's time. BM25 over a window is close to the sum of BM25 over its turns (the same words,
in the same documents' neighbourhood), so the window's lexical score is taken from its turns'
scores instead: each window scores the sum of its messages' best lexical hits, and windows
rank their anchor turns by that sum.
"""
from __future__ import annotations

from core.store.memories import Memory, MemoryStore


def windows_from_turns(store: MemoryStore, hits: list[tuple[str, float]],
                       rows: dict[str, Memory]) -> list[tuple[str, str, float]]:
    """(window id, anchor turn id, score), best first, from lexical `hits` on turns and
    passages (id, BM25 score; higher is better)."""
    best: dict[str, float] = {}                  # message id -> its best hit
    for mid, score in hits:
        mem = rows.get(mid)
        msg = mem.meta.get("message_id") if mem is not None else None
        if msg and mem.granularity in ("turn", "passage") and score > best.get(msg, 0.0):
            best[msg] = score
    if not best:
        return []
    windows: dict[str, list] = {}
    for window, anchor, msg in store.windows_of_messages(list(best)):
        entry = windows.setdefault(window, [anchor, 0.0])
        entry[1] += best.get(msg, 0.0)
    ranked = sorted(windows.items(), key=lambda kv: -kv[1][1])
    return [(window, anchor, score) for window, (anchor, score) in ranked if anchor]
