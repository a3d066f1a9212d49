from __future__ import annotations

import pytest

from core.base.errors import EngramError
from core.services.chat import ChatService
from tests.memory.fake_llm import ScriptedFakeLLM


def retrievals(engram, message_id):
    return engram.db.execute(
        "SELECT memory_id, rank, reason FROM retrievals WHERE message_id = ? ORDER BY rank",
        [message_id]).fetchall()


def test_a_turn_stores_both_messages_memories_and_queues_follow_ups(engram, fake_llm) -> None:
    service = ChatService(engram, fake_llm)
    conv = engram.conversations.create("c")
    pieces: list[str] = []
    result = service.send(conv.id, "My sister lives in Ghent", on_token=pieces.append)
    assert result.text == "Happy to help." and "".join(pieces) == result.text
    assert result.mode == "full"
    thread = engram.conversations.thread(conv.id)
    assert [m.role for m in thread] == ["user", "assistant"]
    assert thread[1].id == result.assistant_message.id and thread[1].model == "scripted-fake"
    turns = [m.text for m in engram.memories.list(kinds=["episodic"], limit=None)
             if m.granularity == "turn"]
    assert sorted(turns) == ["Assistant: Happy to help.", "User: My sister lives in Ghent"]
    assert set(result.queued_jobs) == {"index_sync", "hema_update", "post_think"}
    queued = {(j.kind, j.needs_model) for j in engram.jobs.list(status="queued")}
    assert {("hema_update", True), ("post_think", True)} <= queued
    assert engram.index_sync.pending_count() == 0       # synced after the answer


def test_full_context_then_retrieval_with_a_stored_trace(engram, fake_llm) -> None:
    service = ChatService(engram, fake_llm)
    old = engram.conversations.create("old")
    service.send(old.id, "My sister Anneke lives in Ghent and teaches piano")
    new = engram.conversations.create("new")
    # small memory: everything fits, all of it goes in (Convomem's full context)
    first = service.send(new.id, "Who teaches piano?")
    assert first.mode == "full"
    assert "Anneke" in fake_llm.last_prompt()
    assert [t.reason for t in first.trace][:1] == ["full context"]
    # past the threshold: retrieval, memories right before the new message
    engram.settings.memory.full_context_tokens = 10
    second = service.send(new.id, "Where does Anneke live?")
    assert second.mode == "retrieval"
    last = fake_llm.calls[-1][0][-1]
    assert last.role == "user" and last.content.endswith("Where does Anneke live?")
    assert "Ghent" in last.content.split("Where does Anneke live?")[0]
    rows = retrievals(engram, second.assistant_message.id)
    assert rows and [r[1] for r in rows] == list(range(1, len(rows) + 1))
    assert [t.memory_id for t in service.trace(second.assistant_message.id)] == [r[0] for r in rows]
    used = engram.memories.get(rows[0][0])
    assert used.strength >= 2 and used.last_recalled_at is not None     # MemoryBank recall
    # the question itself is never "remembered" into its own prompt
    assert all("Where does Anneke live?" not in t.text for t in second.trace)


def test_incognito_reads_nothing_and_writes_nothing(engram, fake_llm) -> None:
    service = ChatService(engram, fake_llm)
    known = engram.conversations.create("known")
    service.send(known.id, "My password hint is a blue heron")
    before = engram.memories.count(statuses=None)
    jobs_before = engram.jobs.pending()
    secret = engram.conversations.create("secret", incognito=True)
    result = service.send(secret.id, "What is my password hint about a heron?")
    assert result.mode == "incognito" and result.trace == [] and result.queued_jobs == []
    assert "heron" not in fake_llm.calls[-1][0][0].content
    assert "blue heron" not in fake_llm.last_prompt()
    assert engram.memories.count(statuses=None) == before
    assert engram.jobs.pending() == jobs_before
    assert retrievals(engram, result.assistant_message.id) == []


def test_regenerate_and_edit_make_branches(engram) -> None:
    llm = ScriptedFakeLLM(["First answer", "Second answer", "Third answer"])
    service = ChatService(engram, llm)
    conv = engram.conversations.create("c")
    a1 = service.send(conv.id, "Name a colour")
    a2 = service.regenerate(a1.assistant_message.id)
    assert a2.assistant_message.parent_id == a1.user_message.id
    assert [m.text for m in engram.conversations.siblings(a2.assistant_message.id)] == [
        "First answer", "Second answer"]
    edited = service.edit_and_resend(a1.user_message.id, "Name a fruit")
    assert edited.user_message.parent_id is None and edited.user_message.branch == 1
    assert [m.text for m in engram.conversations.thread(conv.id)] == ["Name a fruit",
                                                                     "Third answer"]
    # the regenerated prompt did not contain the answer it replaces
    assert "First answer" not in "\n".join(m.content for m in llm.calls[1][0])
    with pytest.raises(EngramError):
        service.regenerate(a1.user_message.id)
    with pytest.raises(EngramError):
        service.send(conv.id, "   ")


def test_stop_callback_ends_the_answer_and_keeps_what_came(engram) -> None:
    llm = ScriptedFakeLLM(["one two three four five six"])
    service = ChatService(engram, llm)
    conv = engram.conversations.create("c")
    seen: list[str] = []
    result = service.send(conv.id, "count", on_token=seen.append,
                          should_stop=lambda: len(seen) >= 2)
    assert result.stopped and result.text == "one two"
    stored = engram.conversations.get_message(result.assistant_message.id)
    assert stored.text == "one two" and stored.meta["stopped"] is True


