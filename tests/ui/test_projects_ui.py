"""Projects in the chat list, through the real window: the right-click menu makes a project
and moves a chat into it, the row then names the project (drawn, in the accent colour), the
chat's memories are then read only in the project; rename, move out and delete from the
same menu."""
from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from tests.ui.conftest import run_db
from ui.conversation_list import PROJECT_ROLE


def _add_chat(qtbot, services, title: str, text: str) -> str:
    from core.memory.episodic import remember_messages

    def work(eng):
        conv = eng.conversations.create(title)
        msg = eng.conversations.add_message(conv.id, "user", text)
        remember_messages(eng.memories, [msg], actor="user")
        return conv.id
    return run_db(qtbot, services, work)


def _row(window, conversation_id: str):
    lst = window.conversations.list
    return next(lst.item(i) for i in range(lst.count())
                if lst.item(i).data(0x0100) == conversation_id)


def _entry(menu: QMenu, text: str):
    for action in menu.actions():
        if action.text() == text:
            return action
        if action.menu() is not None and action.text().startswith(text):
            return action
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def _menu(window, conversation_id: str) -> QMenu:
    conv = next(c for c in window.conversations.conversations if c.id == conversation_id)
    return window.conversations.menu_for(conv)


def _accent_pixels(window, conversation_id: str) -> int:
    """How many pixels of the chat's row are drawn in the project's blue."""
    lst = window.conversations.list
    rect = lst.visualItemRect(_row(window, conversation_id))
    image = lst.viewport().grab(rect).toImage()
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = QColor(image.pixel(x, y))
            count += c.blue() - c.red() > 80 and c.blue() > 120
    return count


def _name_dialog(qtbot, window, name: str) -> None:
    qtbot.waitUntil(lambda: window.findChild(QInputDialog, "projectNameDialog") is not None)
    dialog = window.findChild(QInputDialog, "projectNameDialog")
    dialog.setTextValue(name)
    dialog.accept()


def test_the_menu_moves_a_chat_into_a_project_and_the_list_shows_it(
        qtbot, window, services) -> None:
    thesis = _add_chat(qtbot, services, "thesis", "Chapter three is due on 14 March")
    other = _add_chat(qtbot, services, "groceries", "Buy oat milk")
    window.conversations.refresh()
    qtbot.waitUntil(lambda: len(window.conversations.conversations) == 2)
    assert _row(window, thesis).data(PROJECT_ROLE) == ""
    assert _accent_pixels(window, thesis) == 0

    move = _entry(_menu(window, thesis), "Move to project").menu()
    assert [a.text() for a in move.actions() if not a.isSeparator()] == \
        ["New project…", "No project"]
    none = _entry(move, "No project")
    assert none.isChecked() and not none.isEnabled()
    _entry(move, "New project…").trigger()
    _name_dialog(qtbot, window, "Thesis")
    qtbot.waitUntil(lambda: _row(window, thesis).data(PROJECT_ROLE) == "Thesis")
    assert _row(window, other).data(PROJECT_ROLE) == ""
    qtbot.waitUntil(lambda: _accent_pixels(window, thesis) > 20)     # drawn, not just data
    assert _accent_pixels(window, other) == 0

    def scoped(eng):
        [pid] = [p.id for p in eng.steering.projects()]
        mems = eng.memories.list(conversation_id=thesis, limit=None)
        return pid, [m.project_id for m in mems]
    pid, scopes = run_db(qtbot, services, scoped)
    assert scopes and all(s == pid for s in scopes)

    # the other chat's menu now lists the project; moving it in, then renaming from its menu
    move = _entry(_menu(window, other), "Move to project").menu()
    _entry(move, "Thesis").trigger()
    qtbot.waitUntil(lambda: _row(window, other).data(PROJECT_ROLE) == "Thesis")
    _entry(_entry(_menu(window, other), "Project “Thesis”").menu(), "Rename project…").trigger()
    _name_dialog(qtbot, window, "PhD")
    qtbot.waitUntil(lambda: {_row(window, c).data(PROJECT_ROLE) for c in (thesis, other)}
                    == {"PhD"})

    # out of the project: its memories are global again
    move = _entry(_menu(window, other), "Move to project").menu()
    assert _entry(move, "PhD").isChecked()
    _entry(move, "No project").trigger()
    qtbot.waitUntil(lambda: _row(window, other).data(PROJECT_ROLE) == "")
    assert run_db(qtbot, services, lambda e: {m.project_id for m in e.memories.list(
        conversation_id=other, limit=None)}) == {None}

    # delete the project: the chat stays, in no project, nothing lost
    _entry(_entry(_menu(window, thesis), "Project “PhD”").menu(), "Delete project…").trigger()
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "confirmBox") is not None)
    box = window.findChild(QMessageBox, "confirmBox")
    assert "1 chat" in box.text() and "No chat, message or memory" in box.informativeText()
    next(b for b in box.buttons() if b.text() == "Delete project").click()
    qtbot.waitUntil(lambda: _row(window, thesis).data(PROJECT_ROLE) == "")
    assert run_db(qtbot, services, lambda e: (len(e.steering.projects()),
                                              e.conversations.count(),
                                              e.memories.count(statuses=None))) == (0, 2, 2)
