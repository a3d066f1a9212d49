"""One client for the app's worker processes: the model worker (core.runtime.worker) and the
index worker (core.index.worker).

Both children are spawned, never forked: a fork would copy the parent's threads' locks (Qt,
SQLite, torch) in whatever state they are in. Each child gets one pipe per *lane* (the index
worker has two, so that encoding goes on while Chroma writes); a lane carries one request at
a time. One message format on every pipe:

- request: `(op, args, kwargs)`; `("shutdown", (), {})` ends the child;
- replies: any number of `("event", value)` (streamed pieces, live figures), then one
  `("ok", value)` or `("error", (module, class name, message))`.

The parent's side, `WorkerClient`, starts the child on first use, serialises requests per lane
(several threads share it), turns a dead child into one clear error on the call under way and
starts a fresh child on the next one. The child's side, `run_child`, serves the lanes, ignores
Ctrl+C (the parent decides what stops) and exits when the parent dies.
"""
from __future__ import annotations

import importlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from core.base.errors import EngramError

log = logging.getLogger(__name__)

SHUTDOWN = "shutdown"
Handler = Callable[[str, tuple, dict, Callable[[Any], None]], Any]   # (op, args, kwargs, emit)
ErrorInfo = tuple[str, str, str]                                      # module, class, message
# Exceptions rebuilt as themselves in the parent (besides Engram's own, see rebuild_error).
_BUILTIN_ERRORS = {"ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError,
                   "IndexError": IndexError}


# -- the child -------------------------------------------------------------------------------
def run_child(lanes: Sequence[Connection], handle: Handler) -> None:
    """Serve every lane with `handle` (the first on this thread, the others on their own)
    until the parent closes the pipes, asks for shutdown, or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    for extra in lanes[1:]:
        threading.Thread(target=serve, args=(extra, handle), daemon=True,
                         name="engram-worker-lane").start()
    serve(lanes[0], handle)


def serve(conn: Connection, handle: Handler) -> None:
    """One lane: each request is answered by its events, then "ok" or "error"."""
    def emit(value: Any) -> None:
        conn.send(("event", value))

    while True:
        try:
            op, args, kwargs = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            break                       # the parent closed the pipe or died
        if op == SHUTDOWN:
            break
        try:
            reply: tuple = ("ok", handle(op, args, kwargs, emit))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            reply = ("error", error_info(exc))
        try:
            conn.send(reply)
        except (OSError, ValueError):
            break
    conn.close()


def error_info(exc: BaseException) -> ErrorInfo:
    return type(exc).__module__, type(exc).__qualname__, str(exc)


def _exit_with_parent(parent_pid: int) -> None:
    """A busy child does not read its pipes; this notices a dead parent anyway."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


# -- the parent ------------------------------------------------------------------------------
def describe_exit(code: int | None) -> str:
    """How a child ended, for a person: "was killed (SIGKILL; ...)", "exited with code 1"."""
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGSEGV:
            return f"crashed ({name}, a segmentation fault in native code)"
        if -code == signal.SIGKILL:
            return f"was killed ({name}; often the system running out of memory)"
        return f"was terminated by {name}"
    return f"exited with code {code}"


