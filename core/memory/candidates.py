"""What retrieval ranks: a memory with its score, why it was chosen and its prompt cost; and
the dedupe of the ranked list (repeats, the visible history, a fact beside its own turn)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.store.memories import Memory


@dataclass
class Candidate:
    memory: Memory
    score: float
    reason: str
    detail: dict[str, Any]
    text: str = ""
    cost: int = 0


def _source_turn(mem: Memory) -> str | None:
    """The turn a fact was taken from, or a passage cut from; a turn is its own."""
    if mem.kind == "fact" or mem.granularity == "passage":
        return mem.meta.get("turn")
    return mem.id if mem.granularity == "turn" else None


def dedupe(ranked: list[Candidate], excluded_messages: set[str],
            facts_with_turns: bool = False) -> list[Candidate]:
    """Drop repeated ids and texts, and turns already in the prompt's visible history.

    Unless `facts_with_turns`, a fact and the turn it was taken from (or a passage of it)
    are one memory twice: the better ranked one is kept."""
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    fact_turns: set[str] = set()      # turns a kept fact came from
    piece_turns: set[str] = set()     # turns kept themselves or by a passage
    out = []
    for cand in ranked:
        key = " ".join(cand.memory.text.lower().split())
        if cand.memory.id in seen_ids or key in seen_texts:
            continue
        turn = None if facts_with_turns else _source_turn(cand.memory)
        if turn is not None:
            if cand.memory.kind == "fact":
                if turn in piece_turns:
                    continue
                fact_turns.add(turn)
            elif turn in fact_turns:
                continue
            else:
                piece_turns.add(turn)
        if excluded_messages and cand.memory.kind == "episodic":
            msg = cand.memory.meta.get("message_id")
            if msg in excluded_messages:
                continue
        seen_ids.add(cand.memory.id)
        seen_texts.add(key)
        out.append(cand)
    return out
