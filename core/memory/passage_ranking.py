"""Long messages in retrieval: their passages go into the prompt, not the whole message.

A message longer than the embedding model's window has a turn memory (the whole text, what
windows, facts and neighbours point at) and passages (core.memory.passages). Everything the
turn scored is handed to one of its passages, so a 400-word answer costs the ~160 tokens of
the part that matched instead of half the budget.
"""
from __future__ import annotations

from collections.abc import Callable

from core.memory.candidates import Candidate
from core.store.memories import Memory, MemoryStore

Visible = Callable[[Memory], bool]


def is_long_turn(mem: Memory) -> bool:
    """A turn whose message is long enough to have passages (core.memory.passages)."""
    return (mem.granularity == "turn" and bool(mem.meta.get("passages"))
            and bool(mem.meta.get("message_id")))


def still_part_of(passage: Memory, turn: Memory) -> bool:
    """False once the turn's text was edited so that it no longer holds the passage: the
    edited turn is then shown itself (its passages still carry the old words)."""
    body = passage.text.partition(": ")[2] or passage.text
    return " ".join(body.split()) in " ".join(turn.text.split())


def into_passages(store: MemoryStore, scored: list[Candidate], votes: dict[str, float],
                  rows: dict[str, Memory], visible: Visible, excluded: set[str]
                  ) -> list[Candidate]:
    """A long message's turn is not put into a prompt (it would cost hundreds of tokens and
    MiniLM read only its start). Retrieval ranks the message (its passages' hits count as its
    own); here the turn is replaced, with its score, by its passage with the most `votes` (how
    high each passage itself was found), or its first passage when none was found. A turn
    whose passages are all gone (forgotten) stays itself."""
    long_turns = [c for c in scored if is_long_turn(c.memory)]
    if not long_turns:
        return scored
    best: dict[str, str] = {}
    for pid, vote in sorted(votes.items(), key=lambda kv: -kv[1]):
        turn = rows[pid].meta.get("turn") if pid in rows else None
        if turn and turn not in best and visible(rows[pid]) and pid not in excluded:
            best[turn] = pid
    unfound = [c for c in long_turns if c.memory.id not in best]
    by_message = store.passages_of([c.memory.meta["message_id"] for c in unfound]) \
        if unfound else {}
    firsts = store.get_many([ids[0] for ids in by_message.values() if ids])
    out: list[Candidate] = []
    for cand in scored:
        if not is_long_turn(cand.memory):
            out.append(cand)
            continue
        pid = best.get(cand.memory.id)
        if pid is not None and not still_part_of(rows[pid], cand.memory):
            out.append(cand)                   # edited since: the whole, new text
            continue
        if pid is None:
            ids = by_message.get(cand.memory.meta["message_id"], [])
            first = firsts.get(ids[0]) if ids else None
            if (first is not None and first.id not in excluded and visible(first)
                    and still_part_of(first, cand.memory)):
                pid, rows[first.id] = first.id, first
        if pid is None:
            out.append(cand)
            continue
        detail = {**cand.detail, "passage_of": cand.memory.id,
                  "passage": rows[pid].meta.get("part")}
        reason = cand.reason + ("" if pid in votes else " (the message; its first passage)")
        out.append(Candidate(rows[pid], cand.score, reason, detail))
    return out


def neighbour_passages(store: MemoryStore, ranked: list[Candidate], visible: Visible,
                       excluded: set[str], votes: dict[str, float]) -> list[Candidate]:
    """A long neighbour turn is replaced, in its place, by its passage that the query found
    best, else by the one nearest its hit: its last passage when it came before the hit, its
    first when after."""
    long_turns = [c for c in ranked if is_long_turn(c.memory)]
    if not long_turns:
        return ranked
    by_message = store.passages_of([c.memory.meta["message_id"] for c in long_turns])
    present = {c.memory.id for c in ranked}
    hits = {c.memory.id: c.memory for c in ranked}
    wanted: dict[str, str] = {}
    for cand in long_turns:
        ids = [i for i in by_message.get(cand.memory.meta["message_id"], [])
               if i not in present]
        if not ids:
            continue
        voted = max((i for i in ids if i in votes), key=votes.__getitem__, default=None)
        hit = hits.get(cand.detail.get("neighbour_of", ""))
        before = hit is not None and (cand.memory.occurred_at or 0) < (hit.occurred_at or 0)
        wanted[cand.memory.id] = voted or (ids[-1] if before else ids[0])
    rows = store.get_many(list(wanted.values()))
    out: list[Candidate] = []
    for cand in ranked:
        if not is_long_turn(cand.memory):
            out.append(cand)
            continue
        mem = rows.get(wanted.get(cand.memory.id, ""))
        if mem is None:
            if not by_message.get(cand.memory.meta["message_id"]):
                out.append(cand)           # no passages left: the turn itself
            continue
        if not still_part_of(mem, cand.memory):
            out.append(cand)               # the turn was edited since: its new text
            continue
        if mem.id in excluded or mem.id in present or not visible(mem):
            continue
        present.add(mem.id)
        out.append(Candidate(mem, cand.score, cand.reason, {**cand.detail,
                                                            "passage_of": cand.memory.id}))
    return out
