"""The status bar: model, context used / size, KV cache type and bytes, tokens/s, and the
progress of background work (indexing, model loading). While memories wait for their vectors
it says how many, how long the rest should take (from the rate seen so far) and that word
search already finds them.

The memory worker's work (summaries, facts) is named in plain words with how many jobs wait,
and a Pause button stops it. The context figure is the chat's: a background job's prompt
fills the same model, and showing it made the counter jump between messages."""
from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from core.base.llm import GenerationStats
from core.runtime.stats import RuntimeStats
from ui.fitting import ElidedLabel
from ui.memory_switch import MemorySwitch
from ui.services import Services

POLL_MS = 500
NOTICE_MS = 20_000
# Background tasks that give memories their vectors (ui/import_wizard.py, memory_inspector.py,
# main_window.py): for these the bar shows what waits and for how long.
VECTOR_TASKS = frozenset({"Embedding imported memories", "Indexing memories",
                          "Rebuilding the index"})
MEANWHILE = "word search works meanwhile"


def time_left(seconds: float) -> str:
    if seconds < 60:
        return "under a minute left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def vector_task_text(name: str, done: int, total: int, rate: float | None) -> str:
    """"Embedding imported memories… 12,345 waiting · about 8 min left · word search works
    meanwhile" (no estimate until a rate is known)."""
    waiting = max(total - done, 0)
    parts = [f"{name}… {waiting:,} waiting"]
    if rate and waiting:
        parts.append(time_left(waiting / rate))
    parts.append(MEANWHILE)
    return " · ".join(parts)


def memory_work_text(a) -> str:
    """One line for the memory worker's `Activity` ("" when there is nothing to say)."""
    waiting = f" · {a.queued:,} waiting" if a.queued else ""
    if a.paused:
        return f"Background work paused{waiting}" if a.queued or a.running \
            else "Background work paused"
    if a.person_first and (a.queued or a.running):
        return f"Background work waits while you chat{waiting}"
    if a.running:
        progress = f" ({a.progress} messages)" if a.progress else ""
        return f"Background: {a.running}{progress}…{waiting}"
    return f"Background work: {a.queued:,} waiting" if a.queued else ""


PAUSE_TIP = ("Between your messages the model writes memories in the background (summaries, "
             "facts). Your own messages always go first; Pause stops this work (the memory "
             "switch beside it is about what Engram remembers, not about this work).")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


