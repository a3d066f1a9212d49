"""`engram bench import --memory-cost`: both ways measured on the same messages."""
from __future__ import annotations

from app.benchmarks.memory_cost import memory_cost


def test_memory_cost_measures_both_ways_on_the_same_messages() -> None:
    out = memory_cost(conversations=4, rounds=1)
    whole, with_passages = out["whole messages"], out["with passages"]
    assert out["messages"] > 0 and whole["memories"] > 0
    # the generated mix has long messages, so passages add memories, and only those
    assert with_passages["memories"] > whole["memories"]
    assert out["passages_memory_ratio"] == round(with_passages["memories"] / whole["memories"], 3)
    assert whole["median_seconds"] > 0 and with_passages["messages_per_s"] > 0
