"""Background operations: one small `Op` per user action.

An op runs a core call off the GUI thread and delivers `success(result)` or `failure(error)`
back on the GUI thread through a queued signal (never by touching widgets from the worker).

Two lanes:
- `db`: ONE worker thread that owns the main `Engram` (its SQLite connection is never used from
  two threads at once). Every short read and write goes here, so writes are serialized.
- `background`: a small pool for long work (import, reindex, chat generation, embedding). Each op
  there gets its own `Engram` connection (sharing the embedder and the vector index), so a long
  import never blocks the inspector; SQLite's WAL and busy timeout order the writers.

Progress is reported by the core call through `OpContext.progress` (a core.base.progress
`Progress`, throttled), cancellation is cooperative (`OpContext.cancelled`, a `ShouldStop`),
and a progress dialog appears only if the op is still running after `DIALOG_DELAY_MS`. An op
whose core call returns a `Changes` record (`Runner.change`) has it announced once, before
its own success callback runs, so every panel refreshes from one record.
"""
from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from core.base.progress import Progress
from core.services.changes import Changes
from core.services.engine import Engram

log = logging.getLogger(__name__)

DIALOG_DELAY_MS = 500
PROGRESS_INTERVAL_S = 0.05


class _Dispatcher(QObject):
    """Lives on the GUI thread; runs callables posted from any thread, in order."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            # Logged, then re-raised so Qt's handler (and pytest-qt) see the bug too.
            log.exception("callback on the GUI thread failed")
            raise


_dispatcher: _Dispatcher | None = None


def init_dispatcher() -> None:
    """Create the dispatcher on the GUI thread (call once after QApplication exists)."""
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = _Dispatcher()


def to_main(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run `fn(*args, **kwargs)` on the GUI thread, soon (queued)."""
    assert _dispatcher is not None, "init_dispatcher() must run on the GUI thread first"
    _dispatcher.call.emit(partial(fn, *args, **kwargs))


class OpContext:
    """What the worker function receives: the Engram to use, progress and cancel. Both are
    core's own types (`progress` is an OnProgress, `cancelled` a ShouldStop), so they are
    passed to core calls as they are."""

    def __init__(self, op: Op, engram: Engram) -> None:
        self._op = op
        self.engram = engram
        self._last = 0.0

    def cancelled(self) -> bool:
        return self._op.is_cancelled

    def progress(self, p: Progress) -> None:
        if self._op.orphaned:
            return
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL_S and p.done < p.total:
            return
        self._last = now
        to_main(self._op._report_progress, p)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Send anything else (e.g. streamed tokens) to the GUI thread."""
        if not self._op.orphaned:
            to_main(fn, *args)


class Hook:
    """A list of callbacks, called on the GUI thread (a plain-Python stand-in for a signal).

    `Op` is deliberately not a QObject: a worker thread may drop the last reference to an op
    (or the garbage collector may run there), and destroying a QObject on a thread that does
    not own it crashes Qt."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, fn: Callable[..., Any]) -> None:
        self._callbacks.append(fn)

    def emit(self, *args: Any) -> None:
        for fn in list(self._callbacks):
            fn(*args)

    def clear(self) -> None:
        self._callbacks.clear()


class Op:
    """One user action. Create, connect callbacks, then `runner.submit(op)`.

    `progressed(Progress)` and `done()` are called on the GUI thread."""

    def __init__(self, fn: Callable[[OpContext], Any], *, lane: str = "db",
                 success: Callable[[Any], None] | None = None,
                 failure: Callable[[BaseException], None] | None = None,
                 label: str = "", dialog_parent: QWidget | None = None,
                 cancellable: bool = True) -> None:
        if lane not in ("db", "background"):
            raise ValueError(lane)
        self.fn = fn
        self.lane = lane
        self.success = success
        self.failure = failure
        self.label = label
        self.dialog_parent = dialog_parent
        self.cancellable = cancellable
        self.progressed = Hook()
        self.done = Hook()
        self.finished = False
        self.running = False
        self._on_finished: Callable[[Op], None] | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self.orphaned = False        # the runner shut down: report nothing more to the GUI
        self._dialog: QProgressDialog | None = None
        self._last_progress: Progress | None = None

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    # -- called by the runner ---------------------------------------------------------------
    def _started(self) -> None:
        self.running = True
        if self.dialog_parent is not None and self.label:
            QTimer.singleShot(DIALOG_DELAY_MS, self._maybe_show_dialog)

    def _execute(self, engram: Engram) -> None:
        """Runs on a worker thread."""
        try:
            result = self.fn(OpContext(self, engram))
        except BaseException as exc:  # delivered to the GUI thread, not raised here
            if not isinstance(exc, Exception):
                raise
            log.debug("op %s failed: %s", self.label or self.fn, exc, exc_info=True)
            if not self.orphaned:
                to_main(self._finish, None, exc)
        else:
            if not self.orphaned:
                to_main(self._finish, result, None)

    def _finish(self, result: Any, error: BaseException | None) -> None:
        self.running = False
        self.result, self.error = result, error
        if self._dialog is not None:
            self._dialog.reset()
            self._dialog.deleteLater()
            self._dialog = None
        try:
            if error is None:
                if self.success:
                    self.success(result)
            elif self.failure:
                self.failure(error)
            else:
                log.warning("unhandled error in %s: %s", self.label or "op", error)
        finally:
            self.finished = True
            try:
                self.done.emit()
            finally:
                if self._on_finished is not None:
                    self._on_finished(self)
                # Drop closures (which may hold widgets) so nothing Qt-owned is freed later
                # on a worker thread.
                self.fn = None  # type: ignore[assignment]
                self.success = self.failure = None
                self.progressed.clear()
                self.done.clear()

    def _report_progress(self, p: Progress) -> None:
        self._last_progress = p
        self.progressed.emit(p)
        if self._dialog is not None:
            self._dialog.setMaximum(max(p.total, 0))
            self._dialog.setValue(min(p.done, p.total) if p.total else 0)
            if p.phase or p.counts:
                self._dialog.setLabelText(f"{self.label}\n{p.line()}")

    def _maybe_show_dialog(self) -> None:
        if not self.running or self._dialog is not None:
            return
        dlg = QProgressDialog(self.label, "Cancel" if self.cancellable else "",
                              0, 0, self.dialog_parent)
        dlg.setWindowTitle("Engram")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        if not self.cancellable:
            dlg.setCancelButton(None)
        dlg.canceled.connect(self.cancel)
        self._dialog = dlg
        if self._last_progress is not None and self._last_progress.total:
            self._report_progress(self._last_progress)
        dlg.show()


