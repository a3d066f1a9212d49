"""Identifiers. Fresh ids are random; ids of imported things are derived from their source ids,
so that importing the same archive twice finds the same rows (idempotence)."""
from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5d1e2c4a-9b0f-4d7e-8a63-1f2e3d4c5b6a")


def new_id() -> str:
    return uuid.uuid4().hex


def stable_id(*parts: str) -> str:
    """A deterministic id from its parts (e.g. source format, conversation id, message id)."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join(parts)).hex
