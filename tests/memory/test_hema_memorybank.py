from __future__ import annotations

from datetime import UTC, datetime

from core.memory import hema, memorybank
from core.services.chat import ChatService
from core.services.memory_worker import MemoryWorker

DAY = 86400.0


def test_running_summary_is_one_sentence_updated_each_turn_with_history(engram) -> None:
    from tests.memory.conftest import default_script
    from tests.memory.fake_llm import ScriptedFakeLLM

    def script(messages, params):
        prompt = messages[-1].content
        if "running summary" in prompt:
            if "Which week" in prompt:
                return "The user plans a trip to Porto and asks which week is best. Extra."
            return "The user plans a trip to Porto. Extra sentence."
        return default_script(messages, params)

    fake_llm = ScriptedFakeLLM(script)
    service = ChatService(engram, fake_llm)
    conv = engram.conversations.create("c")
    worker = MemoryWorker(engram, lambda: fake_llm)
    for text in ("We plan a trip to Porto", "Which week is best?"):
        reply = service.send(conv.id, text)
        worker.run_until_idle()
    compact = hema.running_summary(engram, conv.id)
    # only the first sentence
    assert compact.text == "The user plans a trip to Porto and asks which week is best."
    assert (compact.kind, compact.scope, compact.conversation_id) == ("compact", "conversation",
                                                                    conv.id)
    events = engram.memories.events(compact.id)
    assert [e.event for e in events] == ["created", "edited"]
    assert {e.actor for e in events} == {"assistant"}
    prompts = [c[0][-1].content for c in fake_llm.calls if "running summary" in c[0][-1].content]
    assert "Which week is best?" in prompts[-1]
    assert "The user plans a trip to Porto." in prompts[-1]     # the earlier summary
    assert events[1].old_value == {"text": "The user plans a trip to Porto."}
    sources = {s["message_id"] for s in engram.memories.sources(compact.id)}
    assert reply.assistant_message.id in sources


def test_second_level_every_n_turns(engram, fake_llm) -> None:
    engram.settings.memory.hema_second_level_every = 2
    service = ChatService(engram, fake_llm)
    conv = engram.conversations.create("c")
    worker = MemoryWorker(engram, lambda: fake_llm)
    service.send(conv.id, "We plan a trip")
    worker.run_until_idle()
    assert not [m for m in engram.memories.list(kinds=["summary"]) if m.granularity == "conversation"]
    service.send(conv.id, "Porto in May")
    worker.run_until_idle()
    level2 = [m for m in engram.memories.list(kinds=["summary"]) if m.granularity == "conversation"]
    assert [m.text for m in level2] == ["The user said Happy to help."]
    asked = [c[0][-1].content for c in fake_llm.calls if "successive parts" in c[0][-1].content]
    assert asked and "- The user said Happy to help." in asked[0]   # the running sentence


def test_age_weighted_pruning_is_reversible_and_audited(engram) -> None:
    now = 400 * DAY

    def turn(text: str, age_days: float, **kw):
        at = now - age_days * DAY            # said then, and stored by Engram then
        return engram.memories.create("episodic", text, actor="user", granularity="turn",
                                      occurred_at=at, created_at=at, **kw)

    old_chatter = turn("User: ok thanks", 200)
    old_rich = turn("User: My grandmother taught me to bake rye bread in her Lisbon kitchen "
                    "every winter before the family moved north", 200)
    recent = turn("User: ok", 2)
    pinned = turn("User: yes", 300, pinned=True)
    assert hema.prune_old_chunks(engram, now=now) == [old_chatter.id]
    for mem in (old_rich, recent, pinned):
        assert engram.memories.get(mem.id).status == "active"
    event = engram.memories.events(old_chatter.id)[-1]
    assert (event.event, event.actor) == ("forgotten", "policy") and "HEMA" in event.note
    engram.memories.restore(old_chatter.id)
    assert engram.memories.get(old_chatter.id).status == "active"


