from __future__ import annotations

from core.memory.episodic import remember_messages


def test_turns_and_windows_are_linked_to_their_messages(engram, say) -> None:
    conv = engram.conversations.create("c")
    texts = ["I adopted a cat", "What is its name?", "Miso, she is grey", "Lovely name"]
    msgs = [say(conv.id, "user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(texts)]
    turns = engram.memories.list(kinds=["episodic"], order="created_at", limit=None)
    by_gran = {}
    for m in turns:
        by_gran.setdefault(m.granularity, []).append(m)
    assert [m.text for m in by_gran["turn"]] == [
        "User: I adopted a cat", "Assistant: What is its name?", "User: Miso, she is grey",
        "Assistant: Lovely name"]
    for mem, msg in zip(by_gran["turn"], msgs):
        assert [s["message_id"] for s in engram.memories.sources(mem.id)] == [msg.id]
        assert mem.occurred_at == msg.created_at
    # a window is written when the turn after its anchor arrives: anchors are turns 1..3
    windows = by_gran["window"]
    assert len(windows) == 3
    last = windows[-1]
    assert last.meta["anchor"] == by_gran["turn"][2].id
    assert [s["message_id"] for s in engram.memories.sources(last.id)] == [m.id for m in msgs]
    assert last.text.splitlines()[0] == "User: I adopted a cat"


def test_speaker_names_hidden_and_incognito(engram) -> None:
    conv = engram.conversations.create("c")
    named = engram.conversations.add_message(conv.id, "user", "Hi", meta={"speaker": "Caroline"})
    hidden = engram.conversations.add_message(conv.id, "assistant", "tool output", hidden=True)
    system = engram.conversations.add_message(conv.id, "system", "be nice")
    ids = remember_messages(engram.memories, [named, hidden, system], actor="import")
    assert [engram.memories.get(i).text for i in ids] == ["Caroline: Hi"]

    secret = engram.conversations.create("private", incognito=True)
    msg = engram.conversations.add_message(secret.id, "user", "nobody should know this")
    assert remember_messages(engram.memories, [msg], actor="user") == []
    assert engram.memories.count(text="nobody") == 0


def test_a_regenerated_branch_gets_its_own_window(engram, say) -> None:
    conv = engram.conversations.create("c")
    u = say(conv.id, "user", "Recommend a book")
    say(conv.id, "assistant", "Dune")
    alt = say(conv.id, "assistant", "Solaris", parent_id=u.id)
    windows = engram.memories.list(kinds=["episodic"], order="created_at", limit=None)
    windows = [m for m in windows if m.granularity == "window"]
    assert [w.text.splitlines()[-1] for w in windows] == ["Assistant: Dune", "Assistant: Solaris"]
    assert alt.id in [s["message_id"] for s in engram.memories.sources(windows[-1].id)]