def rebuild_error(info: ErrorInfo, unknown: Callable[[str, str], Exception]) -> Exception:
    """The child's exception as the parent raises it: builtins and Engram's own errors as
    themselves (only from modules this process has imported already: nothing new is imported
    on a reply), anything else through `unknown(class name, message)`."""
    module, name, message = info
    if module == "builtins" and name in _BUILTIN_ERRORS:
        return _BUILTIN_ERRORS[name](message)
    if module.startswith("core.") and module in sys.modules:
        cls = getattr(importlib.import_module(module), name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(message)
            except TypeError:
                pass
    return unknown(name, message)


class _Lane:
    """One pipe to the child and the lock that keeps one request on it at a time."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.conn: Connection | None = None


class WorkerClient:
    """The parent's handle on one worker process. Thread-safe; starts the child on first use.

    `target(lanes, *args)` runs in the child (it calls `run_child`). `what` names the worker
    in errors ("The model worker"); `died` is the error class for a dead or closed child;
    `unknown(name, message)` rebuilds an error of a class the parent does not know. `startup`,
    when given, is called with the client right after each child starts (e.g. to load the
    model): it may use `request`, and a failure discards the child."""

    def __init__(self, target: Callable[..., None], name: str, *args: Any,
                 lanes: Sequence[str] = ("main",), what: str, died: type[EngramError],
                 unknown: Callable[[str, str], Exception],
                 startup: Callable[[WorkerClient], None] | None = None) -> None:
        self._target, self._name, self._args = target, name, args
        self.what, self._died_error, self._unknown = what, died, unknown
        self._startup = startup
        self._ctx = mp.get_context("spawn")
        self._lock = threading.RLock()           # starting, replacing, closing the child
        self._lanes = {lane: _Lane() for lane in lanes}
        self._first = next(iter(self._lanes))
        self._proc: BaseProcess | None = None
        self._started = False
        self._closed = False
        self.restarts = 0        # children started again after one died

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    def start(self) -> None:
        """Start the child now (e.g. in the background soon after start-up)."""
        with self._lanes[self._first].lock, self._lock:
            self._ensure()

    def call(self, op: str, *args: Any, lane: str | None = None, timeout: float | None = None,
             on_event: Callable[[Any], None] | None = None, **kwargs: Any) -> Any:
        """Send one request and wait for its answer; `on_event` gets what it streams."""
        chosen = self._lanes[lane or self._first]
        with chosen.lock:
            with self._lock:
                self._ensure()
                proc, conn = self._proc, chosen.conn
            return self.request(proc, conn, op, args, kwargs, on_event=on_event,
                                timeout=timeout)

    def request(self, proc: BaseProcess | None, conn: Connection | None, op: str, args: tuple,
                kwargs: dict, *, on_event: Callable[[Any], None] | None = None,
                timeout: float | None = None) -> Any:
        """One round trip on a lane the caller holds (`call`, or `startup`)."""
        try:
            conn.send((op, args, kwargs))
        except (OSError, ValueError, AttributeError) as exc:
            raise self._died(proc) from exc
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            kind, value = self._receive(proc, conn, deadline)
            if kind == "event":
                if on_event is not None:
                    on_event(value)
                continue
            if kind == "ok":
                return value
            raise rebuild_error(value, self._unknown)

    def lane(self, name: str | None = None) -> tuple[BaseProcess | None, Connection | None]:
        """The child and one lane's pipe, for `startup` (the lane's lock is held)."""
        return self._proc, self._lanes[name or self._first].conn

    def close(self, timeout: float = 5.0) -> None:
        """Stop the child: wait for requests under way up to `timeout`, then kill it."""
        locks = [lane.lock for lane in self._lanes.values()]
        got = [lock.acquire(timeout=timeout) for lock in locks]
        try:
            with self._lock:
                self._closed = True
                proc = self._proc
                conns = [lane.conn for lane in self._lanes.values()]
                self._proc = None
                for lane in self._lanes.values():
                    lane.conn = None
            if proc is None:
                return
            if all(got) and conns[0] is not None:
                try:
                    conns[0].send((SHUTDOWN, (), {}))
                except (OSError, ValueError):
                    pass
                proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout)
            for conn in conns:
                if conn is not None:
                    conn.close()
        finally:
            for lock, held in zip(locks, got):
                if held:
                    lock.release()

    # -- plumbing ---------------------------------------------------------------------------
    def _ensure(self) -> None:
        """(the first lane's or the calling lane's lock, and self._lock, held) A live child
        with every lane connected."""
        if self._closed:
            raise self._died_error(f"{self.what} was closed.")
        if self._proc is not None and self._proc.is_alive():
            return
        if self._proc is not None:
            self._discard()
        if self._started:
            self.restarts += 1
        self._started = True
        pipes = [self._ctx.Pipe() for _ in self._lanes]
        proc = self._ctx.Process(target=self._target, name=self._name, daemon=True,
                                 args=(tuple(child for _, child in pipes), *self._args))
        try:
            proc.start()
        except OSError as exc:
            for parent, _ in pipes:
                parent.close()
            raise self._died_error(f"Could not start {self.what.lower()}: {exc}") from exc
        finally:
            for _, child in pipes:
                child.close()
        self._proc = proc
        for lane, (parent, _) in zip(self._lanes.values(), pipes):
            lane.conn = parent
        log.debug("%s started (pid %s)", self._name, proc.pid)
        if self._startup is not None:
            try:
                self._startup(self)
            except BaseException:
                self._discard()
                raise

    def _receive(self, proc: BaseProcess | None, conn: Connection,
                 deadline: float | None) -> tuple[str, Any]:
        while True:
            try:
                if conn.poll(0.05):
                    return conn.recv()
            except (EOFError, OSError) as exc:
                raise self._died(proc) from exc
            if proc is None or not proc.is_alive():
                raise self._died(proc)
            if deadline is not None and time.monotonic() > deadline:
                with self._lock:
                    if self._proc is proc:
                        self._discard()
                raise self._died_error(f"{self.what} did not answer in time; it was stopped "
                                       "and will be started again.")

    def _died(self, proc: BaseProcess | None) -> EngramError:
        if proc is not None:
            proc.join(1.0)
        code = proc.exitcode if proc is not None else None
        with self._lock:
            if self._proc is proc and proc is not None:   # another lane may have replaced it
                self._discard()
                log.warning("%s %s", self._name, describe_exit(code))
        return self._died_error(f"{self.what} {describe_exit(code)}. The next request starts "
                                "it again.")

    def _discard(self) -> None:
        """(self._lock held) Kill the child if it still runs, reap it, close the pipes."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
        for lane in self._lanes.values():
            if lane.conn is not None:
                lane.conn.close()
            lane.conn = None
