"""Time in the question, and newer statements over older ones."""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from core.memory.candidates import Candidate
from core.memory.rerank import time_boost, updates_win
from core.memory.when import time_hint
from core.store.memories import Memory

NOW = datetime(2023, 5, 30, 23, 0, tzinfo=UTC).timestamp()     # a Tuesday


def day(text: str | None) -> str | None:
    return datetime.fromtimestamp(text, tz=UTC).strftime("%Y-%m-%d") if text else None


@pytest.mark.parametrize(("question", "start", "end", "explicit"), [
    ("What did I bake in the past two weeks?", "2023-05-16", "2023-05-30", False),
    ("What milestone did I mention four weeks ago?", "2023-04-22", "2023-05-12", False),
    ("What did I do yesterday?", "2023-05-29", "2023-05-30", True),
    ("Where did I go last Saturday?", "2023-05-26", "2023-05-29", True),
    ("What did we talk about last week?", "2023-05-21", "2023-05-30", False),
    ("Which airline did I fly on Valentine's Day?", "2023-02-12", "2023-02-17", True),
    ("What did I buy in February?", "2023-02-01", "2023-03-01", True),
    ("What did I plant in June?", "2022-06-01", "2022-07-01", True),   # June is yet to come
    ("What happened on 3 May?", "2023-05-02", "2023-05-05", True),
    ("What did I read in 2022?", "2022-01-01", "2023-01-01", True),
    ("Was habe ich gestern gesagt?", "2023-05-29", "2023-05-30", True),
    ("Qu'est-ce que j'ai fait il y a deux semaines ?", "2023-05-11", "2023-05-21", False),
    ("¿Qué hice la semana pasada?", "2023-05-21", "2023-05-30", False),
])
def test_time_ranges(question, start, end, explicit) -> None:
    hint = time_hint(question, NOW)
    assert hint is not None and (day(hint.start), day(hint.end)) == (start, end)
    assert hint.explicit is explicit


def test_orderings_and_what_gives_no_hint() -> None:
    assert time_hint("When did I first meet Anna?", NOW).order == "older"
    assert time_hint("How often do I play tennis now?", NOW).order == "newer"
    # "first, A or B?" asks to compare both ends: no ordering
    assert time_hint("Which came first, the bike or the car?", NOW) is None
    for question in ("Where do I live?", "In may I ask something?", "before my trip"):
        assert time_hint(question, NOW) is None, question


def memory(mid: str, when: float, role: str = "user") -> Memory:
    return Memory(mid, "episodic", mid, "global", "c", "active", False, 1.0, None, when, when,
                  when, 1, 1, None, None, "turn", {"role": role})


def cand(mid: str, score: float, when: float, role: str = "user") -> Candidate:
    return Candidate(memory(mid, when, role), score, "matched", {})


def test_time_boost_raises_what_is_in_range_and_the_asked_end() -> None:
    inside = cand("inside", 0.10, datetime(2023, 5, 20, tzinfo=UTC).timestamp())
    outside = cand("outside", 0.15, datetime(2023, 1, 20, tzinfo=UTC).timestamp())
    time_boost([outside, inside], time_hint("What did I bake in the past two weeks?", NOW),
               range_weight=0.5, explicit_weight=1.0, order_weight=0.3, order_top=30)
    assert inside.score > outside.score and inside.detail["time"] == "in the past two weeks"
    old, new = cand("old", 0.1, NOW - 90 * 86400), cand("new", 0.1, NOW - 86400)
    time_boost([old, new], time_hint("When did I first go climbing?", NOW),
               range_weight=0.5, explicit_weight=1.0, order_weight=0.3, order_top=30)
    assert old.score > new.score


def test_newer_statement_ranks_above_the_older_one_it_updates() -> None:
    rng = np.random.default_rng(1)
    topic, other = rng.normal(size=8), rng.normal(size=8)
    old = cand("I live in Ghent", 0.3, NOW - 200 * 86400)
    unrelated = cand("I like tea", 0.25, NOW - 10 * 86400)
    new = cand("I moved to Antwerp", 0.2, NOW - 5 * 86400)
    said_back = cand("Antwerp is lovely", 0.1, NOW - 4 * 86400, role="assistant")
    vectors = {"I live in Ghent": topic, "I moved to Antwerp": topic + 0.1 * other,
               "I like tea": other, "Antwerp is lovely": topic}
    ranked = updates_win([old, unrelated, new, said_back], vectors, similarity=0.8)
    assert [c.memory.id for c in ranked] == ["I moved to Antwerp", "I live in Ghent",
                                            "I like tea", "Antwerp is lovely"]
    assert old.detail["superseded_by"] == "I moved to Antwerp"
    assert "superseded_by" not in new.detail
    # the assistant's line is the other side of the conversation: no update of the person's
    assert "superseded_by" not in unrelated.detail and "superseded_by" not in said_back.detail
