from __future__ import annotations


def test_messages_form_a_tree_with_navigable_branches(engram) -> None:
    store = engram.conversations
    conv = store.create("branches")
    u1 = store.add_message(conv.id, "user", "hi", created_at=1)
    a1 = store.add_message(conv.id, "assistant", "hello", created_at=2)
    # regenerate: a sibling of a1
    a2 = store.add_message(conv.id, "assistant", "hey there", parent_id=u1.id, created_at=3)
    assert [m.id for m in store.thread(conv.id)] == [u1.id, a2.id]
    assert [m.branch for m in store.siblings(a1.id)] == [0, 1]
    assert [m.id for m in store.switch_branch(a1.id)] == [u1.id, a1.id]
    assert store.get(conv.id).current_message_id == a1.id
    assert len(store.messages(conv.id)) == 3


def test_delete_cascades_to_messages_and_search_finds_text(engram) -> None:
    store = engram.conversations
    conv = store.create("about otters")
    store.add_message(conv.id, "user", "Sea otters hold hands while sleeping")
    other = store.create("other")
    assert [c.id for c in store.list(search="otters")] == [conv.id]
    assert [c.id for c in store.list(search="sleeping hands")] == [conv.id]
    store.delete(conv.id)
    assert engram.db["messages"].count == 0
    assert [c.id for c in store.list()] == [other.id]


def test_pinned_conversations_come_first(engram) -> None:
    store = engram.conversations
    old = store.create("old", created_at=1)
    store.create("new", created_at=2)
    store.update(old.id, pinned=True)
    assert [c.title for c in store.list()] == ["old", "new"]
