"""What the index sync knows beside SQLite: a small JSON file in the data folder.

- `target`: the collection and location (embedded folder or server) that the memories'
  `indexed_version` marks refer to. When the open index is another one (the embedding
  runtime moved to another vector family, or the user pointed Engram at a server), every
  memory is out of date there (`IndexSync.check_target`), so two families never mix.
- `rate`: memories made searchable per second by the last sync (and whether one is running
  now), so that `engram info` and the status bar can say how long the rest will take.

Losing the file costs nothing but an estimate (and, for `target`, the assumption that the
marks refer to the index open now). It is written atomically, at most every few seconds.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from core.base.atomic import write_text_atomic

WRITE_EVERY_S = 3.0
MIN_FOR_RATE = 200      # a handful of memories says little about speed


class IndexState:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._last_write = 0.0

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        try:
            write_text_atomic(self.path, json.dumps(data, indent=1))
        except OSError:
            pass                        # an estimate is not worth failing a sync for
        self._last_write = time.monotonic()

    def target(self) -> dict[str, str] | None:
        t = self.read().get("target")
        return t if isinstance(t, dict) else None

    def set_target(self, target: dict[str, str]) -> None:
        self._write({**self.read(), "target": target})

    def record_rate(self, done: int, seconds: float, runtime: str) -> None:
        """Called after each written batch; writes at most every WRITE_EVERY_S."""
        if time.monotonic() - self._last_write < WRITE_EVERY_S or seconds <= 0 \
                or done < MIN_FOR_RATE:
            return
        self._write({**self.read(), "rate": {
            "per_second": round(done / seconds, 2), "runtime": runtime, "running": True,
            "pid": os.getpid(), "updated_at": time.time()}})

    def finish(self, done: int, seconds: float, runtime: str) -> None:
        data = self.read()
        rate = data.get("rate") if isinstance(data.get("rate"), dict) else {}
        if done >= MIN_FOR_RATE and seconds > 0:
            rate = {"per_second": round(done / seconds, 2), "runtime": runtime}
        if rate:
            rate = {**rate, "running": False, "updated_at": time.time()}
            self._write({**data, "rate": rate})

    def rate(self) -> tuple[float | None, bool]:
        """(memories/s of the last or current sync, whether a sync is running now)."""
        rate = self.read().get("rate")
        if not isinstance(rate, dict) or not rate.get("per_second"):
            return None, False
        running = bool(rate.get("running")) and _alive(rate.get("pid")) and \
            time.time() - float(rate.get("updated_at", 0)) < 120
        return float(rate["per_second"]), running


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
