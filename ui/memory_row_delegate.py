"""Two lines per memory in the inspector's table: the memory itself, in full width, and under
it in a muted line what a person asks next (what kind, who said it, about whom or in which
chat, when it happened and when it was stored). The other columns stay in the model (the CLI
and the tests read them) but only the state keeps a column of its own, so the text is never
squeezed to a few words (issue 15: "the Memory column is too narrow to read")."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

DETAIL_ROLE = Qt.ItemDataRole.UserRole + 2
ROW_HEIGHT = 44


class MemoryRowDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex) -> None:
        if index.column() != 0:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        detail = index.data(DETAIL_ROLE) or ""
        r = option.rect.adjusted(6, 3, -6, -3)
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        fg = index.data(Qt.ItemDataRole.ForegroundRole)
        main = opt.palette.highlightedText().color() if selected else (
            fg if isinstance(fg, QColor) else opt.palette.text().color())
        painter.setFont(opt.font)
        fm = QFontMetrics(opt.font)
        top = QRect(r.left(), r.top(), r.width(), r.height() // 2)
        painter.setPen(main)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(text, Qt.TextElideMode.ElideRight, r.width()))
        small = opt.font
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        small.setBold(False)
        painter.setFont(small)
        painter.setPen(main if selected else QColor("#6b7484"))
        bottom = QRect(r.left(), r.top() + r.height() // 2, r.width(), r.height() // 2)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(small).elidedText(detail, Qt.TextElideMode.ElideRight,
                                                        r.width()))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), ROW_HEIGHT)
