"""Think-in-Memory (TiM): distilled memories (facts and thoughts), kept consistent, recalled by LSH.

Post-thinking (core.memory.facts) distils short self-contained statements from each exchange.
Each new one is then:
- inserted, linked to the message it came from;
- merged: an older active one of the same kind about the same subject and nearly the same
  meaning (cosine >= MERGE_SIMILARITY) becomes superseded, pointing to the new one (event
  "merged");
- a contradiction: older ones listed in `contradicts` become superseded by the new one (event
  "superseded"). Nothing is deleted; everything is in the audit log.

Recall is two-stage: random-hyperplane LSH (several tables of a few bits each) picks the
buckets a text falls in; cosine similarity ranks the memories found there. Bucket keys are
stored in the memory's meta (`lsh`), so recall is one SQL query plus a few embeddings.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from core.memory.home import MemoryHome
from core.store.memories import Memory, SourceRef

MERGE_SIMILARITY = 0.85
DISTILLED_KINDS = ("fact", "thought")


class HyperplaneLSH:
    """Random-hyperplane hashing: nearby unit vectors share a bucket in at least one table
    with high probability. Deterministic (fixed seed) so stored keys stay valid.

    Two vectors at angle t agree on one bit with probability 1 - t/pi. With 16 tables of 6
    bits, a pair at cosine 0.85 (a merge candidate) shares a bucket 99.7% of the time, at
    cosine 0.6 (related) 88%, and two unrelated texts (cosine ~0.15) about 35%."""

    def __init__(self, dim: int, *, tables: int = 16, bits: int = 6, seed: int = 20240601) -> None:
        rng = np.random.default_rng(seed)
        self.planes = rng.standard_normal((tables, bits, dim)).astype(np.float32)
        self.powers = (1 << np.arange(bits)).astype(np.int64)

    def keys(self, vector: np.ndarray) -> list[str]:
        signs = (np.einsum("tbd,d->tb", self.planes, np.asarray(vector, np.float32)) > 0)
        codes = signs.astype(np.int64) @ self.powers
        return [f"{t}:{int(c)}" for t, c in enumerate(codes)]


@dataclass
class ThoughtOp:
    op: str                  # insert / merge / contradict
    thought_id: str
    replaced: list[str]


def _lsh(eng: MemoryHome) -> HyperplaneLSH:
    return _lsh_of(eng.embedder.dimension)


@cache
def _lsh_of(dimension: int) -> HyperplaneLSH:
    """One set of hyperplanes per vector size (fixed seed: the stored keys stay valid)."""
    return HyperplaneLSH(dimension)


def recall_thoughts(eng: MemoryHome, text: str, *, k: int = 8, min_similarity: float = 0.3,
                    kinds: tuple[str, ...] = DISTILLED_KINDS) -> list[tuple[Memory, float]]:
    """Stage 1: facts and thoughts sharing an LSH bucket with `text`; stage 2: rank by cosine."""
    vector = eng.embedder.encode_one(text)
    return _recall_vector(eng, vector, k=k, min_similarity=min_similarity, kinds=kinds)


def _recall_vector(eng: MemoryHome, vector: np.ndarray, *, k: int, min_similarity: float,
                   kinds: tuple[str, ...] = DISTILLED_KINDS) -> list[tuple[Memory, float]]:
    ids = eng.memories.with_lsh_keys(kinds, _lsh(eng).keys(vector))
    if not ids:
        return []
    mems = list(eng.memories.get_many(ids).values())
    sims = eng.embedder.encode([m.text for m in mems]) @ vector
    ranked = sorted(zip(mems, (float(s) for s in sims)), key=lambda p: -p[1])
    return [(m, s) for m, s in ranked if s >= min_similarity][:k]


def _specifics(text: str) -> set[str]:
    """The names and numbers a statement rests on."""
    from core.memory.gates import names_in, numbers_in, words

    ws = words(text)
    first = {ws[0].lower().removesuffix("'s")} if ws and ws[0][:1].isupper() else set()
    return ({n.lower().removesuffix("'s") for n in names_in(text)} | first
            | set(numbers_in(text)))


def add_thought(eng: MemoryHome, text: str, *, subject: str, sources: list[SourceRef],
                conversation_id: str | None = None, contradicts: list[str] = (),
                actor: str = "assistant") -> ThoughtOp:
    return add_distilled(eng, "thought", text, subject=subject, sources=sources,
                         conversation_id=conversation_id, contradicts=contradicts, actor=actor,
                         note="Think-in-Memory post-thinking")


def add_distilled(eng: MemoryHome, kind: str, text: str, *, subject: str, sources: list[SourceRef],
                  conversation_id: str | None = None, contradicts: list[str] = (),
                  actor: str = "assistant", occurred_at: float | None = None,
                  meta: dict[str, Any] | None = None, note: str = "") -> ThoughtOp:
    """Insert a fact or thought, merging near-duplicates of the same kind about the same
    subject and superseding the ones it contradicts."""
    vector = eng.embedder.encode_one(text)
    near = _recall_vector(eng, vector, k=20, min_similarity=MERGE_SIMILARITY, kinds=(kind,))
    new = eng.memories.create(
        kind, text, actor=actor, scope="global", conversation_id=conversation_id,
        subject=subject or None, sources=sources, occurred_at=occurred_at,
        meta={**(meta or {}), "lsh": _lsh(eng).keys(vector)}, note=note or None)
    replaced: list[str] = []
    op = "insert"
    keys = _specifics(text)
    for mem, sim in near:
        # a near-duplicate is merged only when the new one keeps its names and numbers
        # ("city number 10" and "city number 12" are two facts, not one)
        if ((mem.subject or "") == (subject or "") and mem.id not in contradicts
                and _specifics(mem.text) <= keys):
            eng.memories.supersede(mem.id, new.id, actor=actor, event="merged",
                                   note=f"merged into a newer one (similarity {sim:.2f})")
            replaced.append(mem.id)
            op = "merge"
    for old_id in contradicts:
        if old_id in replaced or old_id == new.id:
            continue
        if eng.memories.get(old_id).status == "active":
            eng.memories.supersede(old_id, new.id, actor=actor, event="superseded",
                                   note="contradicted by a newer one")
            replaced.append(old_id)
            op = "contradict"
    return ThoughtOp(op, new.id, replaced)
