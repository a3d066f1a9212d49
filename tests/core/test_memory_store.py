from __future__ import annotations

import pytest

from core.base.errors import EngramError
from core.store.memories import SourceRef


def test_every_change_is_written_with_its_audit_event(engram) -> None:
    conv = engram.conversations.create("trip")
    msg = engram.conversations.add_message(conv.id, "user", "I am going to Lisbon in May")
    mem = engram.memories.create(
        "fact", "User travels to Lisbon in May", actor="assistant",
        sources=[SourceRef(message_id=msg.id, conversation_id=conv.id)])
    engram.memories.edit(mem.id, "User travels to Porto in May", actor="user")
    engram.memories.set_pinned(mem.id, True)
    engram.memories.forget(mem.id)
    engram.memories.restore(mem.id)
    events = engram.memories.events(mem.id)
    assert [e.event for e in events] == ["created", "edited", "pinned", "forgotten", "restored"]
    assert events[1].old_value == {"text": "User travels to Lisbon in May"}
    assert events[1].new_value == {"text": "User travels to Porto in May"}
    assert events[1].actor == "user" and events[0].actor == "assistant"
    final = engram.memories.get(mem.id)
    assert (final.version, final.status, final.pinned) == (5, "active", True)
    assert engram.memories.sources(mem.id)[0]["message_id"] == msg.id


def test_a_failed_change_writes_neither_row_nor_event(engram, monkeypatch) -> None:
    mem = engram.memories.create("fact", "original", actor="user")
    store = engram.memories

    def failing_event(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_event", failing_event)
    with pytest.raises(RuntimeError):
        store.edit(mem.id, "changed")
    monkeypatch.undo()
    assert store.get(mem.id).text == "original"
    assert [e.event for e in store.events(mem.id)] == ["created"]


def test_restore_version_puts_back_an_old_text(engram) -> None:
    mem = engram.memories.create("fact", "v1", actor="user")
    engram.memories.edit(mem.id, "v2")
    engram.memories.edit(mem.id, "v3")
    first_edit = [e for e in engram.memories.events(mem.id) if e.event == "edited"][0]
    assert engram.memories.restore_version(mem.id, first_edit.id).text == "v1"


def test_recall_strengthens_and_resets_the_clock(engram) -> None:
    mem = engram.memories.create("episodic", "likes tea", actor="assistant")
    engram.memories.record_recall([mem.id, mem.id], at=1000.0)
    got = engram.memories.get(mem.id)
    assert (got.strength, got.last_recalled_at) == (2.0, 1000.0)


def test_purge_leaves_only_a_tombstone(engram) -> None:
    mem = engram.memories.create("fact", "secret-marker-7731", actor="user")
    engram.memories.edit(mem.id, "secret-marker-7731 edited")
    engram.memories.purge_rows(mem.id)
    got = engram.memories.get(mem.id)
    assert (got.text, got.status) == ("", "purged")
    dump = "\n".join(engram.db.conn.iterdump())
    assert "secret-marker-7731" not in dump
    events = engram.memories.events(mem.id)
    assert events[-1].event == "purged" and events[-1].actor == "user"
    assert all(e.old_value is None and e.new_value is None for e in events)
    with pytest.raises(EngramError, match="purged"):
        engram.memories.restore(mem.id)


def test_full_text_search_and_filters(engram) -> None:
    a = engram.memories.create("fact", "The cat is called Miso", actor="user")
    engram.memories.create("thought", "Prefers green tea", actor="assistant")
    assert [m.id for m in engram.memories.list(text="miso")] == [a.id]
    assert engram.memories.count(kinds=["thought"]) == 1
    engram.memories.forget(a.id)
    assert engram.memories.list(text="miso") == []
    assert engram.memories.count(statuses=["forgotten"]) == 1


def test_bad_kind_scope_and_actor_are_refused(engram) -> None:
    with pytest.raises(EngramError, match="kind"):
        engram.memories.create("dream", "x", actor="user")
    with pytest.raises(EngramError, match="conversation"):
        engram.memories.create("fact", "x", actor="user", scope="conversation")
    with pytest.raises(EngramError, match="actor"):
        engram.memories.create("fact", "x", actor="robot")


def test_restore_to_the_created_version(engram) -> None:
    mem = engram.memories.create("fact", "first words", actor="user")
    created = engram.memories.events(mem.id)[0]
    assert created.event == "created" and created.new_value == {"kind": "fact"}
    engram.memories.edit(mem.id, "second words")
    engram.memories.edit(mem.id, "third words")
    assert engram.memories.restore_version(mem.id, created.id).text == "first words"
