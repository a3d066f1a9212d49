"""`engram bench retrieval --longmemeval FILE`: retrieval on LongMemEval (Wu et al., ICLR 2025).

The metric of the development split's README, which needs no LLM: for each question a fresh
data folder; each haystack session is stored as its own conversation (its date as message
times, 30 s apart) through the normal path (`remember_messages`, then the index sync); the
question is asked through the chat's `Retriever` with the question date as "now". Measured:

- turn recall: the share of the question's `has_answer` turns covered by the turns behind the
  retrieved memories, at k = 5, 10, 50 and within 1,000 / 2,000 / 4,000 prompt tokens (a memory
  costs the tokens of its prompt text, as in the LoCoMo table); `all@10`: all of them in the top
  10;
- session recall: any / all of `answer_session_ids` among the sessions of the top k;
- per question type, and p50/p95 retrieval latency.

Two baselines run in the same data folders: BM25 (SQLite FTS5) over single turns and dense
(cosine to the query vector, exact) over single turns, ranked and budgeted the same way.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.base.errors import EngramError

if TYPE_CHECKING:
    from core.services.engine import Engram

KS = (5, 10, 50)
BUDGETS = (1000, 2000, 4000)
RETRIEVERS = ("engram", "bm25_turns", "dense_turns")
# Engram without one of its parts: (name, passages written, RetrievalParams changes)
ABLATIONS: tuple[tuple[str, bool, dict[str, Any]], ...] = (
    ("engram_whole_messages", False, {}),
    ("engram_no_time", True, {"time_range_weight": 0.0, "time_explicit_weight": 0.0,
                              "time_order_weight": 0.0}),
    ("engram_no_updates", True, {"update_similarity": 0.0}),
    ("engram_windows_from_turns", True, {"lexical_windows_from_turns": True}),
    ("engram_long_neighbours", True, {"long_neighbours": True}),
    ("engram_passages_choose_only", True, {"passage_signals": False}),
    ("engram_floor_0.25", True, {"relevance_floor": 0.25}),
    ("engram_floor_0.30", True, {"relevance_floor": 0.30}),
    ("engram_no_floor", True, {"relevance_floor": 0.0}),
)


def load(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise EngramError(f"Cannot read LongMemEval file {path}: {exc}") from exc
    if not isinstance(data, list) or not all(
            isinstance(q, dict) and "haystack_sessions" in q for q in data):
        raise EngramError(f"{path} is not a LongMemEval file (a list of questions with "
                          "'haystack_sessions')")
    return data


def parse_date(text: str) -> float:
    """'2023/05/30 (Tue) 23:42' -> Unix seconds (UTC)."""
    text = str(text).strip()
    for fmt in ("%Y/%m/%d (%a) %H:%M", "%Y/%m/%d %H:%M", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise EngramError(f"Unreadable LongMemEval date: {text!r}")


def ingest(eng: Engram, question: dict[str, Any], sync: Callable[[], Any], *,
           passages: bool = True) -> set[str]:
    """The haystack, one conversation per session. Returns the source ids of the evidence
    turns ("<session id>:<turn index>")."""
    from core.memory.episodic import remember_messages

    evidence: set[str] = set()
    for sid, date, turns in zip(question["haystack_session_ids"], question["haystack_dates"],
                                question["haystack_sessions"]):
        start = parse_date(date)
        conv = eng.conversations.create(f"session {sid}", created_at=start)
        parent = None
        messages = []
        for i, turn in enumerate(turns):
            role = turn.get("role") if turn.get("role") in ("user", "assistant") else "user"
            msg = eng.conversations.add_message(conv.id, role, str(turn.get("content", "")),
                                                created_at=start + 30 * i, parent_id=parent,
                                                source_id=f"{sid}:{i}")
            parent = msg.id
            messages.append(msg)
            if turn.get("has_answer"):
                evidence.add(f"{sid}:{i}")
        remember_messages(eng.memories, messages, actor="import", passages=passages)
    sync()
    return evidence


class _Sources:
    """Memory id -> the (session, turn) source ids behind it."""

    def __init__(self, eng: Engram) -> None:
        self.of: dict[str, set[str]] = {}
        for mid, ref in eng.memories.message_source_ids():
            if ref is not None:
                self.of.setdefault(mid, set()).add(ref)

    def turns(self, memory_ids: list[str]) -> set[str]:
        out: set[str] = set()
        for mid in memory_ids:
            out |= self.of.get(mid, set())
        return out


def _baselines(eng: Engram, embedder, question: str) -> dict[str, list]:
    """BM25 and dense over single turns, as Candidates ranked best first."""
    from core.base.llm import approx_tokens
    from core.memory.render import render_memory
    from core.memory.retrieval import Candidate, lexical_query

    turn_ids = eng.memories.ids_of("episodic", "turn")
    match = lexical_query(question)
    # turns are global episodic memories: BM25 over them, as the baseline has it
    bm25 = [mid for mid, _ in eng.memories.bm25(match, ("episodic",), None, 200,
                                                granularity="turn")] if match else []
    vectors = eng.index.get_embeddings(turn_ids)
    ids = [t for t in turn_ids if t in vectors]
    scores = (np.stack([vectors[t] for t in ids]) @ embedder.encode_one(question)
              if ids else np.zeros(0))
    dense = [ids[i] for i in np.argsort(-scores)[:200]]
    rows = eng.memories.get_many(list(dict.fromkeys(bm25 + dense)))
    out: dict[str, list] = {}
    for name, ranked in (("bm25_turns", bm25), ("dense_turns", dense)):
        cands = []
        for mid in ranked:
            mem = rows[mid]
            text = render_memory(mem)
            cands.append(Candidate(mem, 0.0, name, {}, text=text, cost=approx_tokens(text)))
        out[name] = cands
    return out


def _score(ranked: list, gold: set[str], answer_sessions: set[str], sources: _Sources,
           session_of: Callable[[str], str]) -> dict[str, float]:
    from core.memory.retrieval import select_under_budget

    row: dict[str, float] = {}
    for k in KS:
        covered = sources.turns([c.memory.id for c in ranked[:k]])
        if gold:
            row[f"turn@{k}"] = len(gold & covered) / len(gold)
        sessions = {session_of(ref) for ref in covered}
        row[f"session_any@{k}"] = float(bool(answer_sessions & sessions))
        row[f"session_all@{k}"] = float(answer_sessions <= sessions)
        if k == 10 and gold:
            row["all@10"] = float(gold <= covered)
    for budget in BUDGETS:
        chosen, _ = select_under_budget(ranked, budget)
        if gold:
            row[f"turn_{budget}tok"] = len(gold & sources.turns([c.memory.id for c in chosen])) \
                / len(gold)
    return row


def load_vectors(path: Path | None) -> dict[str, np.ndarray]:
    """A vector cache kept between runs (content hash -> vector): a benchmark file, never a
    user's data. Missing or unreadable: an empty cache."""
    if path is None or not Path(path).exists():
        return {}
    try:
        with np.load(path) as data:
            return {str(h): v for h, v in zip(data["hashes"], data["vectors"])}
    except (OSError, ValueError, KeyError):
        return {}