def test_a_base_model_chats_through_a_completion_frame(engram) -> None:
    """The scripted fake stands in for a base model: it is given a transcript to continue
    (the frame's opening, the memories as the person's words, "Engram:") and its reply stops at
    the end of its line."""
    llm = ScriptedFakeLLM(["Nice to meet you!", "Your dog is called Pixel."], kind="base")
    service = ChatService(engram, llm)
    first = engram.conversations.create("first")
    service.send(first.id, "Hi! I have a dog named Pixel.")
    result = service.send(engram.conversations.create("second").id, "What is my dog called?")
    prompt, params = llm.calls[-1][0][0].content, llm.calls[-1][1]
    assert prompt.startswith("Below are conversations between a person and Engram")
    assert prompt.endswith('the person said: "Hi! I have a dog named Pixel.")\n'
                           "Person: What is my dog called?\nEngram:")
    assert "You are Engram" not in prompt                   # no instruction to echo
    assert "Nice to meet you" not in prompt.split("(Engram remembers:")[-1]   # not its reply
    assert "\n" in params.stop and params.max_tokens <= 200 and params.temperature == 0.3
    assert result.text == "Your dog is called Pixel." and not result.cut


def test_a_reply_that_echoes_or_loops_is_cut_and_an_empty_one_drawn_again(engram) -> None:
    system = ("You are Engram, a private assistant that runs on this person's own computer. "
              "You remember earlier conversations")
    llm = ScriptedFakeLLM([system, "Sure. " + system, "Yes it is. Yes it is. Yes it is."])
    service = ChatService(engram, llm)
    conv = engram.conversations.create("c")
    result = service.send(conv.id, "Hello")                 # nothing but an echo, twice
    assert len(llm.calls) == 2 and result.text == "Sure."
    assert result.cut == "echo of the prompt"
    stored = engram.conversations.get_message(result.assistant_message.id)
    assert stored.text == "Sure." and stored.meta["cut"] == "echo of the prompt"
    looped = service.send(conv.id, "Is it?")
    assert looped.text == "Yes it is." and looped.cut == "loop"


def test_a_base_models_memories_are_the_persons_own_news_not_small_talk(engram) -> None:
    """An imported archive of chatbot use is full of "hi there" and "tell me a story": close
    in meaning to any vague message, and the base model repeated them. Neither they nor the
    very words being answered (said before in another chat) are shown as memories."""
    from core.memory.episodic import remember_messages

    old = engram.conversations.create("imported", created_at=1_700_000_000)
    for i, text in enumerate(["hi there", "hi again", "so cool bro", "tell me a story",
                              "Turn this into a bash command", "My sister Yasmin lives in Leeds.",
                              "Hi, I'm Omar, I teach maths."]):
        remember_messages(engram.memories, [engram.conversations.add_message(
            old.id, "user", text, created_at=1_700_000_000 + i)], actor="import")
    engram.index_sync.sync()
    llm = ScriptedFakeLLM(["Hello Omar!"], kind="base")
    ChatService(engram, llm).send(engram.conversations.create("new").id,
                                  "Hi, I'm Omar, I teach maths.")
    shown = llm.calls[-1][0][0].content.split("Engram remembers: ")[-1].split(")\n")[0]
    for noise in ("hi there", "hi again", "so cool bro", "tell me a story", "bash command"):
        assert noise not in shown, shown
    assert "Hi, I'm Omar, I teach maths." not in shown          # the message itself
    assert "My sister Yasmin lives in Leeds." in shown          # news about the person stays


def test_a_reply_that_says_the_persons_message_back_is_drawn_again(engram) -> None:
    """A base model continues the person's voice: "Hi, I'm Omar, I teach maths in Leeds." came
    back word for word. Such a reply is cut there and drawn again; quoting part of it is fine."""
    said = "Hi, I'm Omar, I teach maths in Leeds."
    llm = ScriptedFakeLLM(["I'm Omar, I teach maths in Leeds.", "Nice to meet you, Omar!",
                           "Learning to play the oud is a lovely idea."], kind="base")
    service = ChatService(engram, llm, sync_index=False)
    conv = engram.conversations.create("c")
    first = service.send(conv.id, said)
    assert first.text == "Nice to meet you, Omar!" and len(llm.calls) == 2
    second = service.send(conv.id, "I'm learning to play the oud.")
    assert second.text == "Learning to play the oud is a lovely idea." and not second.cut


def test_when_nothing_of_a_reply_is_kept_the_person_is_told_why(engram) -> None:
    from core.services.chat import withheld_text

    llm = ScriptedFakeLLM(["I'm saving up for a trip to Iceland."], kind="base")
    result = ChatService(engram, llm, sync_index=False).send(
        engram.conversations.create("c").id, "I'm saving up for a trip to Iceland.")
    assert result.text == "" and result.cut == "repeats the person's message"
    assert len(llm.calls) == 2                                  # it was drawn twice
    assert result.assistant_message.meta["cut"] == result.cut
    assert withheld_text(result.cut) == ("No reply kept: it only repeated your message. "
                                         "Regenerate (or send it again) to try again.")
