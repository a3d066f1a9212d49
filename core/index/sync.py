"""Keeping the Chroma index in step with SQLite.

SQLite decides; Chroma follows. A memory whose `indexed_version` differs from its `version`
is out of date in the index. `sync` embeds and upserts those (purged ones are deleted);
`reindex` rebuilds the whole collection; `doctor` compares both sides and repairs drift.
All loops check `should_stop` between batches and report progress (core.base.progress).

How `sync` keeps the encoder busy and its passes few (an imported archive is most of the work):
- pending rows are read in chunks and their texts sorted by length, so each batch the encoder
  gets holds texts of about one length (padding costs as much as text);
- no text goes through the encoder twice: identical texts in a sync are embedded once, and a
  text whose hash already has a vector in the collection (a re-import, a restored or re-scoped
  memory) reuses it. The collection is the cache (each vector carries its text's hash), so a
  purged memory's vector leaves the cache with it;
- a *window* memory (`core.memory.episodic`) gets no pass of its own: its vector is the
  normalised, length-weighted mean of its turns' vectors (recall on both dev splits is in the
  README); a window whose turns have no vector yet is encoded as before;
- Chroma writes run on their own thread, in bulk, while the next batch is encoded; SQLite is
  only touched from the calling thread (rows are marked once their vectors are written).
"""
from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.base.progress import OnProgress, Progress, ShouldStop
from core.index.embedder import Embedder
from core.index.sync_state import IndexState
from core.index.vector_index import IndexDamaged, IndexEntry, VectorIndex
from core.store.memories import MemoryStore

log = logging.getLogger(__name__)

VectorMap = MutableMapping[str, np.ndarray]

DERIVED_GRANULARITIES = ("window",)        # vectors made from their turns' vectors
PIECE_GRANULARITIES = ("turn", "passage")  # the pieces a window's vector is made of
WINDOW_WEIGHT_CAP = 1000                   # characters: MiniLM reads about 256 tokens of a turn
# How windows get vectors: "encode" their own text (as before), "derive" every one from its
# turns, or "derive-long": derive only those longer than the encoder's window (which it would
# cut) and encode the others.
WINDOW_MODES = ("encode", "derive", "derive-long")
WINDOW_VECTORS = "derive"


@dataclass
class SyncReport:
    embedded: int = 0          # memories made searchable (every way below)
    deleted: int = 0
    cancelled: bool = False
    encoded: int = 0           # texts that went through the encoder
    reused: int = 0            # duplicates in the sync, or a vector the collection had
    derived: int = 0           # windows made from their turns' vectors
    seconds: float = 0.0
    rebuilt_damaged: bool = False   # the collection was damaged: dropped and embedded again

    @property
    def per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


@dataclass
class DoctorReport:
    sqlite_indexable: int = 0
    index_count: int = 0
    missing_in_index: list[str] = field(default_factory=list)
    orphans_in_index: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    repaired: bool = False
    damaged: bool = False           # Chroma could not read the collection's files

    @property
    def healthy(self) -> bool:
        return not (self.missing_in_index or self.orphans_in_index or self.stale
                    or self.damaged)


def content_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _entry(row: dict, content: str = "", runtime: str = "") -> IndexEntry:
    return IndexEntry(row["id"], row["kind"], row["scope"], row["status"], row["conversation_id"],
                      content_hash=content, runtime=runtime)


class _Bounded(OrderedDict):
    """A small FIFO map (vectors seen in this sync)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        super().__setitem__(key, value)
        if len(self) > self.limit:
            self.popitem(last=False)


class _Writer:
    """Chroma upserts on their own thread, one batch behind the encoder. `done()` hands back
    the batches written so far (their SQLite marks are set by the caller's thread)."""

    def __init__(self, index: VectorIndex) -> None:
        self.index = index
        self._todo: queue.Queue = queue.Queue(maxsize=3)
        self._done: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="engram-index-writer",
                                        daemon=True)
        self._thread.start()

    def put(self, entries: list[IndexEntry], vectors: np.ndarray, marks: dict[str, int],
            count: int) -> None:
        if self.error is not None:
            raise self.error
        self._todo.put((entries, vectors, marks, count))

    def done(self) -> list[tuple[dict[str, int], int]]:
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def finish(self) -> list[tuple[dict[str, int], int]]:
        self._todo.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.done()

    def abandon(self) -> None:
        """The sync failed: let the thread finish what it holds and stop (nothing is marked)."""
        if not self._thread.is_alive():
            return
        self.error = self.error or RuntimeError("abandoned")   # the queued batches are dropped
        self._todo.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._todo.get()
            if item is None:
                return
            entries, vectors, marks, count = item
            if self.error is not None:
                continue                      # drain; the caller raises
            try:
                if entries:
                    self.index.upsert(entries, vectors)
                self._done.put((marks, count))
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                self.error = exc


