"""What every panel shares: the opened data folder, the op runner, the model and a change hub.

Panels never call each other to refresh: an op that changes something emits a change record
on `AppEvents` (which conversations or memories changed) and each panel decides what to reload.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import sqlite3
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.base.paths import DataLayout
from core.services.engine import Engram
from ui.ops import Runner

log = logging.getLogger(__name__)


def pin_singletons() -> None:
    """Work around PySide6 6.12.0 reference-count bugs on Python 3.11.

    Every `Signal.emit()` drops one reference to True, and static calls that return nothing
    (`QApplication.processEvents()`, a fired `QTimer.singleShot`) drop one to None. True, False
    and None are ordinary counted objects before Python 3.12: when a count reaches zero the
    interpreter aborts ("deallocating True or False"). torch's own references used to hide
    this for about 48,000 emits; the GUI process without torch has about 3,500. Python 3.12
    makes these objects immortal; this does the same by giving them a count that a process
    cannot use up. Idempotent."""
    global _pinned
    if _pinned or sys.version_info >= (3, 12):
        return
    import ctypes

    for obj in (True, False, None):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 48
    _pinned = True


_pinned = False
pin_singletons()


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
        # The embedder and Chroma run in the index worker process: torch's import and Chroma's
        # long C calls hold the GIL, which would freeze the window from any thread here.
        self.engram = engram if engram is not None else Engram(layout, index_process=True)
        self.events = AppEvents()
        self.runner = Runner(self.engram, lambda: _WorkerEngram(self.engram))
        self.llm: Any = None                # a core.base.llm.LLM when a model is loaded
        self.model_label = "No model"
        self.memory_worker: Any = None
        self.model_loading = False          # a load_model op is under way

    @property
    def settings(self):
        return self.engram.settings

    def warm_up(self) -> None:
        """Load the embedding model and open the vector index in the background, soon after
        the window shows, so the first search or import does not wait for them; make the
        day's backup and repair what a crash may have left. (In the app both load in the index
        worker process, so this costs the window nothing.)"""
        def work(ctx):
            from core.services.startup import recover
            from core.store.backup import maybe_backup

            maybe_backup(ctx.engram.db, ctx.engram.layout.backups_dir)   # at most one a day
            ctx.engram.embedder.encode_one("warm up")
            # after a crash: close interrupted imports, repair index drift (the memory worker
            # requeues its own jobs)
            recover(ctx.engram, jobs=False)
            return ctx.engram.index.count()

        self.runner.background(work, failure=lambda e: log.warning("warm-up failed: %s", e))

    def start_memory_worker(self) -> None:
        """Run queued memory jobs (index sync, summaries, thoughts, portrait) in core's
        background worker, on its own connection; model jobs wait until a model is loaded."""
        try:
            from core.services.memory_worker import MemoryWorker
        except ImportError:
            return
        if self.memory_worker is None:
            self.memory_worker = MemoryWorker(_WorkerEngram(self.engram), lambda: self.llm)
            self.memory_worker.start()

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
        if self.memory_worker is not None:
            self.memory_worker.stop(timeout=3.0)
            with contextlib.suppress(sqlite3.Error):
                self.memory_worker.engram.close()
            self.memory_worker = None
        self.runner.shutdown(wait=True)
        if self.llm is not None and hasattr(self.llm, "close"):
            try:
                self.llm.close()
            except Exception:
                log.debug("closing the model failed", exc_info=True)
        self.engram.close()
        # Free cyclic garbage that holds Qt objects here, on the GUI thread, rather than let
        # the collector find it later on a worker thread.
        gc.collect()
