"""The purge confirmation: what will go, one thing per line, before anything goes.

The list comes from core.services.purge_preview (read on the db lane); when the memories
came from messages, a check box says whether the message text goes too (by default for a
turn, whose text is the message's) or whether only the memory goes and the message stays.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from core.services.purge_preview import PurgePreview


def purge_text(preview: PurgePreview) -> str:
    lines = "".join(f"<li>{_escape(line)}</li>" for line in preview.lines())
    return (f"<p>Purging erases for good, and cannot be undone:</p><ul>{lines}</ul>")


def ask_purge(parent: QWidget, preview: PurgePreview,
              on_yes: Callable[[bool], None], on_toggle: Callable[[bool], None]) -> QMessageBox:
    """Opens without a nested event loop; `on_yes(with_messages)` runs if confirmed;
    `on_toggle(with_messages)` asks for a new preview when the check box changes."""
    n = preview.selected
    box = QMessageBox(QMessageBox.Icon.Warning, "Purge memories",
                      f"Purge {'this memory' if n == 1 else f'{n} memories'} for good?",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("confirmBox")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setInformativeText(purge_text(preview) + "<p>This is irreversible. To hide a memory "
                           "and keep it restorable, use Forget.</p>")
    if preview.has_messages:
        check = QCheckBox("Also erase the message it came from (it stays in the chat, empty)",
                          box)
        check.setObjectName("purgeMessagesCheck")
        check.setChecked(preview.with_messages)
        check.toggled.connect(lambda on: (box.done(0), on_toggle(on)))
        box.setCheckBox(check)
    yes = box.addButton("Purge", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def done(button) -> None:
        if button is yes:
            check = box.checkBox()
            on_yes(bool(check.isChecked()) if check is not None else preview.with_messages)

    box.buttonClicked.connect(done)
    box.open()
    return box


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
