"""The everyday features through the real window (scripted FAKE model): find in a chat, delete
a message, export as Markdown, a chat's own instructions, Help, the dark look, LaTeX made
readable, a shorter branch not leaving the pane blank, the length-limit marker, an empty
incognito chat leaving the list, the window layout remembered."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from tests.ui.conftest import run_db
from tests.ui.test_chat_flows import TURN_TIMEOUT, send


def test_find_in_a_chat_moves_between_matches(qtbot, window, fake_llm) -> None:
    fake_llm.reply = "Tomatoes like sun."
    send(qtbot, window, "How do I grow tomatoes?")
    fake_llm.reply = "Basil likes water."
    send(qtbot, window, "And basil?")
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 4 and all(
        w.item.id for w in window.chat.widgets))
    window.find_action.trigger()
    bar = window.chat.find_bar
    assert bar.isVisible() and bar.field.hasFocus()
    qtbot.keyClicks(bar.field, "tomatoes")
    assert bar.count.text() == "2 of 2"              # the newest match first
    assert window.chat.widgets[1].property("highlight")
    qtbot.keyClick(bar.field, Qt.Key.Key_Return)
    assert bar.count.text() == "1 of 2" and window.chat.widgets[0].property("highlight")
    assert not window.chat.widgets[1].property("highlight")
    bar.field.setText("nowhere")
    assert bar.count.text() == "No match"
    assert not any(w.property("highlight") for w in window.chat.widgets)
    qtbot.keyClick(bar, Qt.Key.Key_Escape)
    assert not bar.isVisible()


def test_delete_a_message_from_the_chat(qtbot, window, fake_llm, services, monkeypatch) -> None:
    fake_llm.reply = "Noted."
    first = send(qtbot, window, "My locker code is 4711")
    send(qtbot, window, "What is the weather like?")
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 4 and all(
        w.item.id for w in window.chat.widgets))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(services.events.changed, timeout=5000):
        window.chat.widgets[0].delete_button.click()
    qtbot.waitUntil(lambda: [w.item.text for w in window.chat.widgets]
                    == ["Noted.", "What is the weather like?", "Noted."])
    stored = run_db(qtbot, services,
                    lambda e: e.conversations.get_message(first.user_message.id))
    assert stored.text == "" and stored.hidden


def test_export_a_chat_as_markdown(qtbot, window, fake_llm, tmp_path: Path) -> None:
    fake_llm.reply = "Try **basil**."
    send(qtbot, window, "What goes with tomatoes?")
    target = tmp_path / "chat.md"
    window.export_chat(str(target))
    qtbot.waitUntil(target.exists, timeout=5000)
    text = target.read_text("utf-8")
    assert text.startswith("# What goes with tomatoes?")
    assert "**You**" in text and "Try **basil**." in text


def test_a_chat_gets_its_own_instructions(qtbot, window, fake_llm, services,
                                          monkeypatch) -> None:
    first = send(qtbot, window, "Hello")
    monkeypatch.setattr(QInputDialog, "getMultiLineText",
                        lambda *a, **k: ("Answer in French.", True))
    with qtbot.waitSignal(services.events.changed, timeout=5000):
        window.instructions_action.trigger()
    qtbot.waitUntil(lambda: window.chat.instructions_button.text() == "Instructions ✓")
    meta = run_db(qtbot, services, lambda e: e.conversations.get(first.conversation_id).meta)
    assert meta["system_prompt"] == "Answer in French."
    send(qtbot, window, "Bonjour?")
    assert "Answer in French." in fake_llm.prompts[-1][0].content


def test_help_lists_the_real_shortcuts_and_about_says_where_data_lives(qtbot, window,
                                                                       services) -> None:
    from ui.help_dialog import about_dialog, shortcut_rows, shortcuts_dialog

    rows = {what: keys for keys, what in shortcut_rows(window)}
    assert rows["Find in this chat"] == "Ctrl+F"
    assert rows["Export this chat as Markdown"] == "Ctrl+Shift+E"
    assert rows["New chat"] == "Ctrl+N" and rows["Send the message"] == "Enter"
    dlg = shortcuts_dialog(window)
    assert dlg.findChild(object, "shortcutsTable").rowCount() == len(shortcut_rows(window))
    about = about_dialog(window, services)
    assert str(services.layout.data_dir) in about.findChild(object, "aboutText").text()


def test_the_dark_look_and_back(qtbot, window) -> None:
    from ui.theme import apply_theme, is_dark, tone

    app = QApplication.instance()
    try:
        assert apply_theme(app, "dark") and is_dark()
        assert "#1e2127" in app.styleSheet() and "#f6f7f9" not in app.styleSheet()
        assert tone("#1d2430").name() == "#e4e7ec"     # painted text turns light
        assert app.palette().window().color().lightness() < 60
    finally:
        assert not apply_theme(app, "light")
    assert "#f6f7f9" in app.styleSheet() and tone("#1d2430").name() == "#1d2430"


def test_latex_is_shown_readable(qtbot) -> None:
    from ui.markdown_view import MarkdownView

    view = MarkdownView(r"Power is \( P = V \times I \), and \[ E = mc^2 \]. It costs $5.")
    qtbot.addWidget(view)
    shown = " ".join(w.text() for w in view._widgets)
    assert "`P = V × I`" in shown and "`E = mc²`" in shown
    assert "$5" in shown                     # a price is not math
    assert "( P = V" not in shown and "\\times" not in shown


def _spin(predicate, timeout: float = 30.0) -> None:
    """Wait as the app's own loop runs (qtbot's waits also run deferred deletions, which
    hid the bug below)."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        QApplication.processEvents()
        time.sleep(0.005)


