"""Find in this chat (Ctrl+F): a bar above the composer that finds the words in the messages on
screen, says "2 of 5", and moves between them with Enter / Shift+Enter (Esc closes it)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from ui.message_widget import MessageWidget


def matching(widgets: list[MessageWidget], words: str) -> list[MessageWidget]:
    """The messages that contain every word (case-insensitive), in order."""
    needles = words.lower().split()
    if not needles:
        return []
    return [w for w in widgets if all(n in w.item.text.lower() for n in needles)]


class FindBar(QFrame):
    closed = Signal()

    def __init__(self, widgets: Callable[[], list[MessageWidget]],
                 show: Callable[[MessageWidget], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findBar")
        self._widgets = widgets
        self._show = show
        self.hits: list[MessageWidget] = []
        self.index = -1
        row = QHBoxLayout(self)
        row.setContentsMargins(18, 4, 18, 4)
        self.field = QLineEdit()
        self.field.setPlaceholderText("Find in this chat")
        self.field.setClearButtonEnabled(True)
        self.field.textChanged.connect(self.search)
        self.field.installEventFilter(self)
        self.count = QLabel("")
        self.count.setObjectName("mutedLabel")
        prev = QToolButton(text="↑", toolTip="Previous match (Shift+Enter)")
        nxt = QToolButton(text="↓", toolTip="Next match (Enter)")
        close = QToolButton(text="✕", toolTip="Close (Esc)")
        prev.clicked.connect(self.previous)
        nxt.clicked.connect(self.next)
        close.clicked.connect(self.close_bar)
        for w in (self.field, self.count, prev, nxt, close):
            row.addWidget(w, 1 if w is self.field else 0)
        self.hide()

    def open(self) -> None:
        self.show()
        self.field.setFocus()
        self.field.selectAll()
        self.search(self.field.text())

    def close_bar(self) -> None:
        self._mark(None)
        self.hide()
        self.closed.emit()

    def eventFilter(self, watched, event) -> bool:
        """In the field: Enter = next, Shift+Enter = previous, Esc = close."""
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape:
                self.close_bar()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.previous()
                else:
                    self.next()
                return True
        return super().eventFilter(watched, event)

    def search(self, words: str) -> None:
        self.hits = matching(self._widgets(), words)
        self.index = len(self.hits) - 1 if self.hits else -1    # the newest first
        self._go()

    def next(self) -> None:
        if self.hits:
            self.index = (self.index + 1) % len(self.hits)
        self._go()

    def previous(self) -> None:
        if self.hits:
            self.index = (self.index - 1) % len(self.hits)
        self._go()

    def _go(self) -> None:
        words = self.field.text().strip()
        if not words:
            self.count.setText("")
        elif not self.hits:
            self.count.setText("No match")
        else:
            self.count.setText(f"{self.index + 1} of {len(self.hits)}")
        current = self.hits[self.index] if self.hits else None
        self._mark(current)
        if current is not None:
            self._show(current)

    def _mark(self, current: MessageWidget | None) -> None:
        for w in self._widgets():
            on = w is current
            if bool(w.property("highlight")) != on:
                w.setProperty("highlight", on)
                w.style().unpolish(w)
                w.style().polish(w)
