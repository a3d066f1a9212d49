"""Issue 15 in the window: the feedback menu of a memories-used chip (Not relevant, Wrong,
Forget, Always include), and the two views of the inspector (what Engram knows first; the
turns grouped by chat; windows counted, never rows)."""
from __future__ import annotations

from tests.ui.conftest import run_db
from tests.ui.test_inspector_flows import seed_answer_with_trace


def _open_answer(qtbot, window, services) -> tuple[dict, object]:
    ids = run_db(qtbot, services, seed_answer_with_trace)
    window.conversations.refresh()
    qtbot.waitUntil(lambda: len(window.conversations.conversations) == 2)
    window.conversations.select(ids["conv"])
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2)
    return ids, window.chat.widgets[1]


def _act(widget, chip, verdict: str):
    menu = widget.chip_menu(chip)
    action = next(a for a in menu.actions() if a.data() == verdict)
    return action


def test_chip_feedback_not_relevant_wrong_forget_always(qtbot, window, services) -> None:
    ids, answer = _open_answer(qtbot, window, services)
    chips = answer.chip_buttons()
    episode, fact = chips
    menu = answer.chip_menu(fact)
    assert [a.text() for a in menu.actions()] == ["Not relevant", "Wrong…", "Forget",
                                                  "Always include"]
    insp = window.inspector
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        _act(answer, fact, "not_relevant").trigger()
    rows = run_db(qtbot, services, lambda e: e.steering.feedback_of(ids["fact"]))
    assert [(r["verdict"], r["message_id"]) for r in rows] == [("not_relevant", ids["answer"])]
    assert fact.font().strikeOut() and "not relevant" in fact.toolTip()

    # Wrong: recorded, and the memory opens in the inspector to be corrected
    with qtbot.waitSignal(insp.memory_shown, timeout=5000):
        _act(answer, fact, "wrong").trigger()
    assert window.inspector_dock.isVisible() and insp.detail.memory.id == ids["fact"]
    assert insp.detail.tabs.currentIndex() == 0
    rows = run_db(qtbot, services, lambda e: e.steering.feedback_of(ids["fact"]))
    assert [r["verdict"] for r in rows] == ["not_relevant", "wrong"]

    # Forget from the chip: out of answers, restorable
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        _act(answer, episode, "forget").trigger()
    assert run_db(qtbot, services, lambda e: e.memories.get(ids["episode"]).status) == \
        "forgotten"
    # Always include from the chip: not the same as kept (pinned)
    with qtbot.waitSignal(insp.action_done, timeout=5000):
        _act(answer, fact, "always").trigger()
    mem = run_db(qtbot, services, lambda e: e.memories.get(ids["fact"]))
    assert mem.always_include and not mem.pinned


def test_inspector_leads_with_what_engram_knows_and_counts_windows(qtbot, window,
                                                                     services) -> None:
    def seed(engram):
        from core.memory.episodic import remember_messages

        conv = engram.conversations.create("Trip to Ghent")
        msgs = [engram.conversations.add_message(conv.id, r, t) for r, t in (
            ("user", "My name is Lena and I work nights as a nurse"),
            ("assistant", "Nice to meet you, Lena"),
            ("user", "I live in Ghent with my cat Theo"),
            ("assistant", "Ghent is lovely"))]
        remember_messages(engram.memories, msgs, actor="user")
        from core.store.memories import SourceRef

        fact = engram.memories.create(
            "fact", "Lena works nights as a nurse.", actor="assistant", subject="lena",
            sources=[SourceRef(message_id=msgs[0].id, conversation_id=conv.id)],
            meta={"speaker": "Lena"}, conversation_id=conv.id)
        engram.memories.create("portrait", "Lena is a night nurse in Ghent.",
                               actor="assistant", sources=[SourceRef(conversation_id=conv.id)])
        return fact.id

    fact_id = run_db(qtbot, services, seed)
    window.show_inspector()
    insp = window.inspector
    insp.refresh()
    qtbot.waitUntil(lambda: insp.model.total == 2)
    model = insp.model
    assert [m.kind for m in model.rows] == ["portrait", "fact"]      # the portrait first
    row = model.rows.index(next(m for m in model.rows if m.id == fact_id))
    cells = [model.data(model.index(row, c)) for c in range(model.columnCount())]
    assert cells[:5] == ["Lena works nights as a nurse.", "Lena", "Fact", "Lena said", "In use"]
    qtbot.waitUntil(lambda: "index entries for search (not listed)" in insp.tally.text())
    assert insp.tally.text().startswith("Engram knows 1 fact, 1 portrait")
    assert "4 turns from 1 chat" in insp.tally.text()
    # the turns, by chat, never a window; who said it apart from what was said
    insp.show_view("turns")
    qtbot.waitUntil(lambda: model.filter.view == "turns" and model.total == 4)
    said = [(model.data(model.index(r, 0)), model.data(model.index(r, 1)),
             model.data(model.index(r, 2))) for r in range(4)]
    assert said[0] == ("My name is Lena and I work nights as a nurse", "You", "Trip to Ghent")
    assert said[1][1] == "Assistant"
    assert all(m.granularity == "turn" for m in model.rows)
    assert model.headerData(0, __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal) \
        == "What was said"


def test_the_memory_switch_in_the_status_bar(qtbot, window, services) -> None:
    switch = window.statusBar().memory_switch
    assert switch.text() == "Memory on" and not switch.resume_action.isEnabled()
    pause_hour = switch.menu_.actions()[0]
    with qtbot.waitSignal(services.events.settings_changed, timeout=5000):
        pause_hour.trigger()
    assert switch.text().startswith("Memory paused until ")
    assert services.settings.memory.paused(__import__("time").time())
    assert not services.settings.memory.writes(__import__("time").time())
    not_read = next(a for a in switch.menu_.actions() if "don't read" in a.text())
    with qtbot.waitSignal(services.events.settings_changed, timeout=5000):
        not_read.trigger()
    assert switch.text() == "Memory paused · not read"
    with qtbot.waitSignal(services.events.settings_changed, timeout=5000):
        switch.resume_action.trigger()
    assert switch.text() == "Memory on" and services.settings.memory.paused_until == 0.0


def test_paste_memories_from_the_inspector(qtbot, window, services) -> None:
    from ui.paste_memories import PasteMemoriesDialog

    window.show_inspector()
    insp = window.inspector
    insp.paste_button.click()
    dialog = insp.findChild(PasteMemoriesDialog, "pasteMemories")
    assert dialog is not None and not dialog.import_button.isEnabled()
    dialog.text.setPlainText("Saved memories:\n- [2024-05-01] Prefers metric units\n"
                             "- Is learning Dutch\n- Is learning Dutch\n")
    assert dialog.count.text() == "3 memories found"
    with qtbot.waitSignal(insp.action_done, timeout=5000) as done:
        dialog.import_button.click()
    assert done.args == ["2 memories imported as facts, 1 already known"]
    qtbot.waitUntil(lambda: insp.model.total == 2)
    row = next(r for r in range(2) if insp.model.rows[r].text == "Prefers metric units")
    assert insp.model.data(insp.model.index(row, 3)) == "Pasted by you"
    assert insp.model.data(insp.model.index(row, 5)) == "01 May 2024"     # when it happened
