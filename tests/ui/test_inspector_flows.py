"""The memory inspector through the real window: a reply's memory chip opens the memory; edit
it and see its history; restore a version; forget / undo / restore; merge; purge (with the
irreversibility warning); lazy paging; semantic search with the real embedder and Chroma."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from core.services.changes import Changes
from tests.ui.conftest import run_db


def seed_answer_with_trace(engram) -> dict:
    """A conversation whose answer used two memories (the trace the chat service writes)."""
    from core.memory.episodic import remember_messages

    convs = engram.conversations
    old = convs.create("Earlier chat")
    u = convs.add_message(old.id, "user", "My sister Ana lives in Porto.")
    mem_ids = remember_messages(engram.memories, [u], actor="assistant")
    fact = engram.memories.create("fact", "The user's sister is called Ana.", actor="assistant",
                                  conversation_id=old.id)
    conv = convs.create("Holiday plans")
    convs.add_message(conv.id, "user", "Where could I visit my sister?")
    a = convs.add_message(conv.id, "assistant", "You could visit Ana in Porto.")
    for rank, mid in enumerate([mem_ids[0], fact.id], start=1):
        engram.db.execute(
            "INSERT INTO retrievals (message_id, memory_id, rank, score, reason) VALUES (?,?,?,?,?)",
            [a.id, mid, rank, 0.9 - rank * 0.1, "dense"])
    return {"conv": conv.id, "answer": a.id, "episode": mem_ids[0], "fact": fact.id,
            "source_message": u.id, "old_conv": old.id}


def test_chip_opens_memory_then_edit_history_restore(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.conversations.refresh()
    qtbot.waitUntil(lambda: len(window.conversations.conversations) == 2)
    window.conversations.select(ids["conv"])
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2)
    chips = window.chat.widgets[1].chip_buttons()
    assert [c.property("memory_id") for c in chips] == [ids["episode"], ids["fact"]]
    assert not window.inspector_dock.isVisible()
    with qtbot.waitSignal(window.inspector.memory_shown, timeout=5000):
        chips[1].click()
    assert window.inspector_dock.isVisible()
    detail = window.inspector.detail
    assert detail.memory.id == ids["fact"]
    assert detail.text_edit.toPlainText() == "The user's sister is called Ana."
    # Provenance: the answer that used it.
    used = detail.provenance.topLevelItem(1)
    assert used.childCount() == 1 and "Ana in Porto" in used.child(0).text(1)

    # Edit the text and save: the history shows old -> new.
    detail.text_edit.setPlainText("The user's sister Ana lives in Porto.")
    assert detail.save_button.isEnabled()
    with qtbot.waitSignal(window.inspector.memory_shown, timeout=5000):
        detail.save_button.click()
    assert detail.memory.text == "The user's sister Ana lives in Porto."
    events = [detail.history.topLevelItem(i).text(1) for i in range(detail.history.topLevelItemCount())]
    assert events == ["edited", "created"]
    assert "→" in detail.history.topLevelItem(0).text(3)

    # Restore the original version from the History tab.
    detail.history.setCurrentItem(detail.history.topLevelItem(0))
    assert detail.restore_version_button.isEnabled()
    with qtbot.waitSignal(window.inspector.memory_shown, timeout=5000):
        detail.restore_version_button.click()
    assert detail.memory.text == "The user's sister is called Ana."
    mem = run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]))
    assert mem.text == "The user's sister is called Ana." and mem.version == 3

    # Undo the restore: back to the edited text.
    with qtbot.waitSignal(window.inspector.action_done, timeout=5000):
        window.inspector.undo()
    qtbot.waitUntil(lambda: detail.memory.text == "The user's sister Ana lives in Porto.")


def test_provenance_jumps_to_the_source_message(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.open_memory(ids["episode"])
    qtbot.waitUntil(lambda: window.inspector.detail.memory is not None
                    and window.inspector.detail.memory.id == ids["episode"])
    origin = window.inspector.detail.provenance.topLevelItem(0)
    assert "Earlier chat" in origin.child(0).text(0)
    window.inspector.detail.provenance.setCurrentItem(origin.child(0))
    window.inspector.detail.jump_button.click()
    qtbot.waitUntil(lambda: window.chat.conversation_id == ids["old_conv"]
                    and len(window.chat.widgets) == 1)
    assert window.chat.widgets[0].property("highlight") is True


def test_forget_undo_restore_and_pin(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.show_inspector()
    insp = window.inspector
    qtbot.waitUntil(lambda: insp.model.total == 2)
    insp.show_memory(ids["fact"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["fact"]])
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.forget_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).status) == "forgotten"
    qtbot.waitUntil(lambda: insp.model.total == 1)         # the Active filter hides it
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.undo_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).status) == "active"
    # Forget again, then find it under "Forgotten" and restore it from there.
    insp.show_memory(ids["fact"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["fact"]])
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.forget_selected()
    insp.status.setCurrentIndex(1)
    qtbot.waitUntil(lambda: insp.model.total == 1 and insp.model.rows[0].id == ids["fact"])
    insp.table.selectRow(0)
    assert insp.restore_button.isEnabled()
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.restore_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).status) == "active"
    insp.status.setCurrentIndex(0)
    qtbot.waitUntil(lambda: insp.model.total == 2)
    insp.show_memory(ids["fact"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["fact"]])
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.pin_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).pinned)
    events = run_db(qtbot, services, lambda e: [ev.event for ev in e.memories.events(ids["fact"])])
    assert events == ["created", "forgotten", "restored", "forgotten", "restored", "pinned"]


def test_merge_selected_then_undo(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.show_inspector()
    insp = window.inspector
    qtbot.waitUntil(lambda: insp.model.total == 2)
    insp.table.selectAll()
    assert insp.merge_button.isEnabled()
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.merge_button.click()
    states = run_db(qtbot, services, lambda e: {m.id: m.status for m in e.memories.list(statuses=None)})
    assert states[ids["fact"]] == "superseded" and states[ids["episode"]] == "superseded"
    merged = [mid for mid, st in states.items() if st == "active"]
    assert len(merged) == 1
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.undo()
    states = run_db(qtbot, services, lambda e: {m.id: m.status for m in e.memories.list(statuses=None)})
    assert states[ids["fact"]] == "active" and states[merged[0]] == "forgotten"


def test_purge_asks_first_and_is_irreversible(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.show_inspector()
    insp = window.inspector
    qtbot.waitUntil(lambda: insp.model.total == 2)
    insp.show_memory(ids["episode"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["episode"]])
    insp.purge_button.click()
    box = insp.findChild(QMessageBox, "confirmBox")
    assert box is not None and "irreversible" in box.informativeText()
    purge = next(b for b in box.buttons() if b.text() == "Purge")
    with qtbot.waitSignal(insp.action_done, timeout=10000):
        purge.click()
    mem = run_db(qtbot, services, lambda e: e.memories.get(ids["episode"]))
    assert mem.status == "purged" and mem.text == ""
    source = run_db(qtbot, services, lambda e: e.conversations.get_message(ids["source_message"]))
    assert source.text == ""                      # the episode's source message is blanked too
    assert not insp.undo_button.isEnabled()       # nothing to undo after a purge
    insp.status.setCurrentIndex(3)                # Purged
    qtbot.waitUntil(lambda: insp.model.total == 1)
    insp.show_memory(ids["episode"])
    qtbot.waitUntil(lambda: insp.detail.memory is not None and insp.detail.memory.status == "purged")
    assert insp.detail.text_edit.isReadOnly()
    assert not insp.restore_button.isEnabled()


def test_table_pages_lazily(qtbot, window, services) -> None:
    def many(engram):
        from core.store.db import transaction

        with transaction(engram.db):
            for i in range(1050):
                engram.memories.create("fact", f"fact number {i}", actor="import")

    run_db(qtbot, services, many, timeout=30000)
    window.show_inspector()
    model = window.inspector.model
    qtbot.waitUntil(lambda: model.total == 1050)
    assert len(model.rows) == 200
    assert model.canFetchMore()
    model.fetchMore()
    qtbot.waitUntil(lambda: len(model.rows) == 400)
    window.inspector.search.setText("number 1049")
    qtbot.waitUntil(lambda: model.total == 1, timeout=3000)
    assert model.rows[0].text == "fact number 1049"


def test_semantic_search_uses_the_real_index(qtbot, window, services) -> None:
    run_db(qtbot, services, seed_answer_with_trace)
    run_db(qtbot, services, lambda e: e.memories.create("fact", "The user enjoys baking bread.",
                                                        actor="user"))
    run_db(qtbot, services, lambda e: e.index_sync.sync(), timeout=60000)
    window.show_inspector()
    insp = window.inspector
    insp.mode.setCurrentIndex(1)              # Meaning
    insp.search.setText("sourdough loaves")
    qtbot.waitUntil(lambda: bool(insp.model.scores), timeout=30000)
    assert insp.model.rows[0].text == "The user enjoys baking bread."
    assert insp.model.headerData(4, __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal) == "Score"


def test_a_background_refresh_keeps_unsaved_text(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.open_memory(ids["fact"])
    qtbot.waitUntil(lambda: window.inspector.detail.memory is not None)
    window.inspector.detail.text_edit.setPlainText("a draft not saved yet")
    with qtbot.waitSignal(window.inspector.model.loaded, timeout=5000):
        # e.g. the memory worker finished a job
        services.events.announce(Changes("memory work", many_memories=True))
    assert window.inspector.detail.text_edit.toPlainText() == "a draft not saved yet"