def save_vectors(path: Path | None, cache: dict[str, np.ndarray]) -> None:
    if path is None or not cache:
        return
    hashes = list(cache)
    tmp = Path(f"{path}.tmp.npz")
    np.savez(tmp, hashes=np.array(hashes), vectors=np.stack([cache[h] for h in hashes]))
    tmp.replace(path)


def longmemeval(path: Path, embedder, *, progress: bool = True,
                window_vectors: str = "derive", limit: int = 0,
                every: int = 1, vector_cache: Path | None = None,
                compare: bool = False, partial: Path | None = None) -> dict[str, Any]:
    """`compare`: also Engram without each of its parts (ABLATIONS), in the same run."""
    from core.index.sync import IndexSync
    from core.memory.retrieval import RetrievalParams, Retriever, select_under_budget
    from core.services.engine import Engram

    questions = load(path)[:: max(1, every)][: limit or None]
    variants = [("engram", True, {}), *(ABLATIONS if compare else ())]
    names = [name for name, _, _ in variants] + list(RETRIEVERS[1:])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    latencies: list[float] = []
    # sessions recur across haystacks: embed each text once (and, with a cache file, once
    # across runs: the vectors depend only on the text and the model)
    cache: dict[str, np.ndarray] = load_vectors(vector_cache)
    ingest_s = 0.0
    for n, q in enumerate(questions, 1):
        answer_sessions = {str(s) for s in q.get("answer_session_ids", [])}
        now = parse_date(q["question_date"])
        for with_passages in dict.fromkeys(p for _, p, _ in variants):
            with tempfile.TemporaryDirectory(prefix="engram-bench-lme-") as tmp:
                eng = Engram.open(tmp)
                eng._embedder = embedder
                sync = IndexSync(eng.memories, eng.index, embedder,
                                 window_vectors=window_vectors, vector_cache=cache)
                t0 = time.perf_counter()
                gold = ingest(eng, q, sync.sync, passages=with_passages)
                if with_passages:
                    ingest_s += time.perf_counter() - t0
                sources = _Sources(eng)
                ranked: dict[str, list] = {}
                filled: dict[str, int] = {}
                for name, passages, overrides in variants:
                    if passages != with_passages:
                        continue
                    retriever = Retriever(eng.memories, eng.index, embedder,
                                          replace(RetrievalParams(), **overrides))
                    t1 = time.perf_counter()
                    result = retriever.retrieve(q["question"], budget_tokens=max(BUDGETS),
                                                now=now)
                    if name == "engram":
                        latencies.append(time.perf_counter() - t1)
                    ranked[name] = result.ranked
                    filled[name] = len(select_under_budget(result.ranked, 2000)[0])
                if with_passages:
                    ranked.update(_baselines(eng, embedder, q["question"]))
                for name, found in ranked.items():
                    scored = _score(found, gold, answer_sessions, sources,
                                    lambda ref: ref.rsplit(":", 1)[0])
                    if name in filled:       # how many memories 2,000 tokens held
                        scored["n2000"] = filled[name]
                    rows[name].append({"type": q.get("question_type", "?"), **scored})
                eng.close()
        if progress or n % 5 == 0:              # stderr: --json output stays clean
            print(f"[{n}/{len(questions)}] {q.get('question_id')}: "
                  f"{len(q['haystack_sessions'])} sessions, {len(gold)} evidence turns",
                  file=sys.stderr)
        if n % 2 == 0:
            save_vectors(vector_cache, cache)
        if partial is not None:        # the figures so far, in case the run is cut short
            Path(partial).write_text(json.dumps(
                {"questions": n, **{name: summarise(rows[name])["overall"] for name in names}},
                indent=1))
    save_vectors(vector_cache, cache)
    from app.benchmarks.retrieval import _pct

    lat = sorted(latencies)
    return {"questions": len(questions),
            "retrievers": names,
            **{name: summarise(rows[name]) for name in names},
            "latency_ms": {"p50": round(1000 * _pct(lat, 50), 1),
                           "p95": round(1000 * _pct(lat, 95), 1)},
            "ingest_seconds": round(ingest_s, 1)}


