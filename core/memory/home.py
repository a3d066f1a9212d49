"""What the memory algorithms use of a data folder: its stores, its settings and the
embedder. `core.services.engine.Engram` is one; the memory wing names only this shape, so it
depends on nothing above it."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from core.base.settings import Settings
from core.store.conversations import ConversationStore
from core.store.memories import MemoryStore


class Encoder(Protocol):
    """An embedder (core.index.embedder.Embedder, or its proxy in the index worker):
    L2-normalised float32 vectors."""

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_one(self, text: str) -> np.ndarray: ...


class MemoryHome(Protocol):
    settings: Settings
    conversations: ConversationStore
    memories: MemoryStore

    @property
    def embedder(self) -> Encoder: ...
