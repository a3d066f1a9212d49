"""The chat panel: the visible branch of one conversation, streaming replies, the composer.

A turn runs `core.services.chat.ChatService` on the background lane; the finished
`TurnResult` (its messages and their trace) replaces the turn's placeholders as it is, without
reading the thread back. The conversation is reloaded only when something else changed it.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.base.errors import EngramError
from core.services import conversation_ops
from core.services.changes import Changes
from core.services.chat import ChatService, TurnResult
from core.store.conversations import Conversation
from ui.chat_dialogs import ask_chat_instructions, confirm_delete_message
from ui.chat_find import FindBar
from ui.chat_thread import Composer, load_thread, message_item
from ui.dialogs import show_error
from ui.message_widget import MessageItem, MessageWidget
from ui.ops import Op, OpContext
from ui.services import Services

log = logging.getLogger(__name__)
FLUSH_MS = 40
MESSAGE_MAX_WIDTH = 860


class ChatView(QWidget):
    turn_finished = Signal(object)     # TurnResult (tests and the status bar listen)
    turn_failed = Signal(str)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.conversation_id: str | None = None
        self.conversation: Conversation | None = None
        self.widgets: list[MessageWidget] = []
        self.generating: Op | None = None
        self._stream_widget: MessageWidget | None = None
        self._stream_text = ""
        self._stream_dirty = False
        self._editing_id: str | None = None
        self._generating_cid: str | None = None
        self._announced: Changes | None = None       # this view's own turn's record
        self._build()
        self._flush = QTimer(self)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._flush_stream)
        services.events.changed.connect(self._on_changed)
        services.events.model_changed.connect(self._update_composer_state)
        self._update_composer_state()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        header = QFrame()
        header.setObjectName("chatHeader")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(18, 10, 18, 10)
        self.title = QLabel("New chat")
        self.title.setObjectName("chatTitle")
        hl.addWidget(self.title)
        self.incognito_badge = QLabel("Incognito: nothing is remembered")
        self.incognito_badge.setObjectName("incognitoBadge")
        self.incognito_badge.hide()
        hl.addWidget(self.incognito_badge)
        hl.addStretch(1)
        self.instructions_button = QPushButton("Instructions…")
        self.instructions_button.setObjectName("headerButton")
        self.instructions_button.setToolTip(
            "This chat's own system prompt: how the model should answer here (for every "
            "chat: Settings → Model → Replies)")
        self.instructions_button.clicked.connect(self.edit_instructions)
        hl.addWidget(self.instructions_button)
        box.addWidget(header)

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setObjectName("chatScroll")
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("chatInner")
        centre = QHBoxLayout(inner)          # a readable column, centred in wide windows
        centre.setContentsMargins(0, 0, 0, 0)
        column = QWidget()
        column.setObjectName("chatInner")
        column.setMaximumWidth(MESSAGE_MAX_WIDTH)
        centre.addStretch(0)
        centre.addWidget(column, 1)
        centre.addStretch(0)
        self.list_box = QVBoxLayout(column)
        self.list_box.setContentsMargins(24, 16, 24, 16)
        self.list_box.setSpacing(12)
        self.empty = QLabel("Start a conversation: type below and press Enter.\n"
                            "Engram remembers across chats; every memory is in the inspector (Ctrl+I).")
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.list_box.addWidget(self.empty)
        self.list_box.addStretch(1)
        self.scroll.setWidget(inner)
        box.addWidget(self.scroll, 1)

        self.find_bar = FindBar(lambda: self.widgets, self._show_found)
        self.find_bar.closed.connect(lambda: self.composer.setFocus())
        box.addWidget(self.find_bar)

        composer_frame = QFrame()
        composer_frame.setObjectName("composerFrame")
        cl = QVBoxLayout(composer_frame)
        cl.setContentsMargins(18, 8, 18, 12)
        self.edit_banner = QLabel()
        self.edit_banner.setObjectName("mutedLabel")
        self.edit_banner.hide()
        cl.addWidget(self.edit_banner)
        row = QHBoxLayout()
        self.composer = Composer()
        self.composer.setObjectName("composer")
        self.composer.setPlaceholderText("Message Engram…  (Enter to send, Shift+Enter for a new line)")
        self.composer.setFixedHeight(78)
        self.composer.submitted.connect(self.submit)
        row.addWidget(self.composer, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("primaryButton")
        self.send_button.setToolTip("Send (Enter or Ctrl+Enter)")
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop generating (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.hide()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        cl.addLayout(row)
        box.addWidget(composer_frame)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.submit)
        QShortcut(QKeySequence.StandardKey.Find, self, self.find_bar.open)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self._escape)

    # -- conversation ---------------------------------------------------------------------
    def open_conversation(self, conversation_id: str | None, scroll_to: str = "") -> None:
        self.conversation_id = conversation_id
        self._cancel_edit()
        if self.find_bar.isVisible():
            self.find_bar.close_bar()
        if conversation_id is None:
            self.conversation = None
            self._render([])
            self.title.setText("New chat")
            self.incognito_badge.hide()
            return
        self.services.runner.db(
            lambda ctx: load_thread(ctx.engram, conversation_id),
            success=lambda res: self._loaded(conversation_id, res, scroll_to),
            failure=self._show_error)

    def reload(self) -> None:
        if self.conversation_id:
            self.open_conversation(self.conversation_id)

    def _loaded(self, conversation_id: str, res: tuple[Conversation, list[MessageItem]],
                scroll_to: str) -> None:
        if conversation_id != self.conversation_id:
            return
        conv, items = res
        self.conversation = conv
        self.title.setText(conv.title or "Untitled chat")
        self.incognito_badge.setVisible(conv.incognito)
        own = bool(conv.meta.get("system_prompt"))
        self.instructions_button.setText("Instructions ✓" if own else "Instructions…")
        if self.generating is None or conversation_id != self._generating_cid:
            self._render(items)
            if scroll_to:
                self._scroll_to_message(scroll_to)
            else:
                self._scroll_to_bottom()

    def _on_changed(self, changes: Changes) -> None:
        """Reload when another operation changed this conversation (a branch switch, a purge);
        this view's own turns are already on screen."""
        if changes is self._announced:
            return
        cid = self.conversation_id
        if changes.touches_conversation(cid) and (
                self.generating is None or cid != self._generating_cid):
            self.reload()

    def _render(self, items: list[MessageItem]) -> None:
        if self._stream_widget in self.widgets:
            self._stream_widget = None      # generation goes on in the background
        for w in self.widgets:
            self._discard(w)
        self.widgets = []
        self.empty.setVisible(not items)
        for item in items:
            self._append_widget(item)
        # A shorter thread than before (another branch) left the old scroll position past
        # the new end: the pane showed blank until scrolled. Lay out now, then clamp.
        self.list_box.activate()
        self.scroll.widget().adjustSize()
        bar = self.scroll.verticalScrollBar()
        bar.setValue(min(bar.value(), bar.maximum()))

    def _discard(self, w: MessageWidget) -> None:
        """Take a message widget out of the view. Never `setParent(None)`: a widget added a
        moment ago still has Qt's deferred show queued, which then opened it as a window of
        its own (a stray top-level copy of the old message over a half-painted pane)."""
        w.hide()
        self.list_box.removeWidget(w)
        w.deleteLater()

    def _append_widget(self, item: MessageItem) -> MessageWidget:
        w = MessageWidget(item)
        w.edit_requested.connect(self.begin_edit)
        w.regenerate_requested.connect(self.regenerate)
        w.branch_requested.connect(self.switch_branch)
        w.memory_clicked.connect(self.services.events.open_memory.emit)
        w.delete_requested.connect(self.delete_message)
        w.memory_feedback.connect(self.services.events.memory_feedback.emit)
        self.list_box.insertWidget(self.list_box.count() - 1, w)
        self.widgets.append(w)
        self.empty.hide()
        return w

    def _scroll_to_bottom(self) -> None:
        QTimer.singleShot(0, lambda: self.scroll.verticalScrollBar().setValue(
            self.scroll.verticalScrollBar().maximum()))

    def _scroll_to_message(self, message_id: str) -> None:
        for w in self.widgets:
            if w.item.id == message_id:
                w.setProperty("highlight", True)
                w.style().unpolish(w)
                w.style().polish(w)
                QTimer.singleShot(0, lambda w=w: self.scroll.ensureWidgetVisible(w, 0, 40))
                return

    def _show_found(self, w: MessageWidget) -> None:
        QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(w, 0, 60))

    # -- what a person does to a chat --------------------------------------------------------
    def delete_message(self, message_id: str, *, confirm: bool = True) -> None:
        """Remove one message from the chat (its text is erased; the replies stay)."""
        if self.generating is not None:
            return
        if confirm and not confirm_delete_message(self):
            return
        self.services.runner.change(
            lambda ctx: conversation_ops.delete_message(ctx.engram, message_id),
            failure=self._show_error)

    def edit_instructions(self) -> None:
        """This chat's own system prompt (empty: the one for every chat, from Settings)."""
        cid = self.conversation_id
        if cid is None:
            self._show_error(RuntimeError("Send a first message, then give this chat its "
                                          "own instructions."))
            return
        self.services.runner.db(lambda ctx: ctx.engram.conversations.get(cid),
                                success=self._ask_instructions, failure=self._show_error)

    def _ask_instructions(self, conv: Conversation) -> None:
        text = ask_chat_instructions(self, str(conv.meta.get("system_prompt", "")))
        if text is not None:
            self.set_instructions(conv.id, text)

    def set_instructions(self, conversation_id: str, text: str) -> None:
        self.services.runner.change(
            lambda ctx: conversation_ops.set_system_prompt(ctx.engram, conversation_id, text),
            failure=self._show_error)

    # -- sending ----------------------------------------------------------------------------
    def submit(self) -> None:
        text = self.composer.toPlainText().strip()
        if not text or self.generating is not None:
            return
        if self.services.llm is None and self.services.model_loading:
            self._show_error(RuntimeError(
                "The model is still loading (see the status bar). Your message is kept: "
                "send it again in a moment."))
            return
        if self.services.llm is None:
            self._show_error(RuntimeError(
                "No model is loaded. Open Settings (Ctrl+,) to choose a GGUF file, "
                "or start the starter model from the welcome page."))
            return
        if self._editing_id:
            message_id = self._editing_id
            self._cancel_edit()
            self.composer.clear()
            self._start_turn("edit", text=text, message_id=message_id)
            return
        self.composer.clear()
        if self.conversation_id is None:
            # untitled: the chat service titles it from this first message
            self.services.runner.change(
                lambda ctx: conversation_ops.create(ctx.engram)[1],
                success=lambda changes: self._created_then_send(changes.conversations[0], text),
                failure=self._show_error)
            return
        self._start_turn("send", text=text)

    def _created_then_send(self, conversation_id: str, text: str) -> None:
        self.conversation_id = conversation_id
        self._start_turn("send", text=text)

    def regenerate(self, message_id: str) -> None:
        if self.generating is None:
            self._start_turn("regenerate", message_id=message_id)

    def switch_branch(self, message_id: str) -> None:
        """Show another version (edit or regeneration) of a message and its thread."""
        if self.generating is not None or self.conversation_id is None:
            return
        self.services.runner.change(
            lambda ctx: conversation_ops.switch_branch(ctx.engram, message_id),
            failure=self._show_error)

    def begin_edit(self, message_id: str) -> None:
        if self.generating is not None:
            return
        w = next((w for w in self.widgets if w.item.id == message_id), None)
        if w is None:
            return
        self._editing_id = message_id
        self.composer.setPlainText(w.item.text)
        self.composer.setFocus()
        self.edit_banner.setText("Editing a message: Enter sends it as a new branch "
                                 "(the old version stays, use ‹ › to switch). Esc cancels.")
        self.edit_banner.show()

    def _cancel_edit(self) -> None:
        if self._editing_id:
            self._editing_id = None
            self.edit_banner.hide()

    def _escape(self) -> None:
        if self.find_bar.isVisible():
            self.find_bar.close_bar()
        elif self.generating is not None:
            self.stop()
        elif self._editing_id:
            self._cancel_edit()
            self.composer.clear()

    def _start_turn(self, action: str, *, text: str = "", message_id: str | None = None) -> None:
        cid = self.conversation_id
        assert cid is not None
        llm = self.services.llm
        # Show the turn at once: the user's message (send/edit) and an empty answer.
        if action in ("send", "edit"):
            if action == "edit":
                self._truncate_from(message_id)
            self._append_widget(MessageItem(id="", role="user", text=text))
        else:
            self._truncate_from(message_id)
        self._stream_widget = self._append_widget(MessageItem(
            id="", role="assistant", text="", model=self.services.model_label))
        self._stream_widget.set_text("…")
        self._stream_text = ""
        self._scroll_to_bottom()

        def work(ctx: OpContext) -> tuple[TurnResult, list[MessageItem]]:
            if llm is None:
                raise EngramError("No model is loaded. Choose one in Settings or on the "
                                  "welcome page.")
            service = ChatService(ctx.engram, llm)
            stream = {"on_token": lambda piece: ctx.post(self._on_token, piece),
                      "should_stop": ctx.cancelled}
            with self.services.person_turn():     # background model work steps aside
                if action == "send":
                    result = service.send(cid, text, **stream)
                elif action == "regenerate":
                    result = service.regenerate(message_id, **stream)
                else:
                    result = service.edit_and_resend(message_id, text, **stream)
            convs = ctx.engram.conversations
            return result, [message_item(convs, result.user_message),
                            message_item(convs, result.assistant_message, result.trace)]

        op = Op(work, lane="background", success=self._turn_done, failure=self._turn_failed,
                label="Generating")
        self.generating = op
        self._generating_cid = cid
        self._set_generating(True)
        self._flush.start()
        self.services.runner.submit(op)

    def _truncate_from(self, message_id: str | None) -> None:
        idx = next((i for i, w in enumerate(self.widgets) if w.item.id == message_id), None)
        if idx is None:
            return
        for w in self.widgets[idx:]:
            self._discard(w)
        self.widgets = self.widgets[:idx]

    def _on_token(self, piece: str) -> None:
        self._stream_text += piece
        self._stream_dirty = True

    def _flush_stream(self) -> None:
        if self._stream_dirty and self._stream_widget is not None:
            self._stream_dirty = False
            bar = self.scroll.verticalScrollBar()
            at_bottom = bar.value() >= bar.maximum() - 40
            self._stream_widget.set_text(self._stream_text)
            if at_bottom:
                self._scroll_to_bottom()

    def stop(self) -> None:
        if self.generating is not None:
            self.generating.cancel()
            llm = self.services.llm
            if llm is not None and hasattr(llm, "stop"):
                llm.stop()        # also interrupts a long prompt evaluation
            self.stop_button.setEnabled(False)

    def _turn_done(self, done: tuple[TurnResult, list[MessageItem]]) -> None:
        result, items = done
        self._flush_stream()
        on_screen = self._stream_widget in self.widgets
        self._end_generation()
        if result.conversation_id == self.conversation_id:
            if on_screen:
                self._show_finished(items)
            else:                           # the view was reloaded meanwhile
                self.reload()
            self.title.setText(result.title or "Untitled chat")
        self._announced = result.changes
        self.services.events.announce(result.changes)
        self.services.events.reply_stats.emit(result.stats)
        if result.notice:
            self.services.events.notice.emit(result.notice)
        self.turn_finished.emit(result)

    def _show_finished(self, items: list[MessageItem]) -> None:
        """The stored messages take the place of the turn's placeholders (and of the older
        widgets of the same messages, whose branch counts changed)."""
        for w in [w for w in self.widgets if not w.item.id or
                  any(w.item.id == i.id for i in items)]:
            self.widgets.remove(w)
            self._discard(w)
        for item in items:
            self._append_widget(item)

    def _turn_failed(self, error: BaseException) -> None:
        self._end_generation()
        self.reload()
        self._show_error(error)
        self.turn_failed.emit(str(error))

    def _end_generation(self) -> None:
        self._flush.stop()
        self.generating = None
        self._stream_widget = None
        self._set_generating(False)

    def _set_generating(self, on: bool) -> None:
        self.send_button.setVisible(not on)
        self.stop_button.setVisible(on)
        self.stop_button.setEnabled(on)
        for w in self.widgets:
            w.setEnabled(not on or w is self._stream_widget)

    def _update_composer_state(self) -> None:
        has_model = self.services.llm is not None
        self.composer.setPlaceholderText(
            "Message Engram…  (Enter to send, Shift+Enter for a new line)" if has_model else
            "No model loaded: choose one in Settings (Ctrl+,). Import and the inspector work without one.")
        self.composer.viewport().update()     # Qt repaints a placeholder only when asked

    def _show_error(self, error: BaseException) -> None:
        show_error(self, error)
