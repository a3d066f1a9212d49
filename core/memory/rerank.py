"""Two re-rankings after fusion: time in the question, and newer statements over older ones.

- **Time** (core.memory.when): a candidate from inside the question's time range gets its
  score raised (more for a named date than for "recently"); an ordering ("when did I first",
  "what do I do now") raises the older or the newer end of the best candidates. A boost, never
  a filter: the day a thing was said is not always the day it happened.
- **Updates win**: when two of the best candidates say nearly the same thing (their vectors
  are close) at different times, by the same side of the conversation, they are two values of
  one thing (a new address, a changed plan): the newer ranks just above the older, and the
  older is marked `superseded_by` the newer in the trace. Nothing is hidden: the older value
  is often needed too ("how much weight have I lost since ...").
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.memory.candidates import Candidate
from core.memory.when import TimeHint

DAY = 86400.0


def _when(c: Candidate) -> float:
    return c.memory.occurred_at or c.memory.created_at


def time_boost(scored: list[Candidate], hint: TimeHint | None, *, range_weight: float,
               explicit_weight: float, order_weight: float, order_top: int) -> None:
    """Scale the scores of `scored` (best first) in place for the question's time hint."""
    if hint is None:
        return
    if hint.start is not None:
        weight = explicit_weight if hint.explicit else range_weight
        for c in scored:
            if hint.contains(_when(c)):
                c.score *= 1 + weight
                c.detail["time"] = hint.phrase
    if hint.order and scored:
        top = sorted(scored, key=lambda c: -c.score)[:order_top]
        times = [_when(c) for c in top]
        lo, hi = min(times), max(times)
        if hi - lo < DAY:
            return
        for c in top:
            place = (_when(c) - lo) / (hi - lo)          # 0 the oldest, 1 the newest
            share = place if hint.order == "newer" else 1 - place
            c.score *= 1 + order_weight * share
            c.detail["order"] = f"{hint.order} ({hint.phrase})"


def _side(c: Candidate) -> str:
    return str(c.memory.meta.get("role") or c.memory.kind)


def updates_win(ranked: list[Candidate], vectors: Mapping[str, np.ndarray], *,
                similarity: float, min_days: float = 1.0) -> list[Candidate]:
    """`ranked` (best first) with each newer near-duplicate statement moved just above the
    older one it updates; the older gets `detail["superseded_by"]`."""
    ids = [c.memory.id for c in ranked if c.memory.id in vectors]
    if len(ids) < 2:
        return ranked
    unit = np.stack([vectors[i] for i in ids]).astype(np.float32)
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit.T
    at = {mid: n for n, mid in enumerate(ids)}
    by_id = {c.memory.id: c for c in ranked}
    order = list(ranked)
    for a in range(len(ids)):
        older = by_id[ids[a]]
        for b in range(len(ids)):
            newer = by_id[ids[b]]
            if (b == a or sims[at[older.memory.id], at[newer.memory.id]] < similarity
                    or _when(newer) - _when(older) < min_days * DAY
                    or _side(newer) != _side(older)):
                continue
            older.detail.setdefault("superseded_by", newer.memory.id)
            i, j = order.index(older), order.index(newer)
            if j > i:                                     # the newer goes just above
                order.pop(j)
                order.insert(i, newer)
                newer.score = max(newer.score, older.score)
    return order
