"""Small non-blocking dialogs (a blocking `exec()` would freeze tests and stall the loop)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def show_error(parent: QWidget | None, error: BaseException | str) -> QMessageBox:
    """A window-modal message box opened without a nested event loop."""
    text = str(error) or error.__class__.__name__
    box = QMessageBox(QMessageBox.Icon.Warning, "Engram", text, QMessageBox.StandardButton.Ok,
                      parent)
    box.setObjectName("errorBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def ask(parent: QWidget | None, title: str, text: str, on_yes: Callable[[], None], *,
        yes_text: str = "OK", destructive: bool = False, detail: str = "") -> QMessageBox:
    """A confirmation opened without a nested event loop; `on_yes` runs if confirmed."""
    box = QMessageBox(QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question,
                      title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("confirmBox")
    if detail:
        box.setInformativeText(detail)
    yes = box.addButton(yes_text, QMessageBox.ButtonRole.DestructiveRole if destructive
                        else QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def done(button) -> None:
        if button is yes:
            on_yes()

    box.buttonClicked.connect(done)
    box.open()
    return box
