from __future__ import annotations

from core.base.llm import approx_tokens
from core.memory.retrieval import RetrievalParams, Retriever, lexical_query, retention


def retriever(engram) -> Retriever:
    engram.index_sync.sync()
    return Retriever(engram.memories, engram.index, engram.embedder)


def chat(say, conv_id, lines):
    return [say(conv_id, "user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(lines)]


LINES = [
    "I started learning the cello last month", "How are the lessons going?",
    "Slowly, my teacher is called Ingrid", "That is a nice name",
    "We are moving to Rotterdam in June", "Exciting! Do you have a flat yet?",
    "Yes, near the Kralingse lake", "You will love running around it",
    "My brother Tomas works as a nurse", "Nursing is demanding work",
]


def test_hybrid_finds_by_words_and_by_meaning_with_a_trace(engram, say) -> None:
    conv = engram.conversations.create("life")
    chat(say, conv.id, LINES)
    r = retriever(engram)
    by_words = r.retrieve("Ingrid", budget_tokens=2000)
    assert by_words.selected[0].memory.text == "User: Slowly, my teacher is called Ingrid"
    assert "words" in by_words.selected[0].reason
    by_meaning = r.retrieve("Which city will the family relocate to?", budget_tokens=2000)
    top = [c.memory.text for c in by_meaning.ranked[:5]]
    assert "User: We are moving to Rotterdam in June" in top
    detail = by_meaning.ranked[0].detail
    assert {"rrf", "ranks", "retention", "age_days"} <= set(detail)
    # windows never go into a prompt themselves
    assert all(c.memory.granularity != "window" for c in by_meaning.ranked)


def test_budget_neighbours_and_dedupe(engram, say) -> None:
    conv = engram.conversations.create("life")
    msgs = chat(say, conv.id, LINES)
    r = retriever(engram)
    result = r.retrieve("teacher Ingrid", budget_tokens=30)
    assert result.used_tokens <= 30 and sum(c.cost for c in result.selected) == result.used_tokens
    assert all(c.cost == approx_tokens(c.text) for c in result.ranked)
    ranked = r.retrieve("teacher Ingrid", budget_tokens=5000).ranked
    texts = [c.memory.text for c in ranked]
    assert len(texts) == len(set(texts))
    hit = texts.index("User: Slowly, my teacher is called Ingrid")
    assert hit == 0
    # with few candidates, the best turn brings its neighbours right after it
    narrow = Retriever(engram.memories, engram.index, engram.embedder,
                       RetrievalParams(dense_k=1, lexical_k=1)).retrieve("teacher Ingrid")
    assert narrow.ranked[0].memory.text == "User: Slowly, my teacher is called Ingrid"
    after = narrow.ranked[1:3]
    assert {c.memory.meta["message_id"] for c in after} == {msgs[1].id, msgs[3].id}
    assert {c.reason for c in after} == {"neighbour"}
    assert after[0].detail["neighbour_of"] == narrow.ranked[0].memory.id
    excluded = r.retrieve("teacher Ingrid", exclude_message_ids={msgs[2].id}).ranked
    assert "User: Slowly, my teacher is called Ingrid" not in [c.memory.text for c in excluded]


def test_scope_status_and_pinned(engram, say) -> None:
    a = engram.conversations.create("a")
    b = engram.conversations.create("b")
    chat(say, a.id, LINES[:4])
    local = engram.memories.create("fact", "The cello is rented from Ingrid's shop",
                                   actor="user", scope="conversation", conversation_id=a.id)
    always = engram.memories.create("fact", "Always answer in English", actor="user")
    engram.memories.set_always_include(always.id, True)
    # pinned only keeps a memory from fading: it is not sent with every message (issue 15)
    kept = engram.memories.create("fact", "Likes waffles with cream", actor="user",
                                  pinned=True)
    r = retriever(engram)
    seen_from_b = [c.memory.id for c in r.retrieve("Ingrid cello", conversation_id=b.id).ranked]
    seen_from_a = [c.memory.id for c in r.retrieve("Ingrid cello", conversation_id=a.id).ranked]
    assert local.id in seen_from_a and local.id not in seen_from_b
    assert seen_from_b[0] == always.id and seen_from_a[0] == always.id
    reasons = {c.memory.id: c.reason for c in r.retrieve("Ingrid cello").ranked}
    assert reasons[always.id] == "always included"
    assert reasons.get(kept.id, "not found") != "always included"
    # forgetting is honoured at once, even before the index is synced again
    target = [c for c in r.retrieve("Ingrid").ranked if "Ingrid" in c.memory.text
              and c.memory.kind == "episodic"][0]
    engram.memories.forget(target.memory.id)
    assert target.memory.id not in [c.memory.id for c in r.retrieve("Ingrid").ranked]


def test_retention_is_the_memorybank_curve(engram) -> None:
    mem = engram.memories.create("episodic", "x", actor="user", created_at=0.0)
    assert abs(retention(mem, 86400.0) - 0.36787944) < 1e-6      # e^-1 after a day, S = 1
    engram.memories.record_recall([mem.id], at=86400.0)
    mem = engram.memories.get(mem.id)
    assert abs(retention(mem, 86400.0 * 3) - 0.36787944) < 1e-6  # S = 2, two days later
    assert lexical_query("What did the cat eat?") == '"cat" OR "eat"'


def test_past_the_match_cap_memories_with_all_the_words_come_first(engram) -> None:
    texts = ["garden shed key under the red pot", "garden party on Sunday",
             "shed roof leaks again", "the key to the car is lost", "red garden gloves"]
    texts += [f"garden note {i}" for i in range(30)]
    mems = {t: engram.memories.create("fact", t, actor="user") for t in texts}
    exact = Retriever(engram.memories, engram.index, engram.embedder)
    capped = Retriever(engram.memories, engram.index, engram.embedder,
                       RetrievalParams(lexical_k=4, lexical_match_cap=3))
    query = "where is the garden shed key?"
    full = exact._lexical(query, None)
    assert len(full) == 35                              # every memory with any of the words
    relaxed = capped._lexical(query, None)
    # stages: shed+key+garden (1), shed+key (the same), shed (+1), key (+1), garden (+1 = k)
    ids = [mid for mid, _ in relaxed]
    assert ids[0] == mems["garden shed key under the red pot"].id == full[0][0]
    rare = {mems[t].id for t in ("garden shed key under the red pot", "shed roof leaks again",
                                 "the key to the car is lost")}
    assert set(ids[:3]) == rare and len(set(ids)) == 4
