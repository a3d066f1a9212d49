"""The app's look: Fusion style plus assets/style.qss, light or dark.

The dark look is the same stylesheet with each colour swapped for its dark counterpart (one
file to keep in step). "system" (the default, QSettings `ui/theme`) follows the desktop's
colour scheme, also when it changes while Engram runs. Painted widgets take their colours
through `tone()`.
"""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ASSETS = Path(__file__).resolve().parents[1] / "assets"
THEMES = ("system", "light", "dark")

# light colour -> dark colour (style.qss and the painted widgets)
DARK = {
    "#f6f7f9": "#1e2127", "#1d2430": "#e4e7ec", "#eceff3": "#252930", "#dde1e7": "#343a44",
    "#ffffff": "#2a2f37", "#cfd5de": "#454c57", "#3b6fd8": "#5b8cf0", "#f0f3f8": "#323843",
    "#a3a9b3": "#6f7785", "#f4f5f7": "#2a2e35", "#c9cfd8": "#4a515c", "#325fbb": "#4a7be0",
    "#a9bde8": "#3a4f7a", "#b3261e": "#ff8a80", "#eef3fd": "#2c3a55", "#cbd9f5": "#3f5583",
    "#2c539f": "#a9c4ff", "#dfe9fb": "#34466a", "#6b7484": "#9aa3b2", "#eef1f6": "#343a45",
    "#e3e6eb": "#363c46", "#7a4fc0": "#c9a8ff", "#f1ebfb": "#3a2f52", "#e8effc": "#26354f",
    "#39414f": "#cfd5df", "#f3f4f6": "#23272e", "#e1e4e9": "#3a404a", "#f8f9fb": "#272b32",
    "#f7f8fa": "#2d3139", "#f0f2f5": "#2b3038", "#4a5260": "#b5bcc8", "#d3d8df": "#3b414b",
    "#dfe7fb": "#34466a", "#c3c9d2": "#4b525d", "#a9b0bb": "#5d6571", "#9aa1ad": "#6f7785",
    "#c4c9d2": "#4b525d",
}
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")
_dark = False


def chosen_theme() -> str:
    value = str(QSettings().value("ui/theme", "system"))
    return value if value in THEMES else "system"


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and scheme() != Qt.ColorScheme.Unknown:
        return scheme() == Qt.ColorScheme.Dark
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def is_dark() -> bool:
    return _dark


def tone(light: str) -> QColor:
    """A colour of the light look, in the look now shown."""
    return QColor(DARK.get(light.lower(), light) if _dark else light)


def stylesheet(dark: bool) -> str:
    qss = (ASSETS / "style.qss").read_text("utf-8") if (ASSETS / "style.qss").exists() else ""
    if dark:
        qss = _HEX.sub(lambda m: DARK.get(m.group(0).lower(), m.group(0)), qss)
    return qss


def apply_theme(app: QApplication, theme: str | None = None) -> bool:
    """Style the app; returns whether the dark look is on. Follows the system's scheme when
    the choice is "system" (connected once)."""
    global _dark
    app.setStyle("Fusion")
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    theme = theme or chosen_theme()
    _dark = system_is_dark() if theme == "system" else theme == "dark"
    palette = app.style().standardPalette()
    if _dark:
        for role, colour in ((QPalette.ColorRole.Window, "#1e2127"),
                             (QPalette.ColorRole.Base, "#2a2f37"),
                             (QPalette.ColorRole.AlternateBase, "#2d3139"),
                             (QPalette.ColorRole.Text, "#e4e7ec"),
                             (QPalette.ColorRole.WindowText, "#e4e7ec"),
                             (QPalette.ColorRole.ButtonText, "#e4e7ec"),
                             (QPalette.ColorRole.Button, "#2a2f37"),
                             (QPalette.ColorRole.ToolTipBase, "#2a2f37"),
                             (QPalette.ColorRole.ToolTipText, "#e4e7ec"),
                             (QPalette.ColorRole.PlaceholderText, "#8a93a2"),
                             (QPalette.ColorRole.Highlight, "#5b8cf0"),
                             (QPalette.ColorRole.Link, "#8fb3ff")):
            palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    app.setStyleSheet(stylesheet(_dark))
    hints = QGuiApplication.styleHints()
    if hasattr(hints, "colorSchemeChanged") and not app.property("engramFollowsScheme"):
        app.setProperty("engramFollowsScheme", True)
        hints.colorSchemeChanged.connect(
            lambda _scheme: chosen_theme() == "system" and apply_theme(app))
    return _dark
