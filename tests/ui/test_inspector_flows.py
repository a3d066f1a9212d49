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
    assert events == ["Text changed", "Remembered"]          # words, not field names
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
    qtbot.waitUntil(lambda: insp.model.total == 1)          # what Engram knows: the fact
    insp.show_memory(ids["fact"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["fact"]])
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.forget_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).status) == "forgotten"
    qtbot.waitUntil(lambda: insp.model.total == 0)         # the "In use" filter hides it
    # ... but the detail pane still shows it, plainly, and Restore works from here (issue 15:
    # Restore stayed disabled until the filter changed)
    qtbot.waitUntil(lambda: insp.detail.memory.status == "forgotten")
    assert insp.detail.state_label.text().startswith("Forgotten: never used in answers")
    assert insp.restore_button.isEnabled() and insp.detail.restore_button.isVisibleTo(insp)
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.restore_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).status) == "active"
    qtbot.waitUntil(lambda: insp.model.total == 1)
    insp.show_memory(ids["fact"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["fact"]])
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.forget_selected()
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.undo_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).status) == "active"
    # Forget again, then find it under "Forgotten" and restore it from there.
    qtbot.waitUntil(lambda: insp.model.total == 1)
    insp.show_memory(ids["fact"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["fact"]])
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.forget_selected()
    insp.status.setCurrentIndex(1)
    qtbot.waitUntil(lambda: insp.model.total == 1 and insp.model.rows[0].id == ids["fact"]
                    and insp.model.filter.statuses == ("forgotten",))
    assert insp.model.data(insp.model.index(0, 4)) == "Forgotten"
    insp.table.selectRow(0)
    assert insp.restore_button.isEnabled()
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.restore_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).status) == "active"
    insp.status.setCurrentIndex(0)
    qtbot.waitUntil(lambda: insp.model.total == 1)
    insp.show_memory(ids["fact"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["fact"]])
    assert insp.pin_button.text() == "Keep"
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.pin_button.click()
    mem = run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]))
    assert mem.pinned and not mem.always_include         # kept is not "sent every time"
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.always_button.click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]).always_include)
    qtbot.waitUntil(lambda: insp.detail.always.isChecked())
    history = [insp.detail.history.topLevelItem(i).text(1)
               for i in range(insp.detail.history.topLevelItemCount())]
    assert history[:2] == ["Sent with every message", "Kept for good"]
    changes = [insp.detail.history.topLevelItem(i).text(3)
               for i in range(insp.detail.history.topLevelItemCount())]
    assert not any("pinned:" in c or "_at" in c or "->" in c for c in changes)


def test_merge_selected_then_undo(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.show_inspector()
    insp = window.inspector
    insp.show_view("turns")           # the merge of a turn and a fact, from "Any kind" rows
    qtbot.waitUntil(lambda: insp.model.total == 1)
    insp.show_view("knows")
    qtbot.waitUntil(lambda: insp.model.total == 1)
    run_db(qtbot, services, lambda e: e.memories.create(
        "fact", "Ana is the user's older sister.", actor="assistant"))
    insp.refresh()
    qtbot.waitUntil(lambda: insp.model.total == 2)
    insp.table.selectAll()
    assert insp.merge_button.isEnabled()
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        insp.merge_button.click()
    states = run_db(qtbot, services, lambda e: {m.id: m.status for m in e.memories.list(
        statuses=None, kinds=["fact"])})
    assert states[ids["fact"]] == "superseded"
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
    insp.show_view("turns")
    qtbot.waitUntil(lambda: insp.model.total == 1)
    insp.show_memory(ids["episode"])
    qtbot.waitUntil(lambda: insp.selected_ids() == [ids["episode"]])
    insp.purge_button.click()
    qtbot.waitUntil(lambda: insp.findChild(QMessageBox, "confirmBox") is not None)
    box = insp.findChild(QMessageBox, "confirmBox")
    said = box.informativeText()
    # what will go, in words: this memory, the message text, the index entries
    assert "irreversible" in said and "this memory" in said
    assert "the message text “My sister Ana lives in Porto.”" in said
    assert box.checkBox() is not None and box.checkBox().isChecked()
    purge = next(b for b in box.buttons() if b.text() == "Purge")
    with qtbot.waitSignal(insp.action_done, timeout=10000):
        purge.click()
    mem = run_db(qtbot, services, lambda e: e.memories.get(ids["episode"]))
    assert mem.status == "purged" and mem.text == ""
    source = run_db(qtbot, services, lambda e: e.conversations.get_message(ids["source_message"]))
    assert source.text == ""                      # the episode's source message is blanked too
    # the detail pane does not keep showing it (issue 15): it says what went
    qtbot.waitUntil(lambda: "Erased for good" in insp.detail.header.text())
    assert insp.detail.memory is None and insp.detail.text_edit.toPlainText() == ""
    assert not insp.undo_button.isEnabled()       # nothing to undo after a purge
    insp.status.setCurrentIndex(3)                # Erased
    qtbot.waitUntil(lambda: insp.model.total == 1)
    insp.show_memory(ids["episode"])
    qtbot.waitUntil(lambda: insp.detail.memory is not None and insp.detail.memory.status == "purged")
    assert insp.detail.text_edit.isReadOnly()
    assert not insp.restore_button.isEnabled()


def test_purging_only_the_memory_keeps_the_message(qtbot, window, services) -> None:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.show_inspector()
    insp = window.inspector
    insp.show_memory(ids["episode"])
    qtbot.waitUntil(lambda: insp.view == "turns" and insp.selected_ids() == [ids["episode"]])
    insp.detail.purge_button.click()
    qtbot.waitUntil(lambda: insp.findChild(QMessageBox, "confirmBox") is not None)
    first = insp.findChild(QMessageBox, "confirmBox")
    first.checkBox().setChecked(False)            # asks again, with the new list
    qtbot.waitUntil(lambda: any(b is not first and b.isVisible() for b in
                                insp.findChildren(QMessageBox, "confirmBox")))
    box = next(b for b in insp.findChildren(QMessageBox, "confirmBox")
               if b is not first and b.isVisible())
    assert "message text" not in box.informativeText() and not box.checkBox().isChecked()
    with qtbot.waitSignal(insp.action_done, timeout=10000):
        next(b for b in box.buttons() if b.text() == "Purge").click()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["episode"]).status) == "purged"
    source = run_db(qtbot, services, lambda e: e.conversations.get_message(ids["source_message"]))
    assert source.text == "My sister Ana lives in Porto."


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
