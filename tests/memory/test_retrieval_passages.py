"""Long messages are remembered as passages; the prompt gets the passage that matched, with
its date and speaker, not the whole message; purge and provenance stay per message."""
from __future__ import annotations

from core.base.llm import approx_tokens
from core.memory.passages import LONG_WORDS, PASSAGE_WORDS, split_passages
from core.memory.retrieval import Retriever

FILLER = ("The committee reviewed the quarterly figures and discussed the schedule for the "
          "coming weeks in some detail. ")


def long_answer() -> str:
    """About 500 words, with one distinctive sentence two thirds of the way in."""
    parts = [FILLER] * 30 + ["Your sister Henrike keeps her sailboat moored at Kinsale harbour. "]
    return "".join(parts + [FILLER] * 14)


def test_split_passages_fit_the_window_and_keep_every_word() -> None:
    text = long_answer()
    passages = split_passages(text)
    assert len(passages) >= 4
    assert all(len(p.split()) <= PASSAGE_WORDS + 30 for p in passages)   # a short tail may join
    joined = " ".join(passages).split()
    assert set(text.split()) <= set(joined)           # nothing is lost
    assert len(joined) < 1.4 * len(text.split())      # the overlap stays small
    short = "I adopted a grey cat called Miso."
    assert split_passages(short) == [short]
    one_block = " ".join(["word"] * (LONG_WORDS + 200))   # no sentence ends at all
    assert all(len(p.split()) <= PASSAGE_WORDS + 30 for p in split_passages(one_block))


def test_prompt_gets_the_matching_passage_not_the_message(engram, say) -> None:
    conv = engram.conversations.create("sailing")
    say(conv.id, "assistant", "What did the meeting notes say?")
    answer = say(conv.id, "user", long_answer())      # a person pasting a long text
    say(conv.id, "assistant", "Thanks, that is very helpful.")
    passages = [m for m in engram.memories.list(limit=100) if m.granularity == "passage"]
    assert len(passages) >= 4
    assert {m.meta["message_id"] for m in passages} == {answer.id}
    turn = engram.memories.get(engram.memories.turn_of_message(answer.id))
    assert turn.meta["passages"] == len(passages)

    engram.index_sync.sync()
    result = Retriever(engram.memories, engram.index, engram.embedder).retrieve(
        "Henrike sailboat Kinsale", budget_tokens=1000)
    top = result.selected[0]
    assert top.memory.granularity == "passage"
    assert "Kinsale harbour" in top.memory.text
    assert top.text.startswith("[") and "] User: " in top.text     # date and speaker
    # the whole message would cost ~650 tokens; the passage about a quarter of that
    assert top.cost < approx_tokens(turn.text) / 3
    # the long turn itself never goes into a prompt while its passages exist
    assert all(c.memory.id != turn.id for c in result.ranked)


def test_purging_a_passage_purges_its_message_and_every_passage(engram, say) -> None:
    from core.services.purge import purge_memories

    conv = engram.conversations.create("sailing")
    answer = say(conv.id, "assistant", long_answer())
    engram.index_sync.sync()
    passages = [m.id for m in engram.memories.list(limit=100) if m.granularity == "passage"]
    turn = engram.memories.turn_of_message(answer.id)
    # provenance: every passage cites the message it was cut from
    assert all(s["message_id"] == answer.id for p in passages
               for s in engram.memories.sources(p))
    purge_memories(engram, [passages[2]])
    gone = engram.memories.get_many([turn, *passages])
    assert {m.status for m in gone.values()} == {"purged"}
    assert "Kinsale" not in engram.conversations.get_message(answer.id).text


def test_a_named_participant_is_a_person_not_an_assistant(engram) -> None:
    """A two-person archive (LoCoMo) stores the second friend with role 'assistant': their
    turns and passages must not be ranked down or hidden as an AI's words."""
    from core.memory.episodic import remember_messages, said_by_assistant

    conv = engram.conversations.create("friends")
    add = engram.conversations.add_message
    ai = add(conv.id, "assistant", "An AI answer.")
    friend = add(conv.id, "assistant", long_answer(), parent_id=ai.id,
                 meta={"speaker": "Melanie", "author": "person"})
    remember_messages(engram.memories, [ai, friend], actor="import")
    mems = [m for m in engram.memories.list(limit=100) if m.granularity in ("turn", "passage")]
    of_friend = [m for m in mems if m.meta["message_id"] == friend.id]
    assert len(of_friend) >= 5 and not any(said_by_assistant(m) for m in of_friend)
    assert all(m.text.startswith("Melanie: ") for m in of_friend)
    assert said_by_assistant(next(m for m in mems if m.meta["message_id"] == ai.id))


def test_an_edited_long_turn_is_shown_with_its_new_text(engram, say) -> None:
    conv = engram.conversations.create("sailing")
    answer = say(conv.id, "user", long_answer())
    turn = engram.memories.turn_of_message(answer.id)
    engram.memories.edit(turn, "User: " + long_answer().replace("Kinsale", "Dingle"),
                         actor="user")
    engram.index_sync.sync()
    ranked = Retriever(engram.memories, engram.index, engram.embedder).retrieve(
        "Henrike sailboat Kinsale harbour", budget_tokens=4000).ranked
    shown = [c.text for c in ranked]
    # the passage holding the old words is never shown in place of the edited message
    assert not any("Kinsale" in t for t in shown)
    assert any("Dingle" in t for t in shown)


def test_a_long_reply_next_to_a_hit_comes_in_only_on_its_own_merit(engram, say) -> None:
    from core.memory.retrieval import RetrievalParams

    conv = engram.conversations.create("cat")
    hit = say(conv.id, "user", "My grey cat Miso turned four today.")
    say(conv.id, "assistant", long_answer())           # about committees, not cats
    engram.index_sync.sync()
    narrow = RetrievalParams(dense_k=1, lexical_k=1)
    ranked = Retriever(engram.memories, engram.index, engram.embedder, narrow).retrieve(
        "Miso grey cat").ranked
    assert ranked[0].memory.meta["message_id"] == hit.id
    assert all(c.reason != "neighbour" for c in ranked)
    # the LoCoMo habit, measurable: the reply follows as its nearest passage
    follow = RetrievalParams(dense_k=1, lexical_k=1, long_neighbours=True)
    ranked = Retriever(engram.memories, engram.index, engram.embedder, follow).retrieve(
        "Miso grey cat").ranked
    after = [c for c in ranked if c.reason == "neighbour"]
    assert len(after) == 1 and after[0].memory.granularity == "passage"
    assert after[0].memory.meta["part"] == 0 and after[0].cost < 250
