"""The chat's small questions: delete this message? this chat's instructions?"""
from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget


def confirm_delete_message(parent: QWidget) -> bool:
    return QMessageBox.question(
        parent, "Delete this message?",
        "The message leaves this chat and its text is erased. What Engram remembered from it "
        "stays in the memory inspector (forget or purge it there).") \
        == QMessageBox.StandardButton.Yes


def ask_chat_instructions(parent: QWidget, current: str) -> str | None:
    """The chat's own system prompt as typed ("" = back to the one for every chat), or None
    when cancelled."""
    text, ok = QInputDialog.getMultiLineText(
        parent, "Instructions for this chat",
        "How the model should answer in this chat (e.g. \"Answer in French\", \"Be brief\").\n"
        "Leave empty to use the instructions for every chat (Settings → Model → Replies).",
        current)
    return text if ok else None
