"""What retrieval ranks: a memory with its score, why it was chosen and its prompt cost."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.store.memories import Memory


@dataclass
class Candidate:
    memory: Memory
    score: float
    reason: str
    detail: dict[str, Any]
    text: str = ""
    cost: int = 0
