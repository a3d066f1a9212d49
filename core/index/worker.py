"""The index worker: a child process (multiprocessing, spawn) that owns the embedding model
and the Chroma client.

Why a process: sentence-transformers (torch) and Chroma's embedded client hold Python's GIL in
long C calls (importing torch, each Chroma upsert: about 30 ms plus 1.5 ms per vector). On a
thread of the desktop app that freezes the window; in another process it costs nothing there.
The desktop app therefore never imports torch, sentence_transformers or chromadb itself; the
CLI, the benchmarks and the tests keep both in-process (see `Engram(index_process=...)`).

Protocol: two lanes, each a Pipe served by its own thread in the child: the *embed* lane
(encoding) and the *index* lane (Chroma). Each carries one request at a time, `(op, args,
kwargs)` answered by `("ok", value)` or `("error", module, class name, message)`; numpy arrays
travel pickled. Two lanes let the index sync write one batch to Chroma while the next is
encoded (both are native code that leaves the GIL to the other for most of the time), so the
child keeps the cores it is given busy. `IndexWorker` is the parent's side: it starts the child
on first use, serialises requests per lane with a lock (several GUI worker threads share it),
turns a dead child into a clear `IndexWorkerError` on that call and starts a fresh child on
the next one. The child exits when the parent closes the pipes or dies.
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
from dataclasses import dataclass
from typing import Any

from core.base.errors import EngramError
from core.base.worker_client import discard_child, start_child

log = logging.getLogger(__name__)

# VectorIndex methods the child serves; anything else is refused.
INDEX_METHODS = frozenset({"upsert", "update_metadata", "delete", "erase", "reset", "query",
                           "count", "existing_ids", "all_ids", "get_metadata", "get_embeddings",
                           "find_by_hash"})
# Exceptions rebuilt as themselves in the parent; others become IndexWorkerError.
_BUILTIN_ERRORS = {"ValueError": ValueError, "KeyError": KeyError, "TypeError": TypeError,
                   "IndexError": IndexError}


class IndexWorkerError(EngramError):
    """The index worker died, did not start, or failed in a way the parent cannot rebuild."""


@dataclass(frozen=True)
class IndexWorkerSpec:
    """What the child opens: the embedding model folder ("" = the bundled MiniLM) and either
    an embedded Chroma folder or a server URL."""

    embedding_model: str = ""
    chroma_path: str = ""
    server_url: str = ""
    collection: str = "memories"       # the configured base name (see collection_for)
    embedding_runtime: str = "auto"


EMBED_OPS = frozenset({"encode", "dimension", "max_tokens", "runtime", "describe",
                       "token_counts", "ping"})


# -- the child -------------------------------------------------------------------------------
class _Server:
    def __init__(self, spec: IndexWorkerSpec) -> None:
        self.spec = spec
        self._embedder: Any = None
        self._index: Any = None
        self._lock = threading.RLock()      # both lanes may ask for these first

    @property
    def embedder(self) -> Any:
        with self._lock:
            if self._embedder is None:
                from core.index.embedder import Embedder

                self._embedder = Embedder(self.spec.embedding_model,
                                          runtime=self.spec.embedding_runtime)
            return self._embedder

    @property
    def index(self) -> Any:
        with self._lock:
            return self._open_index()

    def _open_index(self) -> Any:
        if self._index is None:
            from pathlib import Path

            from core.index.vector_index import VectorIndex, collection_for

            name = collection_for(self.spec.collection, self.embedder.vector_family)
            if self.spec.server_url:
                self._index = VectorIndex.server(self.spec.server_url, name)
            else:
                self._index = VectorIndex.embedded(Path(self.spec.chroma_path), name)
        return self._index

    def handle(self, op: str, args: tuple, kwargs: dict) -> Any:
        if op == "encode":
            return self.embedder.encode(*args)
        if op == "dimension":
            return self.embedder.dimension
        if op == "max_tokens":
            return self.embedder.max_tokens()
        if op == "runtime":
            return self.embedder.runtime
        if op == "describe":
            return self.embedder.describe()
        if op == "token_counts":
            return self.embedder.token_counts(*args)
        if op == "collection_name":
            return self.index.collection_name
        if op == "ping":
            return os.getpid()
        if op.startswith("index.") and op[6:] in INDEX_METHODS:
            return getattr(self.index, op[6:])(*args, **kwargs)
        raise EngramError(f"unknown index worker request {op!r}")


def _exit_with_parent(parent_pid: int) -> None:
    """A busy child does not read the pipe; this notices a dead parent anyway."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def worker_main(conn: Any, spec: IndexWorkerSpec, parent_pid: int, embed_conn: Any = None
                ) -> None:
    # Ctrl+C in a terminal reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    server = _Server(spec)
    if embed_conn is not None:
        threading.Thread(target=_serve, args=(embed_conn, server), daemon=True,
                         name="engram-embed-lane").start()
    _serve(conn, server)