def test_a_shorter_branch_is_shown_not_blank(qtbot, window, fake_llm, services) -> None:
    window.resize(900, 500)
    fake_llm.reply = "\n\n".join(" ".join(f"w{i}x{j}" for j in range(9)) for i in range(30))
    first = send(qtbot, window, "Tell me a long story")
    fake_llm.reply = "Short."
    done: list = []
    window.chat.turn_finished.connect(done.append)
    window.chat.widgets[1].regenerate_button.click()
    _spin(lambda: bool(done), TURN_TIMEOUT / 1000)
    # back to the long version, scrolled to its end...
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2
                    and bool(window.chat.widgets[1].item.id))
    with qtbot.waitSignal(services.events.changed, timeout=5000):
        window.chat.widgets[1]._go(-1)
    qtbot.waitUntil(lambda: window.chat.widgets and
                    window.chat.widgets[-1].item.text.startswith("w0x0"))
    bar = window.chat.scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 500)
    bar.setValue(bar.maximum())
    # ...then to the short one: its messages are in view at once
    with qtbot.waitSignal(services.events.changed, timeout=5000):
        window.chat.widgets[1]._go(1)
    qtbot.waitUntil(lambda: window.chat.widgets and window.chat.widgets[-1].item.text == "Short.")
    qtbot.wait(50)
    viewport = window.chat.scroll.viewport()
    top_left = window.chat.widgets[0].mapTo(viewport, window.chat.widgets[0].rect().topLeft())
    assert 0 <= bar.value() <= bar.maximum()
    assert top_left.y() < viewport.height(), "the short branch is below the visible pane"
    # the old messages' widgets never open as windows of their own (they did: a widget taken
    # out with setParent(None) still had Qt's deferred show queued)
    from ui.message_widget import MessageWidget

    assert not [t for t in QApplication.topLevelWidgets()
                if isinstance(t, MessageWidget) and t.isVisible()]
    assert first.conversation_id == window.chat.conversation_id


def test_a_reply_cut_at_the_length_limit_is_marked(qtbot, window, services) -> None:
    from core.base.llm import GenerationStats
    from tests.ui.conftest import ScriptedFakeLLM

    class AtLength(ScriptedFakeLLM):
        def chat(self, messages, params=None, *, on_token=None, session=None):
            text, _ = super().chat(messages, params, on_token=on_token)
            return text, GenerationStats(completion_tokens=4, finish_reason="length")

    services.set_llm(AtLength(reply="It all began when"), "fake")
    send(qtbot, window, "Tell me")
    qtbot.waitUntil(lambda: len(window.chat.widgets) == 2
                    and bool(window.chat.widgets[1].item.id))
    label = window.chat.widgets[1].stopped_label
    qtbot.waitUntil(label.isVisible)
    assert label.text().startswith("Cut at the length limit")
    assert not window.chat.widgets[0].stopped_label.isVisible()


def test_an_empty_incognito_chat_leaves_the_list(qtbot, window, fake_llm, services) -> None:
    kept = send(qtbot, window, "A normal chat")
    window.conversations.new_chat(incognito=True)
    qtbot.waitUntil(lambda: window.chat.incognito_badge.isVisible())
    qtbot.waitUntil(lambda: len(window.conversations.conversations) == 2)
    window.conversations.select(kept.conversation_id)          # leave it without a word
    qtbot.waitUntil(lambda: [c.id for c in window.conversations.conversations]
                    == [kept.conversation_id])
    assert run_db(qtbot, services, lambda e: e.conversations.count()) == 1


def test_the_window_layout_is_remembered(qtbot, services, window) -> None:
    from ui.main_window import MainWindow

    window.resize(731, 533)
    window.split.setSizes([333, 398])
    size = (window.width(), window.height())
    assert size != (1280, 800)
    window.save_layout()
    again = MainWindow(services=services, autoload_model=False)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == size
    assert abs(again.split.sizes()[0] - 333) <= 2
    assert (services.layout.data_dir / "window.ini").exists()


def test_the_composer_says_the_model_is_loaded(qtbot, window, services, fake_llm) -> None:
    assert window.chat.composer.placeholderText().startswith("Message Engram")
    services.set_llm(None)
    assert window.chat.composer.placeholderText().startswith("No model loaded")
    services.set_llm(fake_llm, "scripted-fake")
    assert window.chat.composer.placeholderText().startswith("Message Engram")
