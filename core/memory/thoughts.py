"""Think-in-Memory (TiM): thoughts written after each answer, kept consistent, recalled by LSH.

Post-thinking asks the model, under a JSON schema, for short self-contained thoughts about the
latest exchange, shown the related thoughts already kept (numbered). Each new thought is then:
- inserted, linked to the messages it came from;
- merged: an older active thought about the same subject and nearly the same meaning
  (cosine >= MERGE_SIMILARITY) becomes superseded, pointing to the new one (event "merged");
- a contradiction: older thoughts the model lists in "contradicts" become superseded by the
  new one (event "superseded"). Nothing is deleted; everything is in the audit log.

Recall is two-stage: random-hyperplane LSH (several tables of a few bits each) picks the
buckets a text falls in; cosine similarity ranks the thoughts found there. Bucket keys are
stored in the thought's meta (`lsh`), so recall is one SQL query plus a few embeddings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.llm import LLM
from core.memory.episodic import speaker_of
from core.memory.generation import ask_json, truncate_words
from core.memory_store import Memory, SourceRef
from core.prompts import prompt

MERGE_SIMILARITY = 0.85
MAX_THOUGHTS = 3
# Bounded lengths keep a grammar-constrained answer within its token budget (a base model
# will otherwise happily write one endless string).
THOUGHT_SCHEMA = {
    "type": "object",
    "properties": {
        "thoughts": {
            "type": "array",
            "maxItems": MAX_THOUGHTS,
            "items": {
                "type": "object",
                "properties": {
                    "subject": {"type": "string", "maxLength": 40},
                    "text": {"type": "string", "maxLength": 200},
                    "contradicts": {"type": "array", "maxItems": 3,
                                    "items": {"type": "integer"}},
                },
                "required": ["subject", "text", "contradicts"],
            },
        },
    },
    "required": ["thoughts"],
}


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


def _lsh(eng) -> HyperplaneLSH:
    cached = getattr(eng, "_tim_lsh", None)
    if cached is None:
        cached = HyperplaneLSH(eng.embedder.dimension)
        eng._tim_lsh = cached
    return cached


def recall_thoughts(eng, text: str, *, k: int = 8, min_similarity: float = 0.3
                    ) -> list[tuple[Memory, float]]:
    """Stage 1: thoughts sharing an LSH bucket with `text`; stage 2: rank by cosine."""
    vector = eng.embedder.encode_one(text)
    return _recall_vector(eng, vector, k=k, min_similarity=min_similarity)


def _recall_vector(eng, vector: np.ndarray, *, k: int, min_similarity: float
                   ) -> list[tuple[Memory, float]]:
    keys = _lsh(eng).keys(vector)
    marks = ",".join("?" * len(keys))
    ids = [r[0] for r in eng.db.execute(
        f"SELECT DISTINCT m.id FROM memories m, json_each(m.meta, '$.lsh') j"
        f" WHERE m.kind = 'thought' AND m.status = 'active' AND j.value IN ({marks})", keys)]
    if not ids:
        return []
    mems = list(eng.memories.get_many(ids).values())
    sims = eng.embedder.encode([m.text for m in mems]) @ vector
    ranked = sorted(zip(mems, (float(s) for s in sims)), key=lambda p: -p[1])
    return [(m, s) for m, s in ranked if s >= min_similarity][:k]


def post_think(eng, llm: LLM, conversation_id: str, message_id: str) -> list[ThoughtOp]:
    """After an answer: ask for thoughts about the exchange and store them."""
    conv = eng.conversations.get(conversation_id)
    if conv.incognito:
        return []
    reply = eng.conversations.get_message(message_id)
    msgs = [reply]
    if reply.parent_id:
        msgs.insert(0, eng.conversations.get_message(reply.parent_id))
    msgs = [m for m in msgs if m.text.strip()]
    if not msgs:
        return []
    exchange = "\n".join(f"{speaker_of(m)}: {truncate_words(m.text, 300)}" for m in msgs)
    # related: LSH recall over the exchange, plus the newest thoughts of this conversation
    # (what was just discussed is what a new statement most often updates)
    related = [m for m, _ in recall_thoughts(eng, exchange, k=8, min_similarity=0.2)]
    recent = eng.memories.list(kinds=["thought"], conversation_id=conversation_id,
                               order="created_at DESC", limit=3)
    related += [m for m in recent if m.id not in {r.id for r in related}]
    existing = "\n".join(f"{i}. {m.text}" for i, m in enumerate(related, 1)) or "(none)"
    answer = ask_json(llm, prompt("post_think", existing=existing, exchange=exchange),
                      THOUGHT_SCHEMA, max_tokens=700)
    items = answer.get("thoughts") if isinstance(answer, dict) else None
    ops: list[ThoughtOp] = []
    sources = [SourceRef(message_id=m.id, conversation_id=conversation_id) for m in msgs]
    for item in (items or [])[:MAX_THOUGHTS]:
        if not isinstance(item, dict):
            continue
        text = " ".join(str(item.get("text", "")).split())[:400]
        subject = " ".join(str(item.get("subject", "")).split()).lower()[:80]
        if len(text) < 3:
            continue
        contradicted = [related[n - 1].id for n in item.get("contradicts") or []
                        if isinstance(n, int) and 1 <= n <= len(related)]
        ops.append(add_thought(eng, text, subject=subject, sources=sources,
                               conversation_id=conversation_id, contradicts=contradicted))
    return ops


def add_thought(eng, text: str, *, subject: str, sources: list[SourceRef],
                conversation_id: str | None = None, contradicts: list[str] = (),
                actor: str = "assistant") -> ThoughtOp:
    """Insert a thought, merging near-duplicates about the same subject and superseding the
    thoughts it contradicts."""
    vector = eng.embedder.encode_one(text)
    near = _recall_vector(eng, vector, k=20, min_similarity=MERGE_SIMILARITY)
    new = eng.memories.create(
        "thought", text, actor=actor, scope="global", conversation_id=conversation_id,
        subject=subject or None, sources=sources, meta={"lsh": _lsh(eng).keys(vector)},
        note="Think-in-Memory post-thinking")
    replaced: list[str] = []
    op = "insert"
    for mem, sim in near:
        if (mem.subject or "") == (subject or "") and mem.id not in contradicts:
            eng.memories.supersede(mem.id, new.id, actor=actor, event="merged",
                                   note=f"merged into a newer thought (similarity {sim:.2f})")
            replaced.append(mem.id)
            op = "merge"
    for old_id in contradicts:
        if old_id in replaced or old_id == new.id:
            continue
        if eng.memories.get(old_id).status == "active":
            eng.memories.supersede(old_id, new.id, actor=actor, event="superseded",
                                   note="contradicted by a newer thought")
            replaced.append(old_id)
            op = "contradict"
    return ThoughtOp(op, new.id, replaced)
