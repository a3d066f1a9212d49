"""How a memory reads inside a prompt, and what it costs there.

The same text is shown to the model, counted against the retrieval budget and stored in the
retrieval trace, so the benchmark's token figures are the prompt's.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from core.base.llm import approx_tokens
from core.store.memories import Memory

TokenCounter = Callable[[str], int]


def day_of(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def render_memory(mem: Memory) -> str:
    """Episodic turns and summaries carry the day they happened; thoughts and facts are
    timeless statements."""
    if mem.kind in ("episodic", "summary") and (mem.occurred_at or mem.created_at):
        return f"[{day_of(mem.occurred_at or mem.created_at)}] {mem.text}"
    return mem.text


def memory_cost(mem: Memory, count_tokens: TokenCounter = approx_tokens) -> int:
    return count_tokens(render_memory(mem))
