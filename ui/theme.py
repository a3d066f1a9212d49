"""The app's look: Fusion style plus a small stylesheet from assets/style.qss."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    qss = ASSETS / "style.qss"
    if qss.exists():
        app.setStyleSheet(qss.read_text("utf-8"))