def _serve(conn: Any, server: _Server) -> None:
    while True:
        try:
            op, args, kwargs = conn.recv()
        except (EOFError, OSError):
            break                       # the parent closed the pipe or died
        if op == "shutdown":
            break
        try:
            reply: tuple = ("ok", server.handle(op, args, kwargs))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
            reply = ("error", type(exc).__module__, type(exc).__qualname__, str(exc))
        try:
            conn.send(reply)
        except (OSError, ValueError):
            break
    conn.close()


# -- the parent ------------------------------------------------------------------------------
def _describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed ({signal.Signals(-code).name})"
        except ValueError:
            return f"was killed (signal {-code})"
    return f"exited with code {code}"


def _rebuild_error(module: str, name: str, message: str) -> Exception:
    if module == "builtins" and name in _BUILTIN_ERRORS:
        return _BUILTIN_ERRORS[name](message)
    if module.startswith("core.") and module in sys.modules:   # never import anything new
        cls = getattr(importlib.import_module(module), name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(message)
            except TypeError:
                pass
    return IndexWorkerError(f"The vector index failed ({name}): {message}")


class _Lane:
    """One pipe to the child and the lock that keeps one request on it at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: Any = None


class IndexWorker:
    """The parent's handle on the child. Thread-safe; starts the child on first use."""

    def __init__(self, spec: IndexWorkerSpec) -> None:
        self.spec = spec
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()           # starting, replacing, closing the child
        self._lanes = {"index": _Lane(), "embed": _Lane()}
        self._proc: Any = None
        self._started = False
        self._closed = False
        self.restarts = 0       # children started again after one died

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    def start(self) -> None:
        """Start the child now (e.g. in the background soon after start-up)."""
        with self._lock:
            self._ensure()

    def call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        lane = self._lanes["embed" if op in EMBED_OPS else "index"]
        with lane.lock:
            with self._lock:
                self._ensure()
                proc, conn = self._proc, lane.conn
            try:
                conn.send((op, args, kwargs))
            except (OSError, ValueError) as exc:
                raise self._died(proc) from exc
            reply = self._recv(proc, conn)
        if reply[0] == "ok":
            return reply[1]
        raise _rebuild_error(*reply[1:])

    def close(self, timeout: float = 5.0) -> None:
        """Stop the child (waits for requests under way up to `timeout`, then kills)."""
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
            if all(got):
                try:
                    conns[0].send(("shutdown", (), {}))
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
        """(self._lock held) A live child with both lanes connected."""
        if self._closed:
            raise IndexWorkerError("The index worker was closed with its data folder.")
        if self._proc is not None and self._proc.is_alive():
            return
        if self._proc is not None:
            self._discard()
        if self._started:
            self.restarts += 1
        self._started = True
        embed_parent, embed_child = self._ctx.Pipe()
        try:
            self._proc, index_parent = start_child(self._ctx, worker_main, "engram-index-worker",
                                                   self.spec, os.getpid(), embed_child)
        except OSError as exc:
            embed_parent.close()
            raise IndexWorkerError(f"Could not start the index worker: {exc}") from exc
        finally:
            embed_child.close()
        self._lanes["index"].conn = index_parent
        self._lanes["embed"].conn = embed_parent
        log.debug("index worker started (pid %s)", self._proc.pid)

    def _recv(self, proc: Any, conn: Any) -> tuple:
        while True:
            try:
                if conn.poll(0.1):
                    return conn.recv()
            except (EOFError, OSError) as exc:
                raise self._died(proc) from exc
            if not proc.is_alive():
                raise self._died(proc)

    def _died(self, proc: Any) -> IndexWorkerError:
        if proc is not None:
            proc.join(1.0)
        code = proc.exitcode if proc is not None else None
        with self._lock:
            if self._proc is proc:              # the other lane may have replaced it already
                self._discard()
                log.warning("index worker %s", _describe_exit(code))
        return IndexWorkerError(f"The index worker (embeddings and vector index) "
                                f"{_describe_exit(code)}. The next request starts it again.")

    def _discard(self) -> None:
        """(self._lock held)"""
        discard_child(self._proc, self._lanes["index"].conn)
        if self._lanes["embed"].conn is not None:
            self._lanes["embed"].conn.close()
        self._proc = None
        for lane in self._lanes.values():
            lane.conn = None
