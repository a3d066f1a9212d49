"""The status bar: model, context used / size, KV cache type and bytes, tokens/s, and the
progress of background work (indexing, model loading)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from ui.services import Services

POLL_MS = 500


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
        self.task_label = QLabel()
        self.task_bar = QProgressBar()
        self.task_bar.setMaximumWidth(140)
        self.task_bar.setMaximumHeight(14)
        self.task_bar.setTextVisible(False)
        for w in (self.task_label, self.task_bar):
            w.hide()
            self.addWidget(w)
        for w in (self.model_label, self.context_label, self.kv_label, self.speed_label):
            w.setObjectName("statusField")
            self.addPermanentWidget(w)
        self._tasks: dict[str, tuple[int, int]] = {}
        self.stats: dict[str, Any] = {}
        services.events.model_changed.connect(self.refresh)
        services.events.runtime_stats.connect(self.update_stats)
        services.events.background_progress.connect(self.task_progress)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.poll)
        self._poll.start()
        self.refresh()

    def refresh(self) -> None:
        llm = self.services.llm
        self.model_label.setText(f"Model: {self.services.model_label}" if llm is not None
                                 else "No model loaded")
        if llm is None:
            self.context_label.clear()
            self.kv_label.clear()
            self.speed_label.clear()
        self.poll()

    def poll(self) -> None:
        """Read the runtime's live snapshot (a plain dict copy: cheap, no IPC)."""
        llm = self.services.llm
        if llm is None or not hasattr(llm, "live_stats"):
            return
        try:
            stats = llm.live_stats()
        except Exception:  # noqa: BLE001 - a figure missing for one tick is harmless
            return
        self.update_stats(stats.to_dict() if hasattr(stats, "to_dict") else dict(stats))

    def update_stats(self, stats: dict[str, Any]) -> None:
        self.stats.update({k: v for k, v in stats.items() if v not in (None, "")})
        s = self.stats
        if s.get("n_ctx"):
            used = int(s.get("context_used", 0))
            self.context_label.setText(f"Context {used:,} / {int(s['n_ctx']):,}")
        if s.get("type_k"):
            kv = f"KV {s['type_k']}/{s.get('type_v', '')}"
            if s.get("kv_bytes"):
                kv += f" · {human_bytes(s['kv_bytes'])}"
            self.kv_label.setText(kv)
        if s.get("tokens_per_second"):
            self.speed_label.setText(f"{float(s['tokens_per_second']):.1f} tok/s")

    def task_progress(self, name: str, done: int, total: int) -> None:
        if total <= 0:
            self._tasks.pop(name, None)
        else:
            self._tasks[name] = (done, total)
        if not self._tasks:
            self.task_label.hide()
            self.task_bar.hide()
            return
        name, (done, total) = next(iter(self._tasks.items()))
        self.task_label.setText(f"{name}…" + (f" {done:,}/{total:,}" if total > 1 else ""))
        self.task_bar.setRange(0, total if total > 1 else 0)
        if total > 1:
            self.task_bar.setValue(done)
        self.task_label.show()
        self.task_bar.show()
