"""`Engram`: the services of one data folder, opened together.

This is what a script, the CLI and the desktop app hold. Heavy parts (the embedding model,
the Chroma client) are created on first use so that opening is fast. With
`index_process=True` (the desktop app) both live in a child process (`core.index.worker`) and
this process never imports torch or chromadb.
"""
from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

from core.base.paths import DataLayout
from core.base.settings import Settings, load_settings, save_settings
from core.index.embedder import Embedder
from core.index.sync import IndexSync
from core.index.vector_index import VectorIndex, collection_for
from core.index.worker import IndexWorker
from core.store.conversations import ConversationStore
from core.store.db import open_database
from core.store.imports import ImportStore
from core.store.jobs import JobQueue
from core.store.memories import MemoryStore
from core.store.memory_views import MemoryViews
from core.store.retrievals import RetrievalStore
from core.store.steering import SteeringStore

log = logging.getLogger(__name__)


class Engram:
    def __init__(self, layout: DataLayout, settings: Settings | None = None, *,
                 index_process: bool = False) -> None:
        self.layout = layout.ensure()
        self.settings = settings if settings is not None else load_settings(layout.settings_path)
        self.db = open_database(layout.db_path, backup_dir=layout.backups_dir)
        self.conversations = ConversationStore(self.db)
        self.memories = MemoryStore(self.db, self.conversations)
        self.retrievals = RetrievalStore(self.db)
        self.imports = ImportStore(self.db)
        self.jobs = JobQueue(self.db)
        self.views = MemoryViews(self.db)          # what a person sees of memory
        self.steering = SteeringStore(self.db)     # feedback, projects
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self.index_process = index_process
        self._index_worker: IndexWorker | None = None     # when index_process

    @classmethod
    def open(cls, home: Path | str) -> Engram:
        """Open a data folder that holds everything (as ENGRAM_HOME does)."""
        return cls(DataLayout.single(home))

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                if self.index_process:
                    from core.index.proxies import EmbedderProxy

                    self._embedder = EmbedderProxy(self._worker())  # type: ignore[assignment]
                else:
                    memory = self.settings.memory
                    self._embedder = Embedder(memory.embedding_model,
                                              runtime=memory.embedding_runtime)
            return self._embedder

    @property
    def index(self) -> VectorIndex:
        # The collection depends on the embedder's vector family (core.index.vector_index.
        # collection_for); the index worker resolves it in its own process.
        family = None if self.index_process or self._index is not None else \
            self.embedder.vector_family
        with self._lock:
            if self._index is None:
                chroma = self.settings.chroma
                if self.index_process:
                    from core.index.proxies import VectorIndexProxy

                    self._index = VectorIndexProxy(self._worker())  # type: ignore[assignment]
                else:
                    name = collection_for(chroma.collection, family or "fp32")
                    self._index = (VectorIndex.server(chroma.server_url, name)
                                   if chroma.server_url
                                   else VectorIndex.embedded(self.layout.chroma_dir, name))
            return self._index

    def _worker(self) -> IndexWorker:
        """The index worker process handle (lock held); the child starts on first request."""
        if self._index_worker is None:
            from core.index.proxies import index_worker_for

            self._index_worker = index_worker_for(self.settings, self.layout.chroma_dir)
        return self._index_worker

    @property
    def index_sync(self) -> IndexSync:
        return IndexSync(self.memories, self.index, self.embedder,
                         state_path=self.layout.data_dir / "index-state.json")

    def save_settings(self) -> None:
        save_settings(self.layout.settings_path, self.settings)

    def close(self) -> None:
        if self._index_worker is not None:
            self._index_worker.close()
        with contextlib.suppress(sqlite3.Error):   # already closed
            self.db.conn.close()


class SiblingEngram(Engram):
    """The same data folder on a second SQLite connection, for work on another thread (the
    memory worker beside a chat). One sqlite3 connection used by two threads at once mixes
    their transactions ("no such savepoint", "cannot start a transaction within a
    transaction"); the heavy embedder and index are shared with `main` (both are safe across
    threads), so a sibling costs one connection."""

    def __init__(self, main: Engram) -> None:
        super().__init__(main.layout, main.settings)
        self._main = main

    @property
    def embedder(self) -> Embedder:  # type: ignore[override]
        return self._main.embedder

    @property
    def index(self) -> VectorIndex:  # type: ignore[override]
        return self._main.index
