"""Help: the keyboard shortcuts (read from the window's own menu actions, so the list cannot
drift from what the keys do) and About (version, where the data lives, what stays local)."""
from __future__ import annotations

from importlib import metadata

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# Keys that are not menu actions (the composer, the find bar, the edit banner).
EXTRA_KEYS = (("Enter", "Send the message"), ("Shift+Enter", "A new line in the message"),
              ("Esc", "Stop the answer, or cancel an edit"),
              ("Enter / Shift+Enter in Find", "Next / previous match"))


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    rows = []
    for action in window.findChildren(QAction):
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys and action.text():
            rows.append((keys, action.text().replace("&", "").rstrip("…")))
    return sorted(set(rows), key=lambda r: r[1]) + list(EXTRA_KEYS)


def _dialog(parent: QWidget, title: str) -> tuple[QDialog, QVBoxLayout]:
    dlg = QDialog(parent)
    dlg.setWindowTitle(title)
    box = QVBoxLayout(dlg)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dlg.reject)
    dlg.finished.connect(lambda _r: dlg.deleteLater())
    dlg._buttons = buttons      # added last by the caller
    return dlg, box


def shortcuts_dialog(window: QWidget) -> QDialog:
    dlg, box = _dialog(window, "Keyboard shortcuts")
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2)
    table.setObjectName("shortcutsTable")
    table.setHorizontalHeaderLabels(["Keys", "What it does"])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for i, (keys, what) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(keys))
        table.setItem(i, 1, QTableWidgetItem(what))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    box.addWidget(table)
    box.addWidget(dlg._buttons)
    dlg.resize(520, 560)
    return dlg


def about_dialog(parent: QWidget, services) -> QDialog:
    dlg, box = _dialog(parent, "About Engram")
    try:
        version = metadata.version("engram")
    except metadata.PackageNotFoundError:
        version = "development"
    text = QLabel(
        f"<h3>Engram {version}</h3>"
        "<p>A private assistant with a long-term memory you can see and control.</p>"
        f"<p>Model: {services.model_label}<br>"
        f"Your data: <code>{services.layout.data_dir}</code></p>"
        "<p>Everything stays on this computer unless you point Engram at a server "
        "(Settings → Remote model).</p>"
        "<p>Press F1 for the keyboard shortcuts.</p>")
    text.setWordWrap(True)
    text.setObjectName("aboutText")
    box.addWidget(text)
    box.addWidget(dlg._buttons)
    return dlg