class _DaemonPool:
    """A few daemon worker threads (a ThreadPoolExecutor's threads are joined at exit, so a
    torch import or a long reindex would hold up quitting)."""

    def __init__(self, size: int, name: str) -> None:
        import queue

        self._queue: queue.Queue = queue.Queue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(size)]
        self._busy = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self._busy += 1
        self._queue.put((fn, args))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except Exception:
                log.exception("background task failed")
            finally:
                with self._lock:
                    self._busy -= 1
                    self._idle.notify_all()

    def shutdown(self, timeout: float) -> None:
        with self._lock:
            self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)
        for _ in self._threads:
            self._queue.put(None)


class Runner:
    """The two lanes. `engram` is used only on the db thread; `open_worker_engram()` gives a
    background op its own connection. `announce` receives the Changes of `change` ops."""

    def __init__(self, engram: Engram, open_worker_engram: Callable[[], Engram],
                 announce: Callable[[Changes], None] | None = None) -> None:
        init_dispatcher()
        self.engram = engram
        self._open_worker_engram = open_worker_engram
        self._announce = announce
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engram-db")
        self._pool = _DaemonPool(3, "engram-bg")
        self._active: set[Op] = set()
        self.closed = False

    def submit(self, op: Op) -> Op:
        if self.closed:   # late callbacks while the window closes: nothing more starts
            log.debug("op %s dropped: the runner is shut down", op.label or op.fn)
            return op
        self._active.add(op)
        op._on_finished = self._active.discard
        op._started()
        if op.lane == "db":
            self._db.submit(op._execute, self.engram)
        else:
            self._pool.submit(self._run_background, op)
        return op

    def db(self, fn: Callable[[OpContext], Any], success: Callable[[Any], None] | None = None,
           failure: Callable[[BaseException], None] | None = None, **kw: Any) -> Op:
        """Shortcut: a db-lane op."""
        return self.submit(Op(fn, lane="db", success=success, failure=failure, **kw))

    def change(self, fn: Callable[[OpContext], Changes],
               success: Callable[[Changes], None] | None = None,
               failure: Callable[[BaseException], None] | None = None, *,
               lane: str = "db", **kw: Any) -> Op:
        """An operation on core that returns what it changed: the record is announced once
        (every panel refreshes from it), then `success(changes)` runs."""
        def done(changes: Changes) -> None:
            if self._announce is not None:
                self._announce(changes)
            if success is not None:
                success(changes)

        return self.submit(Op(fn, lane=lane, success=done, failure=failure, **kw))

    def background(self, fn: Callable[[OpContext], Any],
                   success: Callable[[Any], None] | None = None,
                   failure: Callable[[BaseException], None] | None = None, **kw: Any) -> Op:
        return self.submit(Op(fn, lane="background", success=success, failure=failure, **kw))

    def _run_background(self, op: Op) -> None:
        try:
            eng = self._open_worker_engram()
        except Exception as exc:  # noqa: BLE001 - reported to the op's failure callback
            to_main(op._finish, None, exc)
            return
        try:
            op._execute(eng)
        finally:
            with contextlib.suppress(sqlite3.Error):
                eng.close()

    @property
    def busy(self) -> bool:
        return any(op.running for op in self._active)

    def cancel_all(self) -> None:
        for op in list(self._active):
            op.cancel()

    def shutdown(self, wait: bool = True, background_grace: float = 3.0) -> None:
        """Cancel everything; finish queued database work; give background work a few
        seconds to stop at a safe point (each import step and index batch is atomic), then
        leave it: its daemon threads must not keep a closing app alive."""
        self.closed = True
        self.cancel_all()
        self._db.shutdown(wait=wait)
        self._pool.shutdown(timeout=background_grace if wait else 0.0)
        for op in list(self._active):
            op.orphaned = True