def test_an_imported_archive_is_aged_from_when_engram_got_it(engram) -> None:
    """Three-year-old chatter imported today is kept today; held a year unused, it goes."""
    imported = 1_000 * DAY
    said = imported - 3 * 365 * DAY
    chatter = engram.memories.create("episodic", "Caroline: Wow! Did you see that band?",
                                     actor="import", granularity="turn", occurred_at=said,
                                     created_at=imported)
    assert hema.prune_old_chunks(engram, now=imported + DAY) == []
    assert engram.memories.get(chatter.id).status == "active"
    assert hema.prune_old_chunks(engram, now=imported + 400 * DAY) == [chatter.id]


def test_memorybank_sweep_forgets_faded_memories_but_not_pinned_or_recalled(engram) -> None:
    t0 = 1000 * DAY
    faded = engram.memories.create("episodic", "User: a", actor="user", created_at=t0)
    kept = engram.memories.create("episodic", "User: b", actor="user", created_at=t0)
    pinned = engram.memories.create("thought", "c", actor="user", created_at=t0, pinned=True)
    summary = engram.memories.create("summary", "d", actor="assistant", created_at=t0)
    for day in (1, 2, 3, 4):   # recalled four times: S = 5
        engram.memories.record_recall([kept.id], at=t0 + day * DAY)
    now = t0 + 7 * DAY        # faded: R = e^-7 < 0.05; kept: R = e^-(3/5) = 0.55
    assert memorybank.sweep(engram, now=now, threshold=0.05) == [faded.id]
    for mem in (kept, pinned, summary):
        assert engram.memories.get(mem.id).status == "active"
    event = engram.memories.events(faded.id)[-1]
    assert (event.event, event.actor) == ("forgotten", "policy")
    assert "MemoryBank" in event.note
    engram.memories.restore(faded.id)
    assert engram.memories.get(faded.id).status == "active"


def test_daily_summaries_global_summary_and_portrait(engram, fake_llm, say) -> None:
    day = datetime(2024, 3, 5, 10, tzinfo=UTC).timestamp()
    conv = engram.conversations.create("c")
    u = say(conv.id, "user", "I booked flights to Porto", created_at=day)
    say(conv.id, "assistant", "Have a great trip", created_at=day + 60)
    worker = MemoryWorker(engram, lambda: fake_llm)
    engram.jobs.enqueue("maintenance", {})
    worker.run_until_idle()
    daily = [m for m in engram.memories.list(kinds=["summary"]) if m.granularity == "day"]
    assert [(m.text, m.meta["date"]) for m in daily] == [("The user booked flights to Porto.",
                                                          "2024-03-05")]
    assert u.id in {s["message_id"] for s in engram.memories.sources(daily[0].id)}
    day_prompt = [c[0][-1].content for c in fake_llm.calls
                  if "Summarise the events" in c[0][-1].content][0]
    assert "I booked flights to Porto" in day_prompt
    kinds = {(m.kind, m.granularity): m.text for m in engram.memories.list(limit=None)}
    assert kinds[("summary", "global")] == "The user booked flights to Porto."
    assert kinds[("portrait", "day")] == "The user likes flights to Porto."
    assert kinds[("portrait", "overall")] == "The user books flights to Porto."
    # the portrait and the global summary open the next prompt
    from core.services.chat import ChatService
    ChatService(engram, fake_llm).send(conv.id, "hello again")
    system = fake_llm.calls[-1][0][0].content
    assert "The user books flights to Porto." in system
    assert "The user booked flights to Porto." in system
    # a second maintenance pass does not summarise the same day again
    engram.jobs.enqueue("maintenance", {})
    worker.run_until_idle()
    assert len([m for m in engram.memories.list(kinds=["summary"])
                if m.granularity == "day"]) == 1


def test_maintenance_sweeps_only_when_the_user_turned_forgetting_on(engram) -> None:
    from core.base import clock

    old = engram.memories.create(   # two months old, never recalled: R = e^-60
        "episodic", "User: I adopted a grey cat named Miso from the shelter in Porto",
        actor="user", created_at=clock.now() - 60 * DAY)
    worker = MemoryWorker(engram, lambda: None)
    assert engram.settings.memory.forgetting_sweep is False   # the default keeps everything
    engram.jobs.enqueue("maintenance", {})
    worker.run_until_idle()
    assert engram.memories.get(old.id).status == "active"
    engram.settings.memory.forgetting_sweep = True
    engram.jobs.enqueue("maintenance", {})
    worker.run_until_idle()
    assert engram.memories.get(old.id).status == "forgotten"
