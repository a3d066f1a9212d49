"""The background-operation layer: results on the GUI thread, one db thread, progress dialog
only for long work, cooperative cancel, and quitting that does not wait for stubborn work."""
from __future__ import annotations

import threading
import time

from PySide6.QtWidgets import QProgressDialog, QWidget

from core.base.progress import Progress


def test_results_arrive_on_the_gui_thread_and_db_work_is_serialized(qtbot, services) -> None:
    seen: list[str] = []
    threads: set[str] = set()

    def work(ctx):
        threads.add(threading.current_thread().name)
        return ctx.engram.conversations.create("x").id

    ops = [services.runner.db(work, success=lambda _r: seen.append(threading.current_thread().name))
           for _ in range(5)]
    qtbot.waitUntil(lambda: len(seen) == 5)
    assert set(seen) == {threading.main_thread().name}
    assert len(threads) == 1 and next(iter(threads)).startswith("engram-db")
    assert all(op.error is None for op in ops)


def test_failure_is_delivered_not_raised(qtbot, services) -> None:
    errors: list[BaseException] = []
    services.runner.db(lambda ctx: ctx.engram.conversations.get("nope"), failure=errors.append)
    qtbot.waitUntil(lambda: bool(errors))
    assert "No conversation" in str(errors[0])


def test_progress_dialog_appears_for_long_work_and_cancels_it(qtbot, services) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()

    def slow(ctx):
        for i in range(400):
            if ctx.cancelled():
                return "cancelled"
            ctx.progress(Progress(i, 400, "working"))
            time.sleep(0.01)
        return "done"

    results: list[str] = []
    quick = services.runner.background(lambda ctx: "quick", success=results.append,
                                       label="Quick", dialog_parent=parent)
    qtbot.waitUntil(lambda: results == ["quick"])
    assert quick._dialog is None                       # never shown for short work
    op = services.runner.background(slow, success=results.append, label="Slow work",
                                    dialog_parent=parent)
    qtbot.waitUntil(lambda: op._dialog is not None and op._dialog.isVisible(), timeout=5000)
    dialog = parent.findChild(QProgressDialog)
    assert dialog.maximum() == 400
    from PySide6.QtWidgets import QPushButton

    next(b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel").click()
    qtbot.waitUntil(lambda: results[-1:] == ["cancelled"], timeout=5000)
    assert op._dialog is None


def test_quitting_does_not_wait_for_background_work_that_ignores_cancel(qtbot, home) -> None:
    from app.paths import resolve_layout
    from ui.services import Services

    svc = Services(resolve_layout().ensure())
    release = threading.Event()
    op = svc.runner.background(lambda ctx: release.wait(60))
    qtbot.waitUntil(lambda: svc.runner._pool._busy == 1)
    svc.runner.shutdown(wait=True, background_grace=0.2)
    assert op.running and not release.is_set()       # shutdown returned; the work is left
    release.set()
    svc.engram.close()
