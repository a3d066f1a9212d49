"""The first-run page: start on the starter model (honestly: a tiny base model), use a model
this computer already has (LM Studio, Ollama, ... used in place), or download a recommended
one, what fits this machine first. Import and the inspector work with no model at all.

The lists are filled on a worker thread the first time the page is shown; nothing is
downloaded or contacted until the user presses Download.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.runtime.starter_model import DESCRIPTION, DISPLAY_NAME, StarterModelStatus
from ui.fitting import wrapping_row


def _card(title: str, hint: str = "") -> tuple[QFrame, QVBoxLayout]:
    card = QFrame()
    card.setObjectName("optionCard")
    box = QVBoxLayout(card)
    heading = QLabel(f"<b>{title}</b>")
    heading.setWordWrap(True)
    box.addWidget(heading)
    if hint:
        label = QLabel(hint)
        label.setWordWrap(True)
        label.setObjectName("mutedLabel")
        box.addWidget(label)
    return card, box


class WelcomePage(QWidget):
    start_starter = Signal()
    choose_gguf = Signal()
    download_model = Signal()
    use_model = Signal(str)          # a GGUF to load now: found on this computer, or downloaded
    import_archive = Signal()
    open_inspector = Signal()
    skip = Signal()

    def __init__(self, status: StarterModelStatus, parent: QWidget | None = None, *,
                 services=None) -> None:
        super().__init__(parent)
        self.services = services
        self._loaded = False
        self.setObjectName("welcomePage")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        inner.setObjectName("welcomePage")
        scroll.setWidget(inner)
        outer.addWidget(scroll)
        page = QVBoxLayout(inner)
        page.addSpacing(24)
        card = QFrame()
        card.setObjectName("welcomeCard")
        card.setMaximumWidth(820)
        box = QVBoxLayout(card)
        box.setContentsMargins(28, 24, 28, 24)
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
        box.addWidget(self._starter_card(status))
        if services is not None:
            box.addWidget(self._found_card())
            box.addWidget(self._catalogue_card())
        else:
            box.addWidget(self._better_card())
        note = QLabel("No model is needed to import past chats or to browse memories.")
        note.setObjectName("mutedLabel")
        note.setWordWrap(True)
        box.addWidget(note)
        self.import_button = QPushButton("Import conversations…")
        self.import_button.clicked.connect(self.import_archive.emit)
        self.inspector_button = QPushButton("Open the memory inspector")
        self.inspector_button.clicked.connect(self.open_inspector.emit)
        self.skip_button = QPushButton("Later")
        self.skip_button.setObjectName("flatButton")
        self.skip_button.clicked.connect(self.skip.emit)
        # beside each other on a wide page, one under the other beside the inspector
        box.addWidget(wrapping_row(self.import_button, self.inspector_button, self.skip_button))
        self.status = QLabel("")
        self.status.setObjectName("mutedLabel")
        self.status.setWordWrap(True)
        box.addWidget(self.status)
        h = QHBoxLayout()
        h.addStretch(1)
        h.addWidget(card, 10)
        h.addStretch(1)
        page.addLayout(h)
        page.addStretch(1)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        inner.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

    # -- cards ---------------------------------------------------------------------------------
    def _starter_card(self, status: StarterModelStatus) -> QFrame:
        starter, sl = _card(DISPLAY_NAME)
        desc = QLabel(DESCRIPTION if status.installed else
                      "The starter model is not installed. Use or download another model "
                      "below.")
        desc.setWordWrap(True)
        sl.addWidget(desc)
        row = QHBoxLayout()
        if status.terms_path is not None:
            terms = QLabel(f'<a href="{status.terms_path.as_uri()}">Gemma terms of use</a>'
                           + (f' · <a href="{status.notice_path.as_uri()}">notice</a>'
                              if status.notice_path else ""))
            terms.setOpenExternalLinks(True)
            terms.setWordWrap(True)
            row.addWidget(terms, 1)
        else:
            row.addStretch(1)
        self.starter_button = QPushButton("Start with the starter model")
        self.starter_button.setObjectName("primaryButton")
        self.starter_button.setEnabled(status.installed)
        self.starter_button.clicked.connect(self.start_starter.emit)
        row.addWidget(self.starter_button)
        sl.addLayout(row)
        return starter

    def _found_card(self) -> QFrame:
        from ui.model_lists import FoundModelsList

        card, box = _card("Models already on this computer",
                          "GGUF files that LM Studio, Ollama, GPT4All, Jan, the Hugging Face "
                          "cache or llama.cpp keep. Engram uses them where they are, no copy.")
        self.found = FoundModelsList(button_text="Use this model")
        self.found.list.setMaximumHeight(120)
        self.found.detail.setText("Looking…")
        self.found.chosen.connect(self.use_model.emit)
        box.addWidget(self.found)
        return card

    def _catalogue_card(self) -> QFrame:
        from ui.model_lists import CatalogueList

        card, box = _card("Download a recommended model",
                          "Instruction-tuned models that answer far better than the starter "
                          "model. One click downloads, checks and loads one; a download can be "
                          "paused and resumed.")
        self.catalogue = CatalogueList(self.services)
        self.catalogue.list.setMinimumHeight(150)
        self.catalogue.list.setMaximumHeight(210)
        self.catalogue.downloaded.connect(self.use_model.emit)
        box.addWidget(self.catalogue)
        box.addLayout(self._file_buttons())
        return card

    def _better_card(self) -> QFrame:
        card, box = _card("Use a better model",
                          "Any instruction-tuned GGUF works (for example a 1–8B model at "
                          "Q4_K_M). Pick a file you have, or download one by its URL.")
        box.addLayout(self._file_buttons())
        return card

    def _file_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.choose_button = QPushButton("Choose a GGUF file…")
        self.choose_button.clicked.connect(self.choose_gguf.emit)
        self.download_button = QPushButton("Download by URL…")
        self.download_button.clicked.connect(self.download_model.emit)
        row.addWidget(wrapping_row(self.choose_button, self.download_button), 1)
        return row

    # -- filling the lists ---------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.services is not None and not self._loaded:
            self.refresh()

    def refresh(self) -> None:
        from ui.model_lists import load_model_lists

        self._loaded = True
        layout, ms = self.services.layout, self.services.settings.model
        self.services.runner.background(lambda ctx: load_model_lists(layout, ms),
                                        success=self._show_lists,
                                        failure=lambda e: self.found.detail.setText(
                                            f"Could not look for models: {e}"))

    def _show_lists(self, data: dict) -> None:
        n = self.found.show_entries(data["entries"], skip_starter=True)
        if not n:
            self.found.detail.setText("None found in the usual places (LM Studio, Ollama, "
                                      "GPT4All, Jan, Hugging Face and llama.cpp caches).")
        self.catalogue.show_fits(data["fits"], data["machine"], data["partial"])