class IndexSync:
    def __init__(self, store: MemoryStore, index: VectorIndex, embedder: Embedder,
                 batch_size: int = 256, *, chunk_size: int = 2048,
                 window_vectors: str = WINDOW_VECTORS,
                 state_path: Path | None = None,
                 vector_cache: VectorMap | None = None) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        if window_vectors not in WINDOW_MODES:
            raise ValueError(f"window_vectors must be one of {WINDOW_MODES}")
        self.window_vectors = window_vectors
        self.state = IndexState(state_path) if state_path else None
        # content hash -> vector beyond one sync (benchmarks that rebuild many folders)
        self.vector_cache = vector_cache
        self._tick: Callable[[], bool] = lambda: False     # set per sync (see sync)

    def pending_count(self) -> int:
        return self.store.index_pending_count()

    def check_target(self) -> bool:
        """If the index these marks were made for is not the one open now (another vector
        family, another server), every memory is out of date there: mark all pending.
        Returns True when it did."""
        if self.state is None:
            return False
        target = {"collection": self.index.collection_name, "location": str(self.index.location)}
        recorded = self.state.target()
        if recorded == target:
            return False
        changed = recorded is not None
        if changed:
            log.info("vector index changed (%s -> %s): re-indexing", recorded, target)
            self.store.mark_unindexed()
        self.state.set_target(target)
        return changed

    # -- sync ------------------------------------------------------------------------------
    def sync(self, progress: OnProgress | None = None,
             should_stop: ShouldStop | None = None, *, repair: bool = True) -> SyncReport:
        """Bring every out-of-date memory into the index. A damaged collection (see
        `IndexDamaged`) is dropped and every memory embedded again, once per call; with
        `repair=False` (the chat's quick sync after a turn, which must not keep the person
        waiting for minutes of embedding) the damage is raised for a background sync."""
        try:
            return self._sync(progress, should_stop)
        except IndexDamaged as exc:
            if not repair:
                raise
            log.warning("%s Dropping the collection and embedding every memory again.", exc)
            self.index.reset()
            self.store.mark_unindexed()
            report = self._sync(progress, should_stop)
            report.rebuilt_damaged = True
            return report

    def _sync(self, progress: OnProgress | None, should_stop: ShouldStop | None) -> SyncReport:
        self.check_target()
        self.index.count()      # damage a search met (it answered by words) shows here too
        report = SyncReport()
        total = self.pending_count()
        runtime = getattr(self.embedder, "runtime", "torch") if total else ""  # loads the model
        start = time.perf_counter()               # the rate is the pipeline's, not the load's
        seen = self.vector_cache if self.vector_cache is not None else _Bounded(50_000)
        fresh = _Bounded(20_000)                  # memory id -> vector, this sync
        writer = _Writer(self.index)
        marked = 0

        def collect(batches: list[tuple[dict[str, int], int]]) -> None:
            nonlocal marked
            for marks, count in batches:
                self.store.mark_indexed(marks)
                marked += len(marks)
                report.embedded += count
            if batches:
                report.seconds = time.perf_counter() - start
                if self.state is not None:
                    self.state.record_rate(report.embedded, report.seconds, runtime)
                if progress:
                    progress(Progress(marked, max(total, marked), "embedding"))

        def tick() -> bool:                        # between two encoder batches
            collect(writer.done())
            return bool(should_stop and should_stop())

        self._tick = tick
        try:
            while True:                            # passes: rows may change while we work
                after, found = 0, False
                while True:
                    if should_stop and should_stop():
                        report.cancelled = True
                        collect(writer.finish())
                        return report
                    rows = self.store.index_pending(after, self.chunk_size)
                    if not rows:
                        break
                    found = True
                    after = rows[-1]["rowid"]
                    self._chunk(rows, writer, report, seen, fresh, runtime)
                    collect(writer.done())
                    if should_stop and should_stop():
                        report.cancelled = True
                        collect(writer.finish())
                        return report
                collect(writer.finish())
                if not found:
                    break
                writer = _Writer(self.index)
        except BaseException:
            writer.abandon()
            raise
        finally:
            report.seconds = time.perf_counter() - start
            if self.state is not None:
                self.state.finish(report.embedded, report.seconds, runtime)
        return report

    def _chunk(self, rows: list[dict], writer: _Writer, report: SyncReport, seen: VectorMap,
               fresh: _Bounded, runtime: str) -> None:
        purged = [r for r in rows if r["status"] == "purged"]
        if purged:
            self.index.delete([r["id"] for r in purged])
            report.deleted += len(purged)
            writer.put([], np.zeros((0, 1), np.float32), {r["id"]: r["version"] for r in purged}, 0)
        live = [r for r in rows if r["status"] != "purged"]
        windows = [r for r in live if self.window_vectors != "encode"
                   and r["granularity"] in DERIVED_GRANULARITIES]
        if windows and self.window_vectors == "derive-long":
            cap = self.embedder.max_tokens()           # a window the encoder reads whole ...
            counts = self.embedder.token_counts([r["text"] for r in windows])
            windows = [r for r, n in zip(windows, counts) if n >= cap]   # ... is encoded
        window_ids = {r["id"] for r in windows}
        if not self._embed([r for r in live if r["id"] not in window_ids], writer, report, seen,
                           fresh, runtime):
            return                                         # cancelled: the rest stays pending
        derived, leftover = self._derive(windows, fresh)   # after their turns got vectors
        if not self._embed(leftover, writer, report, seen, fresh, runtime):
            return
        if derived:
            ids = [r["id"] for r in windows if r["id"] in derived]
            by_id = {r["id"]: r for r in windows}
            writer.put([_entry(by_id[i], runtime="derived") for i in ids],
                       np.stack([derived[i] for i in ids]),
                       {i: by_id[i]["version"] for i in ids}, len(ids))
            report.derived += len(ids)

    def _embed(self, rows: list[dict], writer: _Writer, report: SyncReport, seen: VectorMap,
               fresh: _Bounded, runtime: str) -> bool:
        """Vectors for `rows` by content hash: from this sync, from the collection, or from
        the encoder (each distinct text once, in batches of texts of about one length).
        False when cancelled between two batches."""
        if not rows:
            return True
        hashes = {r["id"]: content_hash(r["text"]) for r in rows}
        unknown = [h for h in dict.fromkeys(hashes.values()) if h not in seen]
        if unknown:
            for h, vec in self.index.find_by_hash(unknown).items():
                seen[h] = vec
        todo: dict[str, str] = {}                 # hash -> text, to encode
        for r in rows:
            h = hashes[r["id"]]
            if h not in seen and h not in todo:
                todo[h] = r["text"]
        report.reused += len(rows) - len(todo)
        ready = [r for r in rows if hashes[r["id"]] in seen]
        waiting = [r for r in rows if hashes[r["id"]] not in seen]
        self._hand_over(writer, ready, [seen[hashes[r["id"]]] for r in ready], hashes, runtime,
                        fresh)
        order = sorted(todo, key=lambda h: len(todo[h]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors = self.embedder.encode([todo[h] for h in batch])
            report.encoded += len(batch)
            for h, vec in zip(batch, vectors):
                seen[h] = vec
            batch_set = set(batch)
            now = [r for r in waiting if hashes[r["id"]] in batch_set]
            self._hand_over(writer, now, [seen[hashes[r["id"]]] for r in now], hashes, runtime,
                            fresh)
            if self._tick():
                return False
        return True

    def _hand_over(self, writer: _Writer, rows: list[dict], vectors: list[np.ndarray],
                   hashes: dict[str, str], runtime: str, fresh: _Bounded) -> None:
        if not rows:
            return
        for r, vec in zip(rows, vectors):
            fresh[r["id"]] = vec
        writer.put([_entry(r, hashes[r["id"]], runtime) for r in rows], np.stack(vectors),
                   {r["id"]: r["version"] for r in rows}, len(rows))

    def _derive(self, windows: list[dict], fresh: _Bounded) -> tuple[dict[str, np.ndarray],
                                                                     list[dict]]:
        """Vectors for windows from their pieces' vectors; windows that cannot be derived
        (a piece without a vector) are returned to be encoded."""
        if not windows:
            return {}, []
        pieces: dict[str, list[tuple[str, int]]] = {}
        for window_id, piece_id, length in self.store.window_pieces(
                [r["id"] for r in windows], PIECE_GRANULARITIES):
            pieces.setdefault(window_id, []).append((piece_id, length))
        needed = {p for ps in pieces.values() for p, _ in ps if p not in fresh}
        stored = self.index.get_embeddings(sorted(needed)) if needed else {}
        derived: dict[str, np.ndarray] = {}
        leftover: list[dict] = []
        for row in windows:
            parts = pieces.get(row["id"], [])
            vecs = [fresh.get(p) if p in fresh else stored.get(p) for p, _ in parts]
            if not parts or any(v is None for v in vecs):
                leftover.append(row)
                continue
            weights = np.array([min(max(n, 1), WINDOW_WEIGHT_CAP) for _, n in parts], np.float32)
            mean = (np.stack(vecs) * weights[:, None]).sum(axis=0)
            derived[row["id"]] = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
        return derived, leftover

    # -- reindex, doctor -------------------------------------------------------------------
    def reindex(self, progress: OnProgress | None = None,
                should_stop: ShouldStop | None = None) -> SyncReport:
        """Drop the collection and rebuild it from SQLite."""
        self.index.reset()
        self.store.mark_unindexed()
        return self.sync(progress, should_stop)

    def doctor(self, repair: bool = False) -> DoctorReport:
        report = DoctorReport()
        rows = self.store.index_rows()
        report.sqlite_indexable = len(rows)
        try:
            in_index = set(self.index.all_ids())
        except IndexDamaged as exc:
            log.warning("%s", exc)
            report.damaged = True
            if repair:
                report.repaired = self.sync().rebuilt_damaged
            return report
        report.index_count = len(in_index)
        report.missing_in_index = sorted(set(rows) - in_index)
        report.orphans_in_index = sorted(in_index - set(rows))
        metadata = self.index.get_metadata(sorted(in_index & set(rows)))
        for mid, meta in metadata.items():
            row = rows[mid]
            expected = _entry(row).metadata()
            if (row["indexed_version"] != row["version"]
                    or expected != {k: (meta or {}).get(k) for k in expected}):
                report.stale.append(mid)
        report.stale.sort()
        if repair and not report.healthy:
            if report.orphans_in_index:
                self.index.delete(report.orphans_in_index)
            self.store.mark_unindexed(report.missing_in_index + report.stale)
            self.sync()
            report.repaired = True
        return report


def time_left_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown until embedding has run for a few seconds"
    if seconds < 90:
        return "under 2 minutes"
    if seconds < 5400:
        return f"about {round(seconds / 60)} minutes"
    return f"about {seconds / 3600:.1f} hours"


def waiting_report(store: MemoryStore, state_path: Path) -> dict[str, Any]:
    """What `engram info` says about vectors: how many memories wait, at what rate, how long."""
    waiting = store.waiting_for_vectors()
    rate, running = IndexState(state_path).rate()
    out: dict[str, Any] = {"memories_waiting_for_vectors": waiting}
    if waiting:
        out["embedding_now"] = running
        if rate:
            out["embedding_rate_per_s"] = rate
        out["vectors_time_left"] = time_left_text(waiting / rate if rate else None)
        out["search_meanwhile"] = ("word search finds every memory now; search by meaning "
                                   "finds the waiting ones once their vectors are in")
    return out
