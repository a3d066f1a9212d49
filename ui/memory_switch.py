"""The memory switch in the status bar: "Memory on", or "Memory paused" (nothing new is
remembered; optionally nothing is read either) for a while or until resumed.

Beside incognito chats (one chat that neither reads nor writes memory), this is the switch
for all of them. It runs core.services.memory_ops.pause / resume, which save the setting,
so the switch holds after a restart until its time is up.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from core.services import memory_ops
from ui.services import Services

CHOICES = (("Pause for 1 hour", 60.0, False), ("Pause for today (8 hours)", 480.0, False),
           ("Pause until I resume", None, False),
           ("Pause, and don't read memories either", None, True))


def switch_text(paused_until: float, reading: bool, now: float) -> str:
    if not (paused_until == -1 or paused_until > now):
        return "Memory on"
    until = "" if paused_until == -1 else \
        f" until {time.strftime('%H:%M', time.localtime(paused_until))}"
    return f"Memory paused{until}" + (" · not read" if reading else "")


class MemorySwitch(QToolButton):
    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setObjectName("memorySwitch")
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_ = QMenu(self)
        for label, minutes, reading in CHOICES:
            action = self.menu_.addAction(label)
            action.triggered.connect(lambda _=False, m=minutes, r=reading: self.pause(m, r))
        self.menu_.addSeparator()
        self.resume_action = self.menu_.addAction("Resume memory")
        self.resume_action.triggered.connect(self.resume)
        self.setMenu(self.menu_)
        self._timer = QTimer(self, interval=30_000)     # a timed pause ends by itself
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        services.events.settings_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        mem = self.services.settings.memory
        text = switch_text(mem.paused_until, mem.pause_reading, time.time())
        self.setText(text)
        paused = text != "Memory on"
        self.setProperty("paused", paused)
        self.style().unpolish(self)          # the style sheet reads the property
        self.style().polish(self)
        self.resume_action.setEnabled(paused)
        self.setToolTip("Nothing new is remembered until you resume"
                        + (", and nothing remembered is used" if mem.pause_reading else "")
                        if paused else "Engram remembers your chats. Click to pause memory "
                        "(incognito chats never read or write it).")

    def pause(self, minutes: float | None, reading: bool) -> None:
        self.services.runner.change(
            lambda ctx: memory_ops.pause(ctx.engram, minutes, reading=reading),
            success=lambda _c: self._applied())

    def resume(self) -> None:
        self.services.runner.change(lambda ctx: memory_ops.resume(ctx.engram),
                                    success=lambda _c: self._applied())

    def _applied(self) -> None:
        self.services.events.settings_changed.emit()
