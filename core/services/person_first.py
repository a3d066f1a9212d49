"""The person's turn goes first: background model work yields to a new message.

The chat and the memory worker share one model (one llama.cpp worker process, one request at a
time). Without this, a person's message waits behind whatever summary the worker is writing:
after an import that was minutes of "…". `TurnGate` is the rule between them:

- `person_turn()` (a context manager around a chat turn) stops the background generation that
  holds the model (through the model's `stop()`, which also aborts a long prompt evaluation)
  and keeps new model jobs from starting until the turn is over and `HOLD_OFF_S` has passed
  (so a quick follow-up message does not meet a job that just started);
- `pause()` / `resume()`: the person stops background model work altogether (status bar);
- `YieldingLLM` is the model as the worker sees it: a generation refused or cut by the gate
  raises `JobYielded`, and the worker puts the job back in the queue (its attempt not counted;
  facts jobs keep their cursor).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from core.base.llm import LLM, GenerationStats, StreamCallback

HOLD_OFF_S = 2.0          # after a turn, background model work waits this long
STOP_WAIT_S = 10.0        # how long a turn waits for the background generation to stop


class JobYielded(Exception):
    """A job stopped at a safe point and goes back to the queue with its progress."""


class TurnGate:
    def __init__(self, hold_off_s: float = HOLD_OFF_S) -> None:
        self.hold_off_s = hold_off_s
        self._lock = threading.Condition()
        self._turns = 0
        self._paused = False
        self._quiet_until = 0.0
        self._busy: LLM | None = None       # the model a background generation is using
        self._cut = False                   # that generation was stopped for the person
        self.yields = 0                     # background generations stopped for the person

    # -- the person's side ------------------------------------------------------------------
    @contextmanager
    def person_turn(self) -> Iterator[None]:
        """Around a chat turn: background generation stops first, none starts meanwhile."""
        with self._lock:
            self._turns += 1
        try:
            self._stop_background()
            yield
        finally:
            with self._lock:
                self._turns -= 1
                self._quiet_until = time.monotonic() + self.hold_off_s
                self._lock.notify_all()

    def pause(self, *, wait: bool = True) -> None:
        """Stop background work; with `wait`, until the model is free (the GUI passes False:
        the running job stops at its next token or aborts its prompt)."""
        with self._lock:
            self._paused = True
        self._stop_background(wait=wait)

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._lock.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def person_waiting(self) -> bool:
        return self._turns > 0

    # -- the worker's side ------------------------------------------------------------------
    def may_run(self) -> bool:
        """May background model work go on now?"""
        return not self._paused and self._turns == 0 and time.monotonic() >= self._quiet_until

    def wait_until_allowed(self, timeout: float) -> bool:
        """Block up to `timeout` seconds for background work to be allowed; True if it is."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self.may_run():
                left = min(deadline, max(self._quiet_until, time.monotonic() + 0.05)) \
                    - time.monotonic()
                if time.monotonic() >= deadline:
                    return False
                self._lock.wait(max(0.01, left))
            return True

    def _begin(self, llm: LLM) -> None:
        with self._lock:
            if not self.may_run():
                raise JobYielded()
            self._busy, self._cut = llm, False

    def _end(self) -> None:
        with self._lock:
            self._busy = None
            self._lock.notify_all()

    def _stop_background(self, *, wait: bool = True) -> None:
        """Stop the background generation (if any) and wait until the model is free. A stop
        that arrives before the runtime starts its request would be reset by it: repeat it."""
        deadline = time.monotonic() + (STOP_WAIT_S if wait else 0.0)
        with self._lock:
            if self._busy is not None:
                self.yields += 1
                self._cut = True
            while self._busy is not None:
                stop = getattr(self._busy, "stop", None)
                if stop is not None:
                    stop()
                if time.monotonic() >= deadline:
                    break
                self._lock.wait(0.05)


class YieldingLLM:
    """The shared model as background jobs use it: each generation first asks the gate, and
    stops (raising `JobYielded`) as soon as the person needs the model."""

    def __init__(self, llm: LLM, gate: TurnGate) -> None:
        self._llm = llm
        self._gate = gate

    def __getattr__(self, name: str) -> Any:          # name, kind, count_tokens, ...
        return getattr(self._llm, name)

    def chat(self, messages, params=None, *, on_token: StreamCallback | None = None,
             session: str | None = None) -> tuple[str, GenerationStats]:
        return self._run(self._llm.chat, messages, params, on_token, session)

    def complete(self, prompt: str, params=None, *, on_token: StreamCallback | None = None,
                 session: str | None = None) -> tuple[str, GenerationStats]:
        return self._run(self._llm.complete, prompt, params, on_token, session)

    def _run(self, generate, what, params, on_token: StreamCallback | None,
             session: str | None) -> tuple[str, GenerationStats]:
        gate = self._gate
        gate._begin(self._llm)

        def token(piece: str) -> bool | None:
            if gate._cut:
                return True
            return on_token(piece) if on_token is not None else None

        try:
            result = generate(what, params, on_token=token, session=session)
        finally:
            gate._end()
        if gate._cut:      # cut short for the person: nothing of it is used
            raise JobYielded()
        return result
