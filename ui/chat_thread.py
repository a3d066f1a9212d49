"""What the chat view shows of a conversation, built on the db thread (`load_thread`,
`message_item`), and the composer that sends on Enter."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QPlainTextEdit

from core.services.engine import Engram
from core.store.conversations import Conversation, ConversationStore, Message
from core.store.retrievals import TraceItem
from ui.message_widget import MessageItem


def message_item(convs: ConversationStore, m: Message,
                 trace: Sequence[TraceItem] = ()) -> MessageItem:
    """What the view shows of one message: its text, its place among its versions (edits and
    regenerations), the memories its answer used."""
    ids = [s.id for s in convs.siblings(m.id) if s.role == m.role]
    return MessageItem(id=m.id, role=m.role, text=m.text,
                       branch_index=ids.index(m.id) if m.id in ids else 0,
                       branch_count=len(ids), sibling_ids=ids, memories=list(trace),
                       model=m.model, stopped=bool(m.meta.get("stopped")),
                       length_limit=bool(m.meta.get("length_limit")),
                       withheld=str(m.meta.get("cut") or "")
                       if m.role == "assistant" and not m.text.strip() else "")


def load_thread(eng: Engram, conversation_id: str) -> tuple[Conversation, list[MessageItem]]:
    """Runs on the db thread: the conversation and its visible branch as view items."""
    convs = eng.conversations
    conv = convs.get(conversation_id)
    shown = [m for m in convs.thread(conversation_id)
             if not m.hidden and m.role in ("user", "assistant")]
    traces = eng.retrievals.traces([m.id for m in shown if m.role == "assistant"])
    return conv, [message_item(convs, m, traces.get(m.id, ())) for m in shown]


class Composer(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.submitted.emit()
            return
        super().keyPressEvent(event)
