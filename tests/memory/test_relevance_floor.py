"""The relevance floor (core.memory.relevance), with the real embedder: what an imported archive
holds that is not about the question stays out of the prompt; what is about it, by meaning,
by words or by its time, and what the person asked to always include, stays in."""
from __future__ import annotations

from datetime import UTC, datetime

from core.memory.retrieval import RetrievalParams, Retriever

# turns of the archive samples in ../shared/data/archives (general questions to a chatbot)
IMPORTED = [("user", "What is an ecosystem"),
            ("assistant", "An ecosystem is a community of living things and their environment."),
            ("user", "what was the ruling in the US called where you can't be tried twice"),
            ("user", "fuel consumption of vw"),
            ("user", "Can you explain how photosynthesis works in simple terms?"),
            ("user", "tell me a joke"),
            ("user", "How do I write a function in JavaScript?")]
MINE = ["Hi! My name is Lena and I live in Ghent. I have a dog named Pixel.",
        "I work as a nurse, mostly night shifts.",
        "My favourite food is ramen."]
SATURDAY = datetime(2026, 11, 28, 15, tzinfo=UTC).timestamp()


def _store(engram, say) -> None:
    old = engram.conversations.create("Imported", created_at=1_700_000_000)
    for role, text in IMPORTED:
        say(old.id, role, text)
    me = engram.conversations.create("Me")
    for text in MINE:
        say(me.id, "user", text)
    engram.index_sync.sync()


def _texts(result) -> list[str]:
    return [c.memory.text.split(": ", 1)[-1] for c in result.selected]


def _retrieve(engram, question: str, floor: float, **kw):
    params = RetrievalParams(relevance_floor=floor)
    return Retriever(engram.memories, engram.index, engram.embedder, params).retrieve(
        question, budget_tokens=1000, **kw)


def test_what_is_not_about_the_question_stays_out(engram, say) -> None:
    _store(engram, say)
    unfiltered = _texts(_retrieve(engram, "What is my dog called?", 0.0))
    assert {t for _, t in IMPORTED} & set(unfiltered)        # without it, the archive comes in
    kept = _retrieve(engram, "What is my dog called?", 0.25)
    assert MINE[0] in _texts(kept)
    assert not {t for _, t in IMPORTED} & set(_texts(kept))
    assert all(c.detail["cosine"] >= 0.25 for c in kept.selected if c.reason != "neighbour")
    assert _texts(_retrieve(engram, "Tell me a joke", 0.25))[0] == "tell me a joke"


def test_a_match_by_words_alone_is_judged_by_its_own_vector(engram, say) -> None:
    _store(engram, say)
    narrow = RetrievalParams(relevance_floor=0.25, dense_k=1)   # the rest comes by words only
    result = Retriever(engram.memories, engram.index, engram.embedder, narrow).retrieve(
        "Where do I work as a nurse, and what food do I like?", budget_tokens=1000)
    assert {MINE[1], MINE[2]} <= set(_texts(result))
    by_words = [c for c in result.ranked if c.reason != "neighbour"
                and not any(k.startswith("dense") for k in c.detail["raw"])]
    assert by_words and all(c.detail["cosine"] >= 0.25 for c in by_words)
    vector = engram.embedder.encode_one("Where do I work as a nurse, and what food do I like?")
    stored = engram.index.get_embeddings([by_words[0].memory.id])[by_words[0].memory.id]
    assert abs(float(vector @ stored) - by_words[0].detail["cosine"]) < 1e-3


def test_the_questions_time_and_always_include_pass_the_floor(engram, say) -> None:
    conv = engram.conversations.create("Week")
    market = say(conv.id, "user", "Went to the flea market with Ana", created_at=SATURDAY)
    say(conv.id, "user", "Went to the flea market with Ana again",
        created_at=SATURDAY - 20 * 86400)
    engram.index_sync.sync()
    asked = datetime(2026, 12, 2, 10, tzinfo=UTC).timestamp()
    result = _retrieve(engram, "What did I do last Saturday at the market?", 0.95, now=asked)
    hits = [c for c in result.selected if c.reason != "neighbour"]   # its context follows it
    assert [c.memory.meta.get("message_id") for c in hits] == [market.id]
    assert hits[0].detail["cosine"] < 0.95 and hits[0].detail["time"]
    always = engram.memories.create("fact", "Lena prefers short answers.", actor="user")
    engram.memories.set_always_include(always.id, True)
    engram.index_sync.sync()
    assert always.id in [c.memory.id for c in _retrieve(engram, "short answers", 0.99).selected]


def test_the_default_floor_keeps_the_archive_out_of_a_personal_question(engram, say) -> None:
    _store(engram, say)
    result = Retriever(engram.memories, engram.index, engram.embedder).retrieve(
        "What is my dog called?", budget_tokens=1000)
    assert RetrievalParams().relevance_floor > 0
    assert MINE[0] in _texts(result)
    assert not {t for _, t in IMPORTED} & set(_texts(result))


def test_an_index_that_fails_after_its_query_leaves_the_floor_out_not_the_turn(engram,
                                                                              say) -> None:
    from core.index.vector_index import IndexDamaged

    _store(engram, say)

    class FailingReads:
        """The real index, whose vector reads fail after its query answered (a FAKE fault)."""

        def __init__(self, real) -> None:
            self.real = real

        def __getattr__(self, name):
            return getattr(self.real, name)

        def get_embeddings(self, ids):
            raise IndexDamaged("The vector index's files are damaged (test)")

    params = RetrievalParams(relevance_floor=0.25, dense_k=1, update_similarity=0)
    result = Retriever(engram.memories, FailingReads(engram.index), engram.embedder,
                       params).retrieve("Where do I work as a nurse?", budget_tokens=1000)
    unjudged = [c for c in result.ranked if c.reason != "neighbour" and c.detail["cosine"] is None]
    assert unjudged                          # found by words, kept though it could not be judged
    assert MINE[1] in _texts(result)