def metrics() -> list[str]:
    return ([f"turn@{k}" for k in KS] + [f"turn_{b}tok" for b in BUDGETS] + ["all@10"]
            + [f"session_{w}@{k}" for w in ("any", "all") for k in KS] + ["n2000"])


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def block(items: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"questions": len(items)}
        for m in metrics():
            values = [r[m] for r in items if m in r]
            out[m] = round(statistics.fmean(values), 3) if values else None
        return out

    types = sorted({r["type"] for r in rows})
    return {"overall": block(rows), "types": {t: block([r for r in rows if r["type"] == t])
                                              for t in types}}


def print_report(out: dict[str, Any]) -> None:
    cols = ["turn@5", "turn@10", "turn@50", "turn_1000tok", "turn_2000tok", "turn_4000tok",
            "all@10", "session_any@10", "session_all@10", "n2000"]
    heads = ["@5", "@10", "@50", "1000tok", "2000tok", "4000tok", "all@10", "s.any@10",
             "s.all@10", "n@2000"]
    print(f"LongMemEval turn recall ({out['questions']} questions)")
    width = max(13, *(len(n) for n in out.get("retrievers", RETRIEVERS)))
    print(f"{'retriever':<{width}} " + " ".join(f"{h:>8}" for h in heads))
    for name in out.get("retrievers", RETRIEVERS):
        b = out[name]["overall"]
        print(f"{name:<{width}} " + " ".join(f"{b[c]:>8.3f}" if b[c] is not None else f"{'-':>8}"
                                        for c in cols))
    print("by type, within 2,000 tokens: " + "; ".join(
        f"{t} {b['turn_2000tok']:.2f} (BM25 {out['bm25_turns']['types'][t]['turn_2000tok']:.2f})"
        for t, b in out["engram"]["types"].items() if b["turn_2000tok"] is not None))
    lat = out["latency_ms"]
    print(f"retrieval latency: p50 {lat['p50']} ms, p95 {lat['p95']} ms; "
          f"ingest {out['ingest_seconds']} s")
