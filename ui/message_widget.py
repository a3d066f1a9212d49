"""One message in the chat view: role, rendered text, branch arrows, actions, memory chips."""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.store.retrievals import TraceItem
from ui.flow_layout import FlowLayout
from ui.markdown_view import MarkdownView


@dataclass
class MessageItem:
    """What the view needs about one message (built on the db thread)."""
    id: str
    role: str
    text: str
    branch_index: int = 0         # position among its siblings
    branch_count: int = 1
    sibling_ids: list[str] = field(default_factory=list)
    memories: list[TraceItem] = field(default_factory=list)   # what its answer used
    model: str | None = None
    stopped: bool = False


class FlowRow(QWidget):
    """Chips placed left to right, wrapping onto more lines when the answer is narrow."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = FlowLayout(self)


class MessageWidget(QFrame):
    copy_requested = Signal(str)
    edit_requested = Signal(str)              # message id (user messages)
    regenerate_requested = Signal(str)        # message id (assistant messages)
    branch_requested = Signal(str)            # sibling message id to show
    memory_clicked = Signal(str)

    MAX_CHIPS = 6

    def __init__(self, item: MessageItem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.setObjectName("userMessage" if item.role == "user" else "assistantMessage")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 10, 14, 8)
        outer.setSpacing(6)
        head = QHBoxLayout()
        who = QLabel("You" if item.role == "user" else "Assistant")
        who.setObjectName("roleLabel")
        head.addWidget(who)
        if item.role == "assistant" and item.model:
            model = QLabel(item.model)
            model.setObjectName("mutedLabel")
            head.addWidget(model)
        head.addStretch(1)
        outer.addLayout(head)
        self.body = MarkdownView(item.text)
        outer.addWidget(self.body)
        self.stopped_label = QLabel("Stopped")
        self.stopped_label.setObjectName("mutedLabel")
        self.stopped_label.setVisible(item.stopped)
        outer.addWidget(self.stopped_label)
        self.chips = FlowRow()
        outer.addWidget(self.chips)
        self.set_memories(item.memories)
        outer.addLayout(self._footer())

    def _footer(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(2)
        item = self.item
        self.branch_label = QLabel()
        self.branch_label.setObjectName("mutedLabel")
        if item.branch_count > 1:
            prev = self._tool("‹", "Previous version")
            nxt = self._tool("›", "Next version")
            prev.setEnabled(item.branch_index > 0)
            nxt.setEnabled(item.branch_index < item.branch_count - 1)
            prev.clicked.connect(lambda: self._go(-1))
            nxt.clicked.connect(lambda: self._go(1))
            self.branch_label.setText(f"{item.branch_index + 1} / {item.branch_count}")
            row.addWidget(prev)
            row.addWidget(self.branch_label)
            row.addWidget(nxt)
        row.addStretch(1)
        copy = self._tool("Copy", "Copy this message")
        copy.clicked.connect(self._copy)
        row.addWidget(copy)
        if item.role == "user":
            self.edit_button = self._tool("Edit", "Edit and resend (keeps the old version as a branch)")
            self.edit_button.clicked.connect(lambda: self.edit_requested.emit(item.id))
            row.addWidget(self.edit_button)
        else:
            self.regenerate_button = self._tool("Regenerate", "Write another answer (a new branch)")
            self.regenerate_button.clicked.connect(lambda: self.regenerate_requested.emit(item.id))
            row.addWidget(self.regenerate_button)
        return row

    def _tool(self, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setObjectName("messageAction")
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.setAutoRaise(True)
        return b

    def _go(self, step: int) -> None:
        i = self.item.branch_index + step
        if 0 <= i < len(self.item.sibling_ids):
            self.branch_requested.emit(self.item.sibling_ids[i])

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.body.text)
        self.copy_requested.emit(self.item.id)

    def set_text(self, text: str) -> None:
        self.item.text = text
        self.body.set_text(text)

    def set_stopped(self, stopped: bool) -> None:
        self.stopped_label.setVisible(stopped)

    def set_memories(self, memories: list[TraceItem]) -> None:
        self.item.memories = memories
        while self.chips.box.count():
            w = self.chips.box.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.chips.setVisible(bool(memories))
        if not memories:
            return
        title = QLabel("Memories used:")
        title.setObjectName("mutedLabel")
        self.chips.box.addWidget(title)
        for mem in memories[: self.MAX_CHIPS]:
            text = (mem.text or "").replace("\n", " ")
            for prefix in ("User: ", "Assistant: "):
                text = text.removeprefix(prefix)
            short = text[:38] + "…" if len(text) > 38 else text
            chip = QPushButton(short or f"({mem.status})")
            chip.setObjectName("memoryChip")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip(f"{mem.kind} · score {mem.score:.2f}\n{text[:300]}")
            chip.setProperty("memory_id", mem.memory_id)
            chip.clicked.connect(lambda _=False, m=mem.memory_id: self.memory_clicked.emit(m))
            self.chips.box.addWidget(chip)
        if len(memories) > self.MAX_CHIPS:
            more = QLabel(f"+{len(memories) - self.MAX_CHIPS} more")
            more.setObjectName("mutedLabel")
            self.chips.box.addWidget(more)

    def chip_buttons(self) -> list[QPushButton]:
        return [self.chips.box.itemAt(i).widget() for i in range(self.chips.box.count())
                if isinstance(self.chips.box.itemAt(i).widget(), QPushButton)]
