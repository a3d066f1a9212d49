"""Widgets that fit a small screen: labels that wrap instead of widening their panel, rows
of buttons that go onto a second line when the panel is narrow (the inspector dock, the
welcome page beside it), and one-line texts that end in "…" (the status bar)."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from ui.flow_layout import FlowLayout


def flexible(label: QLabel, minimum: int = 120) -> QLabel:
    """A wrapped label whose text never widens its panel: it takes the width it is given and
    wraps there (a long word is cut at the edge rather than pushing the dock wider)."""
    label.setWordWrap(True)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    label.setMinimumWidth(minimum)
    return label


def wrapping_row(*widgets: QWidget) -> QWidget:
    """The widgets left to right, continuing on the next line when they do not fit."""
    holder = QWidget()
    flow = FlowLayout(holder)
    for widget in widgets:
        flow.addWidget(widget)
    return holder


class ElidedLabel(QLabel):
    """A status-bar text that ends in "…" where the bar is too narrow, the whole of it in the
    tooltip: a long line ("Background: Summarising an imported conversation (12/40 messages)…
    · 9 waiting") must never make the window wider than the screen."""

    MIN_WIDTH = 80

    def __init__(self, tip: str = "") -> None:
        super().__init__()
        self._tip = tip
        if tip:
            self.setToolTip(tip)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(f"{text}\n\n{self._tip}" if self._tip and text else (text or self._tip))

    def minimumSizeHint(self) -> QSize:
        return QSize(min(self.MIN_WIDTH, super().sizeHint().width()),
                     super().minimumSizeHint().height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                              rect.width())
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), shown)
