"""The relevance floor: what retrieval leaves out because it is not about the question.

Fusion ranks by places (reciprocal ranks), so it always has a best hundred, however far from
the question they are: an imported "What is an ecosystem" came into the prompt for "What is my
dog called?". The floor looks at meaning in absolute terms: a candidate's closest cosine to the
question (its own vector, its window's, its facts'; MiniLM puts unrelated sentences at 0-0.25
and a statement that answers a question at 0.3 and above). Figures on both dev splits are in
the README (Retrieval benchmark)."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from core.base.errors import EngramError
from core.memory.candidates import Candidate

log = logging.getLogger(__name__)


def above_floor(scored: list[Candidate], query_vector: np.ndarray | None, floor: float,
                index: Any) -> list[Candidate]:
    """The candidates whose closest meaning is at least `floor`. One found by words alone
    gets its cosine from its stored vector (`index.get_embeddings`). Candidates inside the
    question's time ("last May") and "always include" ones stay whatever their cosine. With
    no query vector (search by meaning failed) nothing is left out."""
    if floor <= 0 or query_vector is None:
        return scored
    best = {c.memory.id: max((v for k, v in c.detail.get("raw", {}).items()
                              if k.startswith("dense")), default=None) for c in scored}
    unknown = [mid for mid, v in best.items() if v is None]
    unread: set[str] = set()
    if unknown:
        q = np.asarray(query_vector, np.float32)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        try:
            stored = index.get_embeddings(unknown)
        except EngramError as exc:      # the index failed after its query: judge none of them
            log.warning("the relevance floor could not read vectors: %s", exc)
            stored, unread = {}, set(unknown)
        for mid, vec in stored.items():
            best[mid] = float(vec @ q) / max(float(np.linalg.norm(vec)), 1e-12)
    kept = []
    for c in scored:
        cosine = best.get(c.memory.id)
        c.detail["cosine"] = None if cosine is None else round(cosine, 4)
        if (cosine is not None and cosine >= floor) or "time" in c.detail \
                or c.memory.always_include or c.memory.id in unread:
            kept.append(c)
    return kept
