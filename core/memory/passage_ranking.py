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


def into_passages(store: MemoryStore, scored: list[Candidate], visible: Visible,
                  excluded: set[str]) -> list[Candidate]:
    """A long message's turn is not put into a prompt (it would cost hundreds of tokens
    and MiniLM read only its start): what the turn scored (itself, its windows, its
    facts) goes to its best-scored passage, or to its first passage when none of them
    matched. A turn whose passages are all gone (forgotten) stays itself."""
    long_turns = [c for c in scored if is_long_turn(c.memory)]
    if not long_turns:
        return scored
    by_message = store.passages_of([c.memory.meta["message_id"] for c in long_turns])
    present = {c.memory.id: c for c in scored}
    firsts = [ids[0] for ids in by_message.values() if ids and ids[0] not in present]
    rows = store.get_many(firsts)
    out = [c for c in scored if not is_long_turn(c.memory)]
    for turn in long_turns:
        ids = by_message.get(turn.memory.meta["message_id"], [])
        own = [present[i] for i in ids if i in present]
        if own:
            best = max(own, key=lambda c: c.score)
            best.score += turn.score
            best.detail["message"] = {"turn": turn.memory.id, "rrf": turn.detail.get("rrf"),
                                      "ranks": turn.detail.get("ranks")}
            best.reason += "; its message " + turn.reason
            continue
        first = rows.get(ids[0]) if ids else None
        if (first is None or first.id in excluded
                or not visible(first)):
            out.append(turn)
            continue
        present[first.id] = cand = Candidate(
            first, turn.score, turn.reason + " (the message; its first passage)",
            {**turn.detail, "passage_of": turn.memory.id})
        out.append(cand)
    return out

def neighbour_passages(store: MemoryStore, ranked: list[Candidate], visible: Visible,
                       excluded: set[str]) -> list[Candidate]:
    """A long neighbour turn is replaced, in its place, by the passage nearest its hit:
    its last passage when it came before the hit, its first when after."""
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
        hit = hits.get(cand.detail.get("neighbour_of", ""))
        before = hit is not None and (cand.memory.occurred_at or 0) < (hit.occurred_at or 0)
        wanted[cand.memory.id] = ids[-1] if before else ids[0]
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
        if mem.id in excluded or mem.id in present or not visible(mem):
            continue
        present.add(mem.id)
        out.append(Candidate(mem, cand.score, cand.reason, {**cand.detail,
                                                            "passage_of": cand.memory.id}))
    return out