class EngramStatusBar(QStatusBar):
    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.model_label = QLabel()
        self.context_label = QLabel()
        self.kv_label = QLabel()
        self.speed_label = QLabel()
        self.task_label = ElidedLabel()
        self.task_bar = QProgressBar()
        self.task_bar.setMaximumWidth(140)
        self.task_bar.setMaximumHeight(14)
        self.task_bar.setTextVisible(False)
        for w in (self.task_label, self.task_bar):
            w.hide()
            self.addWidget(w)
        self.memory_label = ElidedLabel(PAUSE_TIP)
        self.memory_label.setObjectName("memoryWork")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseMemoryWork")
        self.pause_button.setFlat(True)
        self.pause_button.setToolTip(PAUSE_TIP)
        self.pause_button.clicked.connect(self.toggle_pause)
        for w in (self.memory_label, self.pause_button):
            w.hide()
            self.addWidget(w)
        self.memory_switch = MemorySwitch(services)    # pause memory (ui.memory_switch)
        self.addPermanentWidget(self.memory_switch)
        self._context_used = 0           # the chat's, not a background job's
        for w in (self.model_label, self.context_label, self.kv_label, self.speed_label):
            w.setObjectName("statusField")
            self.addPermanentWidget(w)
        self._tasks: dict[str, tuple[int, int]] = {}
        self._first_seen: dict[str, tuple[float, int]] = {}   # task -> (time, done) at start
        services.events.model_changed.connect(self.refresh)
        services.events.reply_stats.connect(self.show_reply)
        services.events.background_progress.connect(self.task_progress)
        services.events.notice.connect(lambda text: self.showMessage(text, NOTICE_MS))
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.poll)
        self._poll.start()
        self.refresh()

    def refresh(self) -> None:
        llm = self.services.llm
        self.model_label.setText(f"Model: {self.services.model_label}" if llm is not None
                                 else "No model loaded")
        self._context_used = 0
        if llm is None:
            self.context_label.clear()
            self.kv_label.clear()
            self.speed_label.clear()
        self.poll()

    def poll(self) -> None:
        """Read the runtime's live snapshot (kept by the runtime: cheap, no IPC) and what the
        memory worker does. A backend without a snapshot (a scripted test model) leaves the
        figures as they are."""
        self.show_memory_work()
        live_stats = getattr(self.services.llm, "live_stats", None)
        if live_stats is None:
            return
        try:
            stats = live_stats()
        except Exception:  # noqa: BLE001 - a figure missing for one tick is harmless
            return
        self.show_runtime(stats)

    def show_runtime(self, s: RuntimeStats) -> None:
        if self.services.person_turns:
            self._context_used = s.context_used
        if s.n_ctx:
            self.context_label.setText(f"Context {self._context_used:,} / {s.n_ctx:,}")
        if s.type_k:
            kv = f"KV {s.type_k}/{s.type_v}"
            if s.kv_bytes:
                kv += f" · {human_bytes(s.kv_bytes)}"
            self.kv_label.setText(kv)
        if s.tokens_per_second:
            self.speed_label.setText(f"{s.tokens_per_second:.1f} tok/s")

    def show_reply(self, stats: GenerationStats) -> None:
        """The decode speed and context of the answer just finished (no background job has
        the model yet: it waits a moment after each turn)."""
        self._context_used = stats.prompt_tokens + stats.completion_tokens or self._context_used
        live_stats = getattr(self.services.llm, "live_stats", None)
        with contextlib.suppress(Exception):    # else the figure from the stats stays
            if live_stats is not None:
                self._context_used = live_stats().context_used or self._context_used
        if stats.tokens_per_second:
            self.speed_label.setText(f"{stats.tokens_per_second:.1f} tok/s")

    def show_memory_work(self) -> None:
        worker = self.services.memory_worker
        text = memory_work_text(worker.activity()) if worker is not None else ""
        self.memory_label.setText(text)
        self.memory_label.setVisible(bool(text))
        paused = worker is not None and worker.gate.paused
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setVisible(bool(text))

    def toggle_pause(self) -> None:
        """Pause or resume background memory work (a job that runs stops at a safe point and
        waits in the queue); the GUI does not wait for it."""
        worker = self.services.memory_worker
        if worker is None:
            return
        if worker.gate.paused:
            worker.gate.resume()
        else:
            worker.gate.pause(wait=False)
        self.show_memory_work()

    def task_progress(self, name: str, done: int, total: int) -> None:
        if total <= 0:
            self._tasks.pop(name, None)
            self._first_seen.pop(name, None)
        else:
            self._tasks[name] = (done, total)
            if total > 1 and name not in self._first_seen:
                self._first_seen[name] = (time.monotonic(), done)
        if not self._tasks:
            self.task_label.hide()
            self.task_bar.hide()
            return
        name, (done, total) = next(iter(self._tasks.items()))
        if name in VECTOR_TASKS and total > 1:
            self.task_label.setText(vector_task_text(name, done, total, self._rate(name, done)))
        else:
            self.task_label.setText(f"{name}…" + (f" {done:,}/{total:,}" if total > 1 else ""))
        self.task_bar.setRange(0, total if total > 1 else 0)
        if total > 1:
            self.task_bar.setValue(done)
        self.task_label.show()
        self.task_bar.show()

    def _rate(self, name: str, done: int) -> float | None:
        """Items per second since the task's first report (None before 3 s of data)."""
        start = self._first_seen.get(name)
        if start is None:
            return None
        seconds = time.monotonic() - start[0]
        if seconds < 3 or done <= start[1]:
            return None
        return (done - start[1]) / seconds
