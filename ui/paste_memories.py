""""Paste memories…": a list of saved memories from elsewhere (ChatGPT's memory page, or an
assistant's answer to "list everything you remember about me") becomes facts, one per line,
marked "pasted by you" and deduplicated against what Engram knows (core.importers.memories).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from core.importers.memories import parse_list, paste
from ui.dialogs import show_error
from ui.services import Services


class PasteMemoriesDialog(QDialog):
    imported = Signal(str)              # the summary ("3 memories imported as facts, ...")

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setObjectName("pasteMemories")
        self.setWindowTitle("Paste memories")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box = QVBoxLayout(self)
        intro = QLabel("Paste what another assistant remembers about you, one memory per line "
                       "(bullets, numbers and a leading date such as [2024-05-01] are fine). "
                       "Each line becomes a fact marked “pasted by you”; ones Engram already "
                       "knows are skipped.")
        intro.setWordWrap(True)
        box.addWidget(intro)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("- Prefers metric units\n- Is learning Dutch")
        self.text.textChanged.connect(self._count)
        box.addWidget(self.text, 1)
        self.count = QLabel("")
        self.count.setObjectName("mutedLabel")
        box.addWidget(self.count)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self.run)
        self.buttons.rejected.connect(self.reject)
        box.addWidget(self.buttons)
        self.resize(560, 380)

    def _count(self) -> None:
        n = len(parse_list(self.text.toPlainText()))
        self.count.setText(f"{n} memor{'y' if n == 1 else 'ies'} found" if n else "")
        self.import_button.setEnabled(n > 0)

    def run(self) -> None:
        text = self.text.toPlainText()
        self.import_button.setEnabled(False)

        def done(changes) -> None:
            self.imported.emit(changes.description)
            self.accept()

        self.services.runner.change(lambda ctx: paste(ctx.engram, text), success=done,
                                    failure=lambda e: (show_error(self, e),
                                                       self.import_button.setEnabled(True)))
