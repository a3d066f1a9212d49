"""What every panel shares: the opened data folder, the op runner, the model and a change hub.

Panels never call each other to refresh: an op that changes something emits a change record
on `AppEvents` (which conversations or memories changed) and each panel decides what to reload.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.engine import Engram
from core.paths import DataLayout
from ui.ops import Runner

log = logging.getLogger(__name__)


class AppEvents(QObject):
    conversations_changed = Signal()          # list needs reloading (new, renamed, deleted)
    conversation_changed = Signal(str)        # messages of one conversation changed
    memories_changed = Signal(list)           # ids; empty list = many / unknown
    settings_changed = Signal()
    model_changed = Signal()                  # an LLM was loaded or unloaded
    open_memory = Signal(str)                 # show this memory in the inspector
    open_conversation = Signal(str, str)      # conversation id, message id to scroll to ("")
    runtime_stats = Signal(dict)              # live model stats for the status bar
    background_progress = Signal(str, int, int)   # task name, done, total (total 0 = finished)


class _WorkerEngram(Engram):
    """A second connection for a background op; shares the heavy embedder and index."""

    def __init__(self, main: Engram) -> None:
        super().__init__(main.layout, main.settings)
        self._main = main

    @property
    def embedder(self):  # type: ignore[override]
        return self._main.embedder

    @property
    def index(self):  # type: ignore[override]
        return self._main.index


class Services:
    def __init__(self, layout: DataLayout, engram: Engram | None = None) -> None:
        self.layout = layout
        self.engram = engram if engram is not None else Engram(layout)
        self.events = AppEvents()
        self.runner = Runner(self.engram, lambda: _WorkerEngram(self.engram))
        self.llm: Any = None                # a core.llm.LLM when a model is loaded
        self.model_label = "No model"

    @property
    def settings(self):
        return self.engram.settings

    def set_llm(self, llm: Any, label: str | None = None) -> None:
        old = self.llm
        self.llm = llm
        self.model_label = label or (getattr(llm, "name", "") if llm else "No model") or "Model"
        if old is not None and old is not llm and hasattr(old, "close"):
            try:
                old.close()
            except Exception:
                log.debug("closing the previous model failed", exc_info=True)
        self.events.model_changed.emit()

    def close(self) -> None:
        self.runner.shutdown(wait=True)
        if self.llm is not None and hasattr(self.llm, "close"):
            try:
                self.llm.close()
            except Exception:
                pass
        self.engram.close()
