"""Which cached tokens to keep when the context overflows (pure bookkeeping, no llama.cpp).

- StreamingLLM (Xiao et al. 2023): the first `sink` tokens (attention sinks) and the most recent
  window.
- SirLLM (Yao et al. 2024): the sinks, a recent window, and the tokens with the highest
  surprisal (-log p of the token given its prefix, from the model's own logits). Retained scores
  are multiplied by a decay factor at each eviction, so old surprises fade.

The cache keeps tokens in their original order; `removal_runs` turns a keep-set into the
contiguous position ranges that llama.cpp removes (highest first, so that removing one range
and shifting what follows never moves a range still to be removed).
"""
from __future__ import annotations

import numpy as np


def choose_kept(n: int, target: int, *, policy: str, sink: int, scores: np.ndarray | None = None,
                recent_fraction: float = 0.25) -> np.ndarray:
    """Sorted cache indices (0..n-1) to keep, `target` of them (all of them if n <= target)."""
    if n <= target:
        return np.arange(n)
    target = max(1, target)
    sink = min(sink, target)
    if policy == "streaming" or scores is None:
        recent = target - sink
        return np.concatenate([np.arange(sink), np.arange(n - recent, n)]).astype(np.int64)
    if policy != "sirllm":
        raise ValueError(f"unknown policy {policy}")
    recent = min(target - sink, max(1, round(target * recent_fraction)))
    middle_budget = target - sink - recent
    middle = np.arange(sink, n - recent)
    if middle_budget > 0 and len(middle):
        mid_scores = np.asarray(scores, dtype=np.float64)[middle]
        # stable: among equal scores keep the later (more recent) token
        order = np.lexsort((-middle, -mid_scores))
        chosen = np.sort(middle[order[:middle_budget]])
    else:
        chosen = np.arange(0)
    return np.concatenate([np.arange(sink), chosen, np.arange(n - recent, n)]).astype(np.int64)


def removal_runs(kept: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Contiguous [p0, p1) ranges of cache positions not in `kept`, highest first."""
    keep = np.zeros(n, dtype=bool)
    keep[kept] = True
    runs: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if keep[i]:
            i += 1
            continue
        j = i
        while j < n and not keep[j]:
            j += 1
        runs.append((i, j))
        i = j
    return runs[::-1]


def surprisal_rows(logits: np.ndarray, next_tokens: np.ndarray) -> np.ndarray:
    """-log softmax(logits[i])[next_tokens[i]] for each row i, in nats."""
    logits = logits.astype(np.float64, copy=False)
    m = logits.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(logits - m).sum(axis=1)))
    return lse - logits[np.arange(len(next_tokens)), next_tokens]
