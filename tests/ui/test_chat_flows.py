"""Chat flows through the real window with a scripted FAKE LLM (predictable text): streaming,
stop, regenerate, edit-and-resend with branch navigation, the conversation list actions."""
from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.conftest import run_db

# The first turn of a session loads the embedder and opens Chroma (seconds on 2 cores).
TURN_TIMEOUT = 60000


def send(qtbot, window, text: str, timeout: int = TURN_TIMEOUT):
    window.chat.composer.setPlainText(text)
    with qtbot.waitSignal(window.chat.turn_finished, timeout=timeout) as blocker:
        qtbot.keyClick(window.chat.composer, Qt.Key.Key_Return)
    return blocker.args[0]


def test_send_streams_and_stores_the_turn(qtbot, window, fake_llm, services) -> None:
    tokens = []
    window.chat.composer.setPlainText("Hello there")
    orig = window.chat._on_token
    window.chat._on_token = lambda piece: (tokens.append(piece), orig(piece))
    with qtbot.waitSignal(window.chat.turn_finished, timeout=TURN_TIMEOUT) as blocker:
        window.chat.submit()
    result = blocker.args[0]
    assert len(tokens) > 5                       # streamed piece by piece
    assert not result.stopped
    thread = run_db(qtbot, services, lambda e: e.conversations.thread(result.conversation_id))
    assert [m.role for m in thread] == ["user", "assistant"]
    assert thread[1].text == fake_llm.reply
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2 and bool(window.chat.widgets[1].item.id))
    # The answer is rendered as Markdown with a code block and a copy button.
    from ui.markdown_view import CodeBlock

    assert window.chat.widgets[1].findChildren(CodeBlock)
    window.chat.widgets[1]._copy()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == fake_llm.reply
    qtbot.waitUntil(lambda: any(c.title == "Hello there" for c in window.conversations.conversations))
    assert window.status.speed_label.text() == "42.0 tok/s"


def test_stop_mid_stream_keeps_the_partial_answer(qtbot, window, services) -> None:
    from tests.ui.conftest import ScriptedFakeLLM

    llm = ScriptedFakeLLM(reply=" ".join(f"word{i}" for i in range(400)), delay=0.01)
    services.set_llm(llm, "slow-fake")
    window.chat.composer.setPlainText("Tell me a long story")
    with qtbot.waitSignal(window.chat.turn_finished, timeout=TURN_TIMEOUT) as blocker:
        window.chat.submit()
        qtbot.waitUntil(lambda: len(window.chat._stream_text.split()) >= 5, timeout=5000)
        assert window.chat.stop_button.isVisible()
        qtbot.keyClick(window.chat, Qt.Key.Key_Escape)     # the Stop shortcut
    result = blocker.args[0]
    assert result.stopped
    stored = run_db(qtbot, services,
                    lambda e: e.conversations.get_message(result.assistant_message.id))
    assert 5 <= len(stored.text.split()) < 400
    assert window.chat.send_button.isVisible()


def test_regenerate_and_edit_create_navigable_branches(qtbot, window, fake_llm, services) -> None:
    first = send(qtbot, window, "What is a good name for a cat?")
    cid = first.conversation_id
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2 and bool(window.chat.widgets[1].item.id))
    fake_llm.reply = "Second answer."
    with qtbot.waitSignal(window.chat.turn_finished, timeout=TURN_TIMEOUT):
        window.chat.widgets[1].regenerate_button.click()
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2
                    and window.chat.widgets[1].item.branch_count == 2)
    assert window.chat.widgets[1].item.text == "Second answer."
    assert window.chat.widgets[1].branch_label.text() == "2 / 2"

    # Edit and resend the question: a new user branch with its own answer.
    fake_llm.reply = "An answer to the edited question."
    window.chat.widgets[0].edit_button.click()
    assert window.chat.edit_banner.isVisible()
    assert window.chat.composer.toPlainText() == "What is a good name for a cat?"
    window.chat.composer.setPlainText("What is a good name for a dog?")
    with qtbot.waitSignal(window.chat.turn_finished, timeout=TURN_TIMEOUT):
        qtbot.keyClick(window.chat.composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2
                    and window.chat.widgets[0].item.branch_count == 2)
    assert window.chat.widgets[0].item.text == "What is a good name for a dog?"

    # Go back to the first version of the question: its newest answer comes with it.
    with qtbot.waitSignal(services.events.changed, timeout=5000):
        window.chat.widgets[0]._go(-1)
    qtbot.waitUntil(lambda: bool(window.chat.widgets) and
                    window.chat.widgets[0].item.text == "What is a good name for a cat?")
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2
                    and window.chat.widgets[1].item.text == "Second answer.")
    thread = run_db(qtbot, services, lambda e: e.conversations.thread(cid))
    assert thread[0].text == "What is a good name for a cat?"


