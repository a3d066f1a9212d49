"""Looking for an embedding's bytes in files: the second probe of a purge (the first looks
for the text).

A stored vector is rarely byte-identical to a fresh embedding of the same text (batching
changes the last bits; Chroma normalises vectors for cosine space), so the probe does not
search for exact bytes. It reads every file as an array of numbers at each byte alignment, in
each form an embedding is written in (float32, the form Chroma keeps in its write-ahead queue
and HNSW files; float64 and float16 as well), and reports each window of `dim` consecutive
numbers whose cosine similarity with the vector is at least `min_cosine`. Candidates are found
by the first two components, then checked whole.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMS: tuple[tuple[str, str], ...] = (("float32", "<f4"), ("float64", "<f8"), ("float16", "<f2"))


@dataclass(frozen=True)
class VectorHit:
    path: Path
    offset: int
    form: str
    cosine: float


def find_vectors(files: Iterable[Path], vectors: Sequence[np.ndarray], *,
                 min_cosine: float = 0.995) -> dict[int, list[VectorHit]]:
    """For each vector (by position in `vectors`), where in `files` a copy of it is stored."""
    needles = [_unit(v) for v in vectors]
    hits: dict[int, list[VectorHit]] = {i: [] for i in range(len(needles))}
    if not needles:
        return hits
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for form, dtype in FORMS:
            width = np.dtype(dtype).itemsize
            tol = 2e-3 if form == "float16" else 1e-3
            for align in range(width):
                count = (len(data) - align) // width
                for i, needle in enumerate(needles):
                    if count < len(needle):
                        continue
                    arr = np.frombuffer(data, dtype=dtype, count=count, offset=align)
                    for pos, cos in _matches(arr, needle, tol, min_cosine):
                        hits[i].append(VectorHit(path, align + pos * width, form, cos))
    return hits


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(v))
    if norm == 0:
        raise ValueError("a zero vector cannot be probed for")
    return v / norm


def _matches(arr: np.ndarray, needle: np.ndarray, tol: float,
             min_cosine: float) -> list[tuple[int, float]]:
    dim = len(needle)
    span = len(arr) - dim + 1
    with np.errstate(invalid="ignore", over="ignore"):
        mask = np.abs(arr[:span] - arr.dtype.type(needle[0])) < tol
        if not mask.any():
            return []
        mask &= np.abs(arr[1 : span + 1] - arr.dtype.type(needle[1])) < tol
    out = []
    for pos in np.flatnonzero(mask):
        with np.errstate(invalid="ignore", over="ignore"):
            window = arr[pos : pos + dim].astype(np.float64)
        if not np.isfinite(window).all():
            continue
        norm = float(np.linalg.norm(window))
        if norm and (cos := float(window @ needle) / norm) >= min_cosine:
            out.append((int(pos), cos))
    return out
