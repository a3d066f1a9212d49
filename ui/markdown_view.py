"""Markdown for chat messages: prose through Qt's Markdown support (LaTeX math made readable
first, ui.math_text), fenced code blocks as monospace panels with their own Copy button (as
chat apps show them)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.math_text import readable_math

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)(?:^```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Segment:
    kind: str          # "text" or "code"
    text: str
    language: str = ""


def split_markdown(text: str) -> list[Segment]:
    """Split into prose and fenced code. An unclosed fence (while streaming) runs to the end."""
    out: list[Segment] = []
    pos = 0
    for m in _FENCE.finditer(text):
        if m.start() > pos and text[pos:m.start()].strip():
            out.append(Segment("text", text[pos:m.start()].strip("\n")))
        out.append(Segment("code", m.group(2).rstrip("\n"), m.group(1).strip()))
        pos = m.end()
    if text[pos:].strip():
        out.append(Segment("text", text[pos:].strip("\n")))
    return out


class CodeBlock(QFrame):
    def __init__(self, code: str, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codeBlock")
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 6, 10, 8)
        box.setSpacing(4)
        head = QHBoxLayout()
        lang = QLabel(language or "code")
        lang.setObjectName("codeLanguage")
        head.addWidget(lang)
        head.addStretch(1)
        copy = QPushButton("Copy")
        copy.setObjectName("flatButton")
        copy.setCursor(Qt.CursorShape.PointingHandCursor)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.code.text()))
        head.addWidget(copy)
        box.addLayout(head)
        self.code = QLabel()
        self.code.setTextFormat(Qt.TextFormat.PlainText)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code.setWordWrap(True)
        self.code.setText(code)
        box.addWidget(self.code)

    def set_code(self, code: str) -> None:
        if self.code.text() != code:
            self.code.setText(code)


class MarkdownView(QWidget):
    """A read-only rendering of one message's text that can be updated while it streams."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(6)
        self._segments: list[Segment] = []
        self._widgets: list[QWidget] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.text = ""
        self.set_text(text)

    def set_text(self, text: str) -> None:
        self.text = text
        segments = split_markdown(text) or [Segment("text", "")]
        # Reuse widgets whose kind matches: while streaming only the last one changes.
        for i, seg in enumerate(segments):
            if i < len(self._widgets) and self._segments[i].kind == seg.kind:
                if self._segments[i] != seg:
                    self._update(self._widgets[i], seg)
                continue
            for w in self._widgets[i:]:
                w.deleteLater()
            self._widgets = self._widgets[:i]
            self._segments = self._segments[:i]
            for s in segments[i:]:
                w = self._make(s)
                self._box.addWidget(w)
                self._widgets.append(w)
            break
        self._segments = segments
        for w in self._widgets[len(segments):]:
            w.deleteLater()
        self._widgets = self._widgets[:len(segments)]

    def _make(self, seg: Segment) -> QWidget:
        if seg.kind == "code":
            return CodeBlock(seg.text, seg.language)
        label = QLabel()
        label.setObjectName("messageText")
        label.setTextFormat(Qt.TextFormat.MarkdownText)
        label.setWordWrap(True)
        label.setOpenExternalLinks(False)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                      | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        label.setText(readable_math(seg.text))
        return label

    def _update(self, widget: QWidget, seg: Segment) -> None:
        if isinstance(widget, CodeBlock):
            widget.set_code(seg.text)
        elif isinstance(widget, QLabel):
            widget.setText(readable_math(seg.text))
