"""Widgets that fit a small screen: labels that wrap instead of widening their panel, and rows
of buttons that go onto a second line when the panel is narrow (the inspector dock, the
welcome page beside it)."""
from __future__ import annotations

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
