"""What every panel shares: the opened data folder, the op runner, the model and a change hub.

Panels never call each other to refresh: an operation returns a `Changes` record (which
conversations or memories changed), the runner announces it once on `AppEvents.changed`, and
each panel decides what to reload. A record that says vectors must follow starts an index
sync in the background (one at a time).
"""
from __future__ import annotations

import contextlib
import gc
import logging
import sqlite3
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from core.base.llm import LLM
from core.base.paths import DataLayout
from core.base.settings import Settings
from core.services.changes import Changes
from core.services.engine import Engram, SiblingEngram
from ui.ops import OpContext, Runner

if TYPE_CHECKING:     # imported when the worker starts, after the window shows
    from core.services.memory_worker import MemoryWorker

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


INDEX_REBUILT = ("The vector index's files were damaged (often by a crash while writing); it "
                 "was rebuilt from Engram's database. Nothing was lost.")


class AppEvents(QObject):
    changed = Signal(object)                  # a core.services.changes.Changes record
    settings_changed = Signal()
    model_changed = Signal()                  # an LLM was loaded or unloaded
    open_memory = Signal(str)                 # show this memory in the inspector
    memory_feedback = Signal(str, str, str)   # memory id, answer id, verdict (a chip's menu)
    open_conversation = Signal(str, str)      # conversation id, message id to scroll to ("")
    reply_stats = Signal(object)              # the GenerationStats of a finished answer
    background_progress = Signal(str, int, int)   # task name, done, total (total 0 = finished)
    notice = Signal(str)                      # one line for the status bar (a repair, a failure)

    def announce(self, changes: Changes) -> None:
        """Tell every panel what one operation changed (once per operation)."""
        self.changed.emit(changes)


class Services:
    def __init__(self, layout: DataLayout, engram: Engram | None = None) -> None:
        self.layout = layout
        # The embedder and Chroma run in the index worker process: torch's import and Chroma's
        # long C calls hold the GIL, which would freeze the window from any thread here.
        self.engram = engram if engram is not None else Engram(layout, index_process=True)
        self.events = AppEvents()
        self.runner = Runner(self.engram, lambda: SiblingEngram(self.engram),
                             announce=self.events.announce)
        self.llm: LLM | None = None          # when a model is loaded
        self.model_label = "No model"
        self.memory_worker: MemoryWorker | None = None
        self.model_loading = False          # a load_model op is under way
        self._syncing = self._sync_again = False
        self.person_turns = 0               # chat turns under way (the status bar reads it)
        self.events.changed.connect(self._follow)

    @property
    def settings(self) -> Settings:
        return self.engram.settings

    # -- the vector index follows the stores ---------------------------------------------------
    def _follow(self, changes: Changes) -> None:
        if changes.vectors:
            self.sync_index()

    def sync_index(self) -> None:
        """Bring the vector index up to date in the background; one sync at a time (a
        request while one runs starts another after it)."""
        if self._syncing:
            self._sync_again = True
            return
        self._syncing, self._sync_again = True, False
        events = self.events

        def work(ctx: OpContext) -> object:
            return ctx.engram.index_sync.sync(progress=ctx.progress, should_stop=ctx.cancelled)

        def finished(result: object = None) -> None:
            self._syncing = False
            events.background_progress.emit("Indexing memories", 0, 0)
            if getattr(result, "rebuilt_damaged", False):
                events.notice.emit(INDEX_REBUILT)
            if self._sync_again and not self.runner.closed:
                QTimer.singleShot(0, self.sync_index)

        def failed(exc: BaseException) -> None:
            events.notice.emit(f"Indexing memories failed ({exc}); word search still finds "
                               "them, and indexing is tried again after your next message.")
            finished()

        op = self.runner.background(work, success=finished, failure=failed)
        op.progressed.connect(lambda p: events.background_progress.emit(
            "Indexing memories", p.done, p.total))

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
        from core.services.memory_worker import MemoryWorker

        if self.memory_worker is None:
            self.memory_worker = MemoryWorker(SiblingEngram(self.engram), lambda: self.llm)
            self.memory_worker.start()

    @contextlib.contextmanager
    def person_turn(self) -> Iterator[None]:
        """Around a chat turn (on its worker thread): background model work stops and waits
        (core.services.person_first), so the person's message never queues behind it."""
        self.person_turns += 1
        try:
            worker = self.memory_worker
            with worker.gate.person_turn() if worker is not None else contextlib.nullcontext():
                yield
        finally:
            self.person_turns -= 1

    def set_llm(self, llm: LLM | None, label: str | None = None) -> None:
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
