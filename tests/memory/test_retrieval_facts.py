"""A fact and the turn it was taken from are one memory twice: the better ranked one stays."""
from __future__ import annotations

from core.memory.candidates import Candidate, dedupe
from core.store.memories import Memory


def mem(mid: str, kind: str, granularity: str | None, **meta) -> Memory:
    return Memory(mid, kind, f"text of {mid}", "global", "c", "active", False, 1.0, None, 1.0,
                  1.0, 1.0, 1, 1, None, None, granularity, meta)


def ids(ranked: list[Candidate]) -> list[str]:
    return [c.memory.id for c in ranked]


def test_fact_and_its_turn_keep_the_better_ranked() -> None:
    turn = Candidate(mem("t1", "episodic", "turn", message_id="m1"), 0.5, "", {})
    fact = Candidate(mem("f1", "fact", None, turn="t1"), 0.4, "", {})
    other_fact = Candidate(mem("f2", "fact", None, turn="t9"), 0.3, "", {})
    passage_after = Candidate(mem("p9", "episodic", "passage", turn="t9"), 0.2, "", {})
    assert ids(dedupe([turn, fact, other_fact, passage_after], set())) == ["t1", "f2"]
    assert ids(dedupe([fact, turn], set())) == ["f1"]
    # two passages of one message are different parts: both stay
    p1 = Candidate(mem("p1", "episodic", "passage", turn="t5", part=0), 0.2, "", {})
    p2 = Candidate(mem("p2", "episodic", "passage", turn="t5", part=1), 0.1, "", {})
    assert ids(dedupe([p1, p2], set())) == ["p1", "p2"]
    # the measured alternative: both kept
    assert ids(dedupe([turn, fact], set(), facts_with_turns=True)) == ["t1", "f1"]
