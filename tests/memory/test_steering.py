"""Issue 15: what a person's steering does. "Not relevant" on a memory used in an answer puts
it far down for similar questions and nowhere else; the assistant's own words rank below the
person's; "always include" is not "pinned"; the memory switch stops writing (and reading)."""
from __future__ import annotations

from core.memory.steering import similar_question
from core.services import memory_ops
from tests.memory.test_retrieval import chat, retriever


def _rank(result, memory_id: str) -> int:
    ids = [c.memory.id for c in result.ranked]
    return ids.index(memory_id) if memory_id in ids else len(ids)


def test_not_relevant_ranks_lower_for_similar_questions_only(engram, say) -> None:
    conv = engram.conversations.create("life")
    chat(say, conv.id, ["My teacher Ingrid plays the cello", "Nice",
                        "Ingrid also grows tomatoes in her garden", "Lovely"])
    r = retriever(engram)
    before = r.retrieve("What does Ingrid grow in the garden?")
    cello = next(c.memory for c in before.ranked if "cello" in c.memory.text)
    q = engram.conversations.add_message(conv.id, "user", "What does Ingrid grow in the garden?")
    a = engram.conversations.add_message(conv.id, "assistant", "Tomatoes.", parent_id=q.id)
    changes = memory_ops.feedback(engram, cello.id, a.id, "not_relevant")
    assert changes.memories == (cello.id,) and "not relevant" in changes.description
    after = r.retrieve("What does Ingrid grow in her garden?")
    assert _rank(after, cello.id) > _rank(before, cello.id)
    steered = next(c for c in after.ranked if c.memory.id == cello.id)
    assert steered.detail["steered"] <= 0.2
    other = r.retrieve("Which instrument does Ingrid play?")
    assert "steered" not in next(c for c in other.ranked if c.memory.id == cello.id).detail
    # the feedback keeps ids only: no words of the question are copied
    rows = engram.steering.feedback_of(cello.id)
    assert [row["verdict"] for row in rows] == ["not_relevant"]
    assert all("garden" not in str(v) for row in rows for v in row.values())


def test_similar_question_is_about_content_words() -> None:
    assert similar_question("What does Ingrid grow?", "what does ingrid grow in the garden")
    assert not similar_question("Where does Tomas work?", "What does Ingrid grow?")
    assert not similar_question("", "anything")


def test_the_assistants_words_rank_below_the_persons(engram, say) -> None:
    """The same claim, once invented by the assistant, once said by the person, in two
    chats that match the question alike: the person's is first."""
    mine = engram.conversations.create("mine")
    say(mine.id, "user", "I live in Ghent with my cat Theo")
    theirs = engram.conversations.create("theirs")
    say(theirs.id, "assistant", "You live in Amsterdam with your cat Theo")
    r = retriever(engram)
    ranked = r.retrieve("Where do I live with my cat Theo?").ranked
    person = next(c for c in ranked if c.memory.text.startswith("User: I live in Ghent"))
    model = next(c for c in ranked if c.memory.text.startswith("Assistant: You live"))
    assert model.detail.get("steered") == 0.7 and "steered" not in person.detail
    assert person.score > model.score and ranked.index(person) < ranked.index(model)


def test_always_include_is_apart_from_pinned_and_undoable(engram) -> None:
    mem = engram.memories.create("fact", "Answer in French", actor="user")
    memory_ops.pin(engram, [mem.id])
    assert not engram.memories.get(mem.id).always_include
    changes = memory_ops.always_include(engram, [mem.id])
    assert changes.description == "always include a memory"
    assert changes.undo == "always include a memory"
    assert engram.memories.get(mem.id).always_include
    memory_ops.undo(engram)
    after = engram.memories.get(mem.id)
    assert not after.always_include and after.pinned


def test_the_memory_switch_stops_writing_then_reading(engram, fake_llm) -> None:
    from core.services.chat import ChatService

    chat_service = ChatService(engram, fake_llm, sync_index=False)
    conv = engram.conversations.create("paused")
    memory_ops.pause(engram, 30)
    before = engram.memories.count(statuses=None)
    result = chat_service.send(conv.id, "My locker code is 4417")
    assert engram.memories.count(statuses=None) == before       # nothing new remembered
    assert result.mode != "off"                                   # still reads
    memory_ops.pause(engram, None, reading=True)
    assert chat_service.send(conv.id, "Anything?").mode == "off"
    memory_ops.resume(engram)
    chat_service.send(conv.id, "My bike is green")
    assert engram.memories.count(statuses=None) > before
    from core.base.settings import load_settings
    assert load_settings(engram.layout.settings_path).memory.paused_until == 0.0


def test_a_fact_that_led_retrieval_to_its_turn_counts_as_used(engram, say) -> None:
    """Issue 15: "Used in answers 0" for a fact that led retrieval. A fact votes for the turn
    it was taken from (the trace records the turn, with a *_fact signal): that is a use."""
    from core.services.provenance import provenance
    from core.store.retrievals import TraceItem

    conv = engram.conversations.create("pets")
    msg = say(conv.id, "user", "My dog is called Pixel")
    turn = engram.memories.turn_of_message(msg.id)
    fact = engram.memories.create("fact", "The user's dog is called Pixel.", actor="assistant",
                                  meta={"turn": turn})
    other = engram.memories.create("fact", "The user likes tea.", actor="assistant",
                                   meta={"turn": turn})
    q = engram.conversations.add_message(conv.id, "user", "What is my dog called?")
    a = engram.conversations.add_message(conv.id, "assistant", "Pixel.", parent_id=q.id)
    engram.retrievals.record(a.id, [TraceItem(turn, 1, 0.5, "meaning of a fact from it",
                                              detail={"ranks": {"dense_fact": 1}})])
    assert len(provenance(engram, fact.id)["used_by"]) == 1
    assert provenance(engram, fact.id)["used_by"][0]["via"] == "turn"
    # ... but a trace without a fact signal is the turn's own use, not every fact's
    b = engram.conversations.add_message(conv.id, "assistant", "Tea?", parent_id=q.id)
    engram.retrievals.record(b.id, [TraceItem(turn, 1, 0.5, "words",
                                              detail={"ranks": {"lexical": 1}})])
    assert len(provenance(engram, other.id)["used_by"]) == 1   # only the fact-led one


def test_a_second_person_of_a_dialogue_is_not_weighed_as_the_assistant(engram, say) -> None:
    """LoCoMo-style imports keep the second speaker as role "assistant" with meta.author
    "person": their words are a person's and rank as such."""
    conv = engram.conversations.create("friends")
    say(conv.id, "user", "Caroline: I went hiking yesterday")
    say(conv.id, "assistant", "Melanie: I painted a lake sunrise", meta={"author": "person"})
    r = retriever(engram)
    ranked = r.retrieve("Who painted a sunrise?").ranked
    melanie = next(c for c in ranked if "sunrise" in c.memory.text)
    assert "steered" not in melanie.detail
