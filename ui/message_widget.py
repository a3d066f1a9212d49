"""One message in the chat view: role, rendered text, branch arrows, actions, memory chips."""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.services.chat import withheld_text
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
    length_limit: bool = False    # the reply reached the longest-reply setting
    withheld: str = ""            # why nothing of the reply was kept (core.services.chat cut)


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
    delete_requested = Signal(str)            # message id
    # the person's word on a memory this answer used: (memory id, this message id, verdict)
    # with verdict one of FEEDBACK (ui.memory_inspector runs it)
    memory_feedback = Signal(str, str, str)

    MAX_CHIPS = 6
    FEEDBACK = (("not_relevant", "Not relevant", "It ranks lower for questions like this one"),
                ("wrong", "Wrong…", "Open it to correct or forget it"),
                ("forget", "Forget", "Never use it in answers (restore it in the inspector)"),
                ("always", "Always include", "Send it with every message"))

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
        self.stopped_label = QLabel(
            withheld_text(item.withheld) if item.withheld else "Stopped" if item.stopped else
            "Cut at the length limit (Settings → Model → Longest reply)")
        self.stopped_label.setObjectName("mutedLabel")
        self.stopped_label.setWordWrap(True)
        self.stopped_label.setVisible(item.stopped or item.length_limit or bool(item.withheld))
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
        if item.id:
            self.delete_button = self._tool("Delete", "Delete this message from the chat")
            self.delete_button.clicked.connect(lambda: self.delete_requested.emit(item.id))
            row.addWidget(self.delete_button)
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
            chip = QToolButton()
            chip.setText(short or f"({mem.status})")
            chip.setObjectName("memoryChip")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip(f"{_kind_word(mem.kind)} · score {mem.score:.2f}\n{text[:300]}\n"
                            "Click to open it; the arrow says it was not relevant or wrong, "
                            "forgets it, or always includes it.")
            chip.setProperty("memory_id", mem.memory_id)
            chip.clicked.connect(lambda _=False, m=mem.memory_id: self.memory_clicked.emit(m))
            chip.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
            chip.setMenu(self.chip_menu(chip))
            self.chips.box.addWidget(chip)
        if len(memories) > self.MAX_CHIPS:
            more = QLabel(f"+{len(memories) - self.MAX_CHIPS} more")
            more.setObjectName("mutedLabel")
            self.chips.box.addWidget(more)

    def chip_menu(self, chip: QToolButton) -> QMenu:
        """The feedback menu of one chip (its actions emit `memory_feedback`)."""
        menu = QMenu(self)
        menu.setObjectName("memoryChipFeedback")
        mid = chip.property("memory_id")
        for verdict, label, tip in self.FEEDBACK:
            action = menu.addAction(label)
            action.setToolTip(tip)
            action.setData(verdict)
            action.triggered.connect(lambda _=False, v=verdict, c=chip: self._judge(c, v))
        menu.setToolTipsVisible(True)
        menu.setProperty("memory_id", mid)
        return menu

    def _judge(self, chip: QToolButton, verdict: str) -> None:
        mid = chip.property("memory_id")
        self.memory_feedback.emit(mid, self.item.id, verdict)
        said = {"not_relevant": "marked not relevant", "wrong": "marked wrong",
                "forget": "forgotten", "always": "always included"}[verdict]
        chip.setProperty("feedback", verdict)
        if verdict in ("not_relevant", "forget"):
            font = chip.font()
            font.setStrikeOut(True)
            chip.setFont(font)
        chip.setToolTip(f"You {said} this memory.\n" + chip.toolTip().split("\n", 1)[-1])

    def chip_buttons(self) -> list[QToolButton]:
        return [w for w in (self.chips.box.itemAt(i).widget()
                            for i in range(self.chips.box.count()))
                if isinstance(w, QToolButton) and w.objectName() == "memoryChip"]


def _kind_word(kind: str) -> str:
    return {"episodic": "What was said", "fact": "Fact", "thought": "Thought",
            "summary": "Summary", "compact": "Chat summary", "portrait": "Portrait"}.get(
        kind, kind)