def test_conversation_list_rename_pin_search_delete(qtbot, window, fake_llm, services) -> None:
    a = send(qtbot, window, "first chat about apples")
    window.new_chat()
    b = send(qtbot, window, "second chat about bananas")
    qtbot.waitUntil(lambda: len(window.conversations.conversations) == 2)
    window.conversations.apply_rename(a.conversation_id, "Apples")
    qtbot.waitUntil(lambda: any(c.title == "Apples" for c in window.conversations.conversations))
    window.conversations.set_pinned(a.conversation_id, True)
    qtbot.waitUntil(lambda: window.conversations.conversations[0].id == a.conversation_id
                    and window.conversations.conversations[0].pinned)
    assert window.search_action.shortcut().toString() == "Ctrl+K"
    window.search_action.trigger()
    qtbot.keyClicks(window.conversations.search, "bananas")
    qtbot.waitUntil(lambda: [c.id for c in window.conversations.conversations]
                    == [b.conversation_id], timeout=3000)
    window.conversations.search.clear()
    qtbot.waitUntil(lambda: len(window.conversations.conversations) == 2, timeout=3000)
    window.conversations.delete(b.conversation_id)
    qtbot.waitUntil(lambda: [c.id for c in window.conversations.conversations]
                    == [a.conversation_id])
    assert run_db(qtbot, services, lambda e: e.conversations.count()) == 1


def test_incognito_chat_is_marked(qtbot, window, services) -> None:
    window.conversations.new_chat(incognito=True)
    qtbot.waitUntil(lambda: window.conversations.current_id() is not None)
    qtbot.waitUntil(lambda: window.chat.incognito_badge.isVisible())
    conv = window.conversations.conversations[0]
    assert conv.incognito


def test_sending_without_a_model_explains_what_to_do(qtbot, window) -> None:
    from PySide6.QtWidgets import QMessageBox

    window.chat.composer.setPlainText("hello?")
    window.chat.submit()
    box = window.findChild(QMessageBox, "errorBox")
    assert box is not None and "No model is loaded" in box.text()
    assert window.chat.composer.toPlainText() == "hello?"      # nothing lost
    box.close()


def test_purge_chat_removes_it_and_its_memories(qtbot, window, fake_llm, services) -> None:
    from PySide6.QtWidgets import QMessageBox

    a = send(qtbot, window, "remember that my bike is red")
    made = run_db(qtbot, services, lambda e: e.memories.count(conversation_id=a.conversation_id))
    assert made >= 1
    window.conversations.confirm_purge(a.conversation_id, "bike")
    box = window.conversations.findChild(QMessageBox, "confirmBox")
    assert "irreversible" in box.informativeText()
    next(b for b in box.buttons() if b.text() == "Purge").click()
    qtbot.waitUntil(lambda: window.conversations.conversations == [])
    left = run_db(qtbot, services, lambda e: [m.text for m in e.memories.list(statuses=None)])
    assert all("bike" not in t for t in left)


def test_switching_chats_while_an_answer_streams(qtbot, window, services) -> None:
    from tests.ui.conftest import ScriptedFakeLLM

    llm = ScriptedFakeLLM(reply="short answer")
    services.set_llm(llm, "fake")
    other = send(qtbot, window, "an older chat")
    window.new_chat()
    llm.reply = " ".join(f"w{i}" for i in range(150))
    window.chat.composer.setPlainText("a long one")
    with qtbot.waitSignal(window.chat.turn_finished, timeout=TURN_TIMEOUT) as blocker:
        window.chat.submit()
        qtbot.waitUntil(lambda: len(window.chat._stream_text.split()) >= 3, timeout=TURN_TIMEOUT)
        window.conversations.select(other.conversation_id)      # look elsewhere meanwhile
        qtbot.waitUntil(lambda: window.chat.conversation_id == other.conversation_id
                        and [w.item.text for w in window.chat.widgets][:1] == ["an older chat"])
    assert blocker.args[0].text.split()[-1] == "w149"
    assert window.chat.conversation_id == other.conversation_id
    assert [w.item.text for w in window.chat.widgets] == ["an older chat", "short answer"]
