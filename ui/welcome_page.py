"""The first-run page: start on the starter model, or bring a better one; import and the
inspector work with no model at all."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.starter_model import DESCRIPTION, DISPLAY_NAME, StarterModelStatus


class WelcomePage(QWidget):
    start_starter = Signal()
    choose_gguf = Signal()
    download_model = Signal()
    import_archive = Signal()
    open_inspector = Signal()
    skip = Signal()

    def __init__(self, status: StarterModelStatus, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        card = QFrame()
        card.setObjectName("welcomeCard")
        card.setMaximumWidth(720)
        box = QVBoxLayout(card)
        box.setContentsMargins(36, 30, 36, 30)
        box.setSpacing(12)
        title = QLabel("Welcome to Engram")
        title.setObjectName("welcomeTitle")
        box.addWidget(title)
        lead = QLabel("A private assistant that runs on this computer and remembers across "
                      "conversations. Everything it remembers is yours to see, edit, forget "
                      "or purge. Nothing leaves this machine.")
        lead.setWordWrap(True)
        lead.setObjectName("welcomeLead")
        box.addWidget(lead)

        starter = QFrame()
        starter.setObjectName("optionCard")
        sl = QVBoxLayout(starter)
        name = QLabel(f"<b>{DISPLAY_NAME}</b>")
        sl.addWidget(name)
        desc = QLabel(DESCRIPTION if status.installed else
                      "The starter model is not installed. Choose a GGUF file instead.")
        desc.setWordWrap(True)
        sl.addWidget(desc)
        row = QHBoxLayout()
        if status.terms_path is not None:
            terms = QLabel(f'<a href="{status.terms_path.as_uri()}">Gemma terms of use</a>'
                           + (f' · <a href="{status.notice_path.as_uri()}">notice</a>'
                              if status.notice_path else ""))
            terms.setOpenExternalLinks(True)
            row.addWidget(terms)
        row.addStretch(1)
        self.starter_button = QPushButton("Start with the starter model")
        self.starter_button.setObjectName("primaryButton")
        self.starter_button.setEnabled(status.installed)
        self.starter_button.clicked.connect(self.start_starter.emit)
        row.addWidget(self.starter_button)
        sl.addLayout(row)
        box.addWidget(starter)

        better = QFrame()
        better.setObjectName("optionCard")
        bl = QVBoxLayout(better)
        bl.addWidget(QLabel("<b>Use a better model</b>"))
        hint = QLabel("Any instruction-tuned GGUF works (for example a 1–8B model at Q4_K_M). "
                      "Pick a file you have, or download one by its URL.")
        hint.setWordWrap(True)
        bl.addWidget(hint)
        brow = QHBoxLayout()
        brow.addStretch(1)
        self.choose_button = QPushButton("Choose a GGUF file…")
        self.choose_button.clicked.connect(self.choose_gguf.emit)
        self.download_button = QPushButton("Download by URL…")
        self.download_button.clicked.connect(self.download_model.emit)
        brow.addWidget(self.choose_button)
        brow.addWidget(self.download_button)
        bl.addLayout(brow)
        box.addWidget(better)

        note = QLabel("No model is needed to import past chats or to browse memories.")
        note.setObjectName("mutedLabel")
        box.addWidget(note)
        rest = QHBoxLayout()
        self.import_button = QPushButton("Import conversations…")
        self.import_button.clicked.connect(self.import_archive.emit)
        self.inspector_button = QPushButton("Open the memory inspector")
        self.inspector_button.clicked.connect(self.open_inspector.emit)
        self.skip_button = QPushButton("Later")
        self.skip_button.setObjectName("flatButton")
        self.skip_button.clicked.connect(self.skip.emit)
        rest.addWidget(self.import_button)
        rest.addWidget(self.inspector_button)
        rest.addStretch(1)
        rest.addWidget(self.skip_button)
        box.addLayout(rest)

        self.status = QLabel("")
        self.status.setObjectName("mutedLabel")
        self.status.setWordWrap(True)
        box.addWidget(self.status)
        h = QHBoxLayout()
        h.addStretch(1)
        h.addWidget(card, 10)
        h.addStretch(1)
        outer.addLayout(h)
        outer.addStretch(2)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
