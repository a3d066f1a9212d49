"""A small plot of MemoryBank's retention R(t) = exp(-t / S), drawn with QPainter.

t is measured in days from the last recall (or creation); S is the memory's strength, which
grows by one with each recall. A dot marks today; the dashed line is the forgetting threshold.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def retention(days: float, strength: float) -> float:
    return math.exp(-max(days, 0.0) / max(strength, 1e-6))


class RetentionPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strength = 1.0
        self.days_since = 0.0
        self.threshold = 0.05
        self.pinned = False
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(320, 170)

    def set_values(self, strength: float, days_since: float, threshold: float,
                   pinned: bool = False) -> None:
        self.strength, self.days_since = strength, days_since
        self.threshold, self.pinned = threshold, pinned
        self.update()

    def horizon_days(self) -> float:
        """Show until retention falls under the threshold, with today in view."""
        fade = -self.strength * math.log(max(self.threshold, 1e-6))
        return max(1.0, min(365.0, max(fade * 1.15, self.days_since * 1.2)))

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(38, 10, -12, -26)
        p.fillRect(self.rect(), QColor("#ffffff"))
        axis = QPen(QColor("#c4c9d2"))
        p.setPen(axis)
        p.drawLine(area.bottomLeft(), area.bottomRight())
        p.drawLine(area.bottomLeft(), area.topLeft())
        p.setPen(QColor("#6b7484"))
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        p.setFont(font)
        horizon = self.horizon_days()
        p.drawText(QRectF(0, area.top() - 6, 34, 14), Qt.AlignmentFlag.AlignRight, "1.0")
        p.drawText(QRectF(0, area.bottom() - 8, 34, 14), Qt.AlignmentFlag.AlignRight, "0")
        p.drawText(QRectF(area.left(), area.bottom() + 4, 80, 14), Qt.AlignmentFlag.AlignLeft,
                   "last recall")
        p.drawText(QRectF(area.right() - 90, area.bottom() + 4, 90, 14),
                   Qt.AlignmentFlag.AlignRight, f"{horizon:.0f} days")

        def pt(day: float, r: float) -> QPointF:
            return QPointF(area.left() + area.width() * day / horizon,
                           area.bottom() - area.height() * r)

        ty = pt(0, self.threshold).y()
        p.setPen(QPen(QColor("#d9822b"), 1, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(area.left(), ty), QPointF(area.right(), ty))
        path = QPainterPath(pt(0, 1.0))
        steps = 120
        for i in range(1, steps + 1):
            d = horizon * i / steps
            path.lineTo(pt(d, 1.0 if self.pinned else retention(d, self.strength)))
        p.setPen(QPen(QColor("#3b6fd8"), 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        now_r = 1.0 if self.pinned else retention(self.days_since, self.strength)
        now = pt(min(self.days_since, horizon), now_r)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#1d2430"))
        p.drawEllipse(now, 4, 4)
        p.setPen(QColor("#1d2430"))
        label = f"now: R = {now_r:.2f}" + (" (pinned)" if self.pinned else "")
        lx = min(now.x() + 10, area.right() - 140)
        ly = min(area.bottom() - 16, max(area.top() + 4, now.y() + 4))
        p.drawText(QRectF(lx, ly, 140, 14), Qt.AlignmentFlag.AlignLeft, label)
        p.end()
