"""How long work reports how far it got, and learns that it should stop.

One progress type and one stop type for every long operation in core (an import, an index
sync or rebuild, a download, a chat turn, a memory job) and for the desktop app's op runner,
which passes them through unchanged:

- `ShouldStop`: polled between steps (a token, a batch, a conversation); True means "stop at
  the next safe point", and what was done so far stays done. (A streaming token callback may
  also answer True: that is the same request, made where the token arrives.)
- `Progress`: `done` of `total` units of the current `phase`, with counts worth a line.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class Progress:
    done: int
    total: int = 0                   # 0: not known (yet)
    phase: str = ""                  # "reading", "embedding", "downloading", ...
    counts: dict[str, int] = field(default_factory=dict)   # e.g. conversations, messages

    @property
    def fraction(self) -> float:
        """In [0, 1]; 0 while the total is unknown."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    def line(self) -> str:
        """"reading 45%: 12 conversations, 340 messages", for a status line."""
        head = self.phase or "working"
        if self.total:
            head += f" {self.done:,}/{self.total:,}" if self.total < 10_000 else \
                f" {self.fraction:.0%}"
        counts = ", ".join(f"{n:,} {what}" for what, n in self.counts.items())
        return f"{head}: {counts}" if counts else head


OnProgress = Callable[[Progress], None]
