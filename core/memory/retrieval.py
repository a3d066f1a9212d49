"""Hybrid retrieval: what memory to put before the user's next message.

Steps, each visible in the trace stored with the answer:
1. candidates from dense search (Chroma, cosine) and lexical search (SQLite FTS5, BM25), run
   side by side and limited to what the conversation may see (active; global or this
   conversation's scope);
2. episodic *windows* vote for their anchor turn (see core.memory.episodic), and *facts* for
   the turn they were distilled from (core.memory.facts), so each turn has up to six signals:
   dense/lexical on itself, on the exchange around it, and on a fact taken from it;
3. weighted reciprocal-rank fusion of the signals, then a multiplier for MemoryBank retention
   R = exp(-t/S) and for HEMA age (older things count a little less);
4. the neighbour turns of the best few hits follow them (answers often span two turns);
5. "always include" memories come first; duplicates (same id, same text) are dropped;
6. selection in rank order under a token budget (a memory that does not fit is skipped and
   smaller ones after it may still go in).

Parameters were tuned on the LoCoMo dev split (`engram bench retrieval`).
"""
from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from core.base import clock
from core.base.errors import EngramError
from core.base.llm import approx_tokens
from core.index.embedder import Embedder
from core.index.vector_index import VectorIndex
from core.memory import steering
from core.memory.candidates import Candidate, dedupe
from core.memory.passage_ranking import into_passages, is_long_turn, neighbour_passages
from core.memory.relevance import above_floor
from core.memory.render import TokenCounter, render_memory
from core.memory.rerank import time_boost, updates_win
from core.memory.when import time_hint
from core.memory.window_signal import windows_from_turns
from core.store.memories import Memory, MemoryStore

log = logging.getLogger(__name__)

RETRIEVABLE_KINDS = ("episodic", "thought", "fact", "summary", "compact")
SIGNALS = ("dense", "lexical", "dense_window", "lexical_window", "dense_fact", "lexical_fact")
DAY = 86400.0

_STOPWORDS = frozenset(["a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "and", "or", "but", "not", "no", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "doing", "have", "has", "had", "having", "it", "its", "this", "that", "these", "those", "there", "here", "what", "when", "where", "who", "whom", "whose", "which", "why", "how", "i", "me", "my", "mine", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "we", "us", "our", "they", "them", "their", "theirs", "as", "if", "so", "than", "then", "too", "very", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "just", "also", "about", "into", "over", "under", "again", "any", "all", "each", "some", "such", "only", "own", "same", "s", "t", "don", "now"])


@dataclass
class RetrievalParams:
    dense_k: int = 100
    lexical_k: int = 100
    # Above this many matching memories, ranking every match by BM25 costs too much (about
    # 1 µs each); see Retriever._lexical.
    lexical_match_cap: int = 20_000
    rrf_k: float = 20.0
    weight_dense: float = 1.0
    weight_lexical: float = 1.0
    weight_dense_window: float = 1.0
    weight_lexical_window: float = 1.0
    weight_dense_fact: float = 1.0      # a fact votes for the turn it was distilled from
    weight_lexical_fact: float = 1.0
    # a passage's hit also counts as a hit on its message (else passages only choose which
    # part of a long message is shown, and the message ranks as a whole)
    passage_signals: bool = True
    # a long message next to a hit follows it as one of its passages; off: it comes in on
    # its own merit only (the turns around a hit are short remarks in LoCoMo, long replies in
    # LongMemEval, where following them cost 0.05-0.15 of recall on the dev split)
    long_neighbours: bool = False
    # windows' lexical signal from their turns' BM25 (no full-text rows of their own)
    lexical_windows_from_turns: bool = False
    facts_with_turns: bool = False    # keep a fact and its own turn both (see candidates.dedupe)
    expand_top: int = 5               # neighbours are added for this many best turns
    retention_weight: float = 0.2     # share of the score that MemoryBank retention scales
    age_weight: float = 0.1           # share that HEMA age scales
    age_scale_days: float = 365.0
    # time in the question (core.memory.when, core.memory.rerank)
    time_range_weight: float = 0.5    # inside "two weeks ago", "recently"
    time_explicit_weight: float = 1.0  # inside "in May", "on 3 May", "last Saturday"
    time_order_weight: float = 0.3     # "when did I first", "now": the older / newer end
    time_order_top: int = 30
    # updates win: the best this many, and how close two statements must be to be one thing
    update_top: int = 20
    update_similarity: float = 0.8    # cosine; 0 disables
    # a candidate whose closest meaning is below this cosine is not about the question (an
    # imported "What is an ecosystem" for "What is my dog called?"); 0 disables. 0.20 costs
    # nothing measurable on both dev splits, 0.25 about 0.01-0.02 of recall (README)
    relevance_floor: float = 0.20


@dataclass
class _DenseSide:
    hits: list[tuple[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    error: str = ""
    query_vector: np.ndarray | None = None


@dataclass
class RetrievalResult:
    ranked: list[Candidate]             # every candidate, best first
    selected: list[Candidate]           # what fits the budget, in rank order
    seconds: float = 0.0
    budget_tokens: int = 0
    used_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    # why search by meaning took no part ("" when it did): a damaged or unreachable index
    # leaves word search to answer alone rather than failing the turn
    dense_error: str = ""


def content_words(text: str) -> list[str]:
    """The words of `text` worth searching for: no stopwords, no repeats, at most 32."""
    words = [w for w in re.findall(r"\w+", text.lower()) if w not in _STOPWORDS]
    return list(dict.fromkeys(words))[:32]


def lexical_query(text: str) -> str:
    """Free text to an FTS5 query: content words, any of them (BM25 ranks the rest)."""
    return _fts_any(content_words(text))


def _fts_any(words: list[str]) -> str:
    return " OR ".join(f'"{w}"' for w in words)


def _fts_all(words: list[str]) -> str:
    return " AND ".join(f'"{w}"' for w in words)


def retention(mem: Memory, now: float) -> float:
    """MemoryBank: R = exp(-t / S), t in days since the last recall (or creation)."""
    if mem.pinned:
        return 1.0
    since = mem.last_recalled_at if mem.last_recalled_at is not None else mem.created_at
    t = max(0.0, (now - since) / DAY)
    return math.exp(-t / max(mem.strength, 1e-6))


_dense_pool: ThreadPoolExecutor | None = None
_dense_pool_lock = threading.Lock()


def _background() -> ThreadPoolExecutor:
    """One shared thread for the dense side: embedding the query (torch) and Chroma's query
    release the GIL while SQLite's BM25 runs, so the two overlap on a multi-core machine."""
    global _dense_pool
    with _dense_pool_lock:
        if _dense_pool is None:
            _dense_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engram-dense")
        return _dense_pool


class Retriever:
    def __init__(self, store: MemoryStore, index: VectorIndex, embedder: Embedder,
                 params: RetrievalParams | None = None) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.params = params or RetrievalParams()
        self._index_has_data = False

    def retrieve(self, query: str, *, conversation_id: str | None = None,
                 budget_tokens: int = 1000, exclude_message_ids: Iterable[str] = (),
                 exclude_memory_ids: Iterable[str] = (), count_tokens: TokenCounter = approx_tokens,
                 now: float | None = None, include_pinned: bool = True,
                 keep: Callable[[Memory], bool] | None = None) -> RetrievalResult:
        """`keep`, when given, says which candidates may be used at all (e.g. no assistant
        turns for a base model); "always include" memories are always used."""
        start = time.perf_counter()
        now = clock.now() if now is None else now
        p = self.params
        timings: dict[str, float] = {}
        excluded_memories = set(exclude_memory_ids)
        excluded_messages = set(exclude_message_ids)

        dense_job = (_background().submit(self._timed_dense, query, conversation_id)
                     if query.strip() else None)
        t0 = time.perf_counter()
        lexical = self._lexical(query, conversation_id)
        timings["lexical"] = time.perf_counter() - t0
        side = dense_job.result() if dense_job else _DenseSide()
        dense, timings["dense"], vectors = side.hits, side.seconds, side.vectors

        t0 = time.perf_counter()
        rows = self.store.get_many(list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in lexical])))
        anchors = {mid: m.meta.get("anchor") for mid, m in rows.items()
                   if m.granularity == "window" and m.meta.get("anchor")}
        fact_turns = {mid: m.meta.get("turn") for mid, m in rows.items()
                      if m.kind == "fact" and m.meta.get("turn")}
        passage_turns = {mid: m.meta.get("turn") for mid, m in rows.items()
                         if m.granularity == "passage" and m.meta.get("turn")}
        missing = [a for a in [*anchors.values(), *fact_turns.values(), *passage_turns.values()]
                   if a not in rows]
        rows.update(self.store.get_many(missing))
        # a passage ranks as its message (one rank per message in each list, so the passages
        # of long answers do not crowd out short turns); its own places say which passage of
        # the message goes into the prompt
        passage_votes: dict[str, float] = {}
        signals: dict[str, list[str]] = {name: [] for name in SIGNALS}
        seen: dict[str, set[str]] = {name: set() for name in signals}
        raw: dict[str, dict[str, float]] = {}
        for name, hits in (("dense", dense), ("lexical", lexical)):
            for place, (mid, value) in enumerate(hits):
                if mid in anchors:      # a window stands for its anchor turn
                    targets = [(anchors[mid], f"{name}_window")]
                elif mid in passage_turns:
                    passage_votes[mid] = passage_votes.get(mid, 0.0) + 1 / (p.rrf_k + place + 1)
                    if not p.passage_signals:
                        continue        # they only choose what of their message is shown
                    targets = [(passage_turns[mid], name)]
                else:                   # a fact counts for itself and for its source turn
                    targets = [(mid, name)]
                    if mid in fact_turns:
                        targets.append((fact_turns[mid], f"{name}_fact"))
                for target, signal in targets:
                    if target not in rows or target in seen[signal]:
                        continue
                    seen[signal].add(target)
                    signals[signal].append(target)
                    raw.setdefault(target, {})[signal] = round(value, 4)
        if p.lexical_windows_from_turns:
            self._lexical_windows(lexical, rows, signals["lexical_window"], raw)
        weights = {"dense": p.weight_dense, "lexical": p.weight_lexical,
                   "dense_window": p.weight_dense_window, "lexical_window": p.weight_lexical_window,
                   "dense_fact": p.weight_dense_fact, "lexical_fact": p.weight_lexical_fact}
        fused: dict[str, float] = {}
        ranks: dict[str, dict[str, int]] = {}
        for name, ids in signals.items():
            for rank, mid in enumerate(ids):
                fused[mid] = fused.get(mid, 0.0) + weights[name] / (p.rrf_k + rank + 1)
                ranks.setdefault(mid, {})[name] = rank + 1

        scored: list[Candidate] = []
        for mid, base in fused.items():
            mem = rows[mid]
            if (not self.visible(mem, conversation_id) or mid in excluded_memories
                    or (keep is not None and not keep(mem))):
                continue
            r = retention(mem, now)
            age_days = max(0.0, (now - (mem.occurred_at or mem.created_at)) / DAY)
            age = math.exp(-age_days / p.age_scale_days)
            score = base * ((1 - p.retention_weight) + p.retention_weight * r) \
                * ((1 - p.age_weight) + p.age_weight * age)
            detail = {"rrf": round(base, 5), "ranks": ranks.get(mid, {}), "raw": raw.get(mid, {}),
                      "retention": round(r, 4), "age_days": round(age_days, 1)}
            scored.append(Candidate(mem, score, _reason(ranks.get(mid, {})), detail))
        scored = into_passages(self.store, scored, passage_votes, rows,
                               self._visible_to(conversation_id), excluded_memories)
        hint = time_hint(query, now)
        time_boost(scored, hint, range_weight=p.time_range_weight,
                   explicit_weight=p.time_explicit_weight, order_weight=p.time_order_weight,
                   order_top=p.time_order_top)
        # the person's feedback and project scopes (core.memory.steering)
        scored = _steer(self.store, scored, query, conversation_id)
        scored = above_floor(scored, side.query_vector, p.relevance_floor, self.index)
        scored.sort(key=lambda c: -c.score)
        if p.update_similarity > 0 and len(scored) > 1:
            top = scored[: p.update_top]
            scored = updates_win(top, vectors, similarity=p.update_similarity) \
                + scored[p.update_top:]
        timings["fuse"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        ranked = self._expand_neighbours(scored, conversation_id, excluded_memories)
        if p.long_neighbours:
            ranked = neighbour_passages(self.store, ranked, self._visible_to(conversation_id),
                                        excluded_memories, passage_votes)
        else:                   # a long message comes in on its own merit only
            ranked = [c for c in ranked
                      if not (c.reason == "neighbour" and is_long_turn(c.memory))]
        if keep is not None:
            ranked = [c for c in ranked if keep(c.memory)]
        if include_pinned:
            ranked = self._pinned(conversation_id, excluded_memories) + ranked
        ranked = dedupe(ranked, excluded_messages, p.facts_with_turns)
        for cand in ranked:
            cand.text = render_memory(cand.memory)
            cand.cost = approx_tokens(cand.text)
        if count_tokens is approx_tokens:
            selected, used = select_under_budget(ranked, budget_tokens)
        else:
            selected, used = _select_counting(ranked, budget_tokens, count_tokens)
        timings["select"] = time.perf_counter() - t0
        return RetrievalResult(ranked, selected, time.perf_counter() - start, budget_tokens,
                               used, timings, side.error)

    # -- candidate sources ----------------------------------------------------------------
    def _timed_dense(self, query: str, conversation_id: str | None) -> _DenseSide:
        """The dense hits, their time, (for "updates win") the vectors of the best of them,
        fetched here, on the dense thread, while the lexical side runs: the best candidates
        after fusion are nearly always among them, and a candidate without a vector is
        simply not compared; and the index's error, if it failed (no hits then)."""
        t0 = time.perf_counter()
        side = _DenseSide()
        try:
            side.hits, side.query_vector = self._dense(query, conversation_id)
            side.seconds = time.perf_counter() - t0
            top = [mid for mid, _ in side.hits[: 2 * self.params.update_top]]
            if top and self.params.update_similarity > 0:
                side.vectors = self.index.get_embeddings(top)
        except EngramError as exc:        # IndexDamaged, a dead index worker, a lost server
            log.warning("search by meaning failed, word search answers alone: %s", exc)
            return _DenseSide(seconds=time.perf_counter() - t0, error=str(exc))
        return side

    def _dense(self, query: str, conversation_id: str | None
               ) -> tuple[list[tuple[str, float]], np.ndarray | None]:
        """No `where` filter: Chroma's metadata filtering made each query 5x slower (31 vs
        6 ms at 2,000 memories), and SQLite re-checks status and scope anyway."""
        if not self._index_has_data:
            self._index_has_data = self.index.count() > 0
            if not self._index_has_data:
                return [], None
        vector = self.embedder.encode_one(query)
        return self.index.query(vector, self.params.dense_k), vector

    def _lexical(self, query: str, conversation_id: str | None) -> list[tuple[str, float]]:
        """BM25 over the memories' full-text index.

        Ranking every match is exact but costs about 1 µs per match, and common words can
        match most of a large store (counting matches is some 30 times cheaper). Past
        `lexical_match_cap` matches, look first among the memories holding all the query's
        words, then drop the most common word and repeat, then take the other words alone,
        rarest first, until enough are found: BM25 ranks memories with more of the query's
        words first, and rare words carry most of its weight.
        """
        words = content_words(query)
        if not words:
            return []
        k = self.params.lexical_k
        if self._matches(_fts_any(words)) <= self.params.lexical_match_cap:
            return self._bm25(_fts_any(words), conversation_id, k)
        docs = {w: self._matches(_fts_any([w])) for w in words}
        rarest_first = sorted((w for w in words if docs[w]), key=lambda w: docs[w])
        stages = [rarest_first[:n] for n in range(len(rarest_first), 0, -1)]
        stages += [[w] for w in rarest_first[1:]]
        found: dict[str, float] = {}
        for stage in stages:
            for mid, score in self._bm25(_fts_all(stage), conversation_id, k):
                found.setdefault(mid, score)
            if len(found) >= k:
                break
        return list(found.items())[:k]

    def _lexical_windows(self, lexical: list[tuple[str, float]], rows: dict[str, Memory],
                         ranked: list[str], raw: dict[str, dict[str, float]]) -> None:
        """The lexical window signal from the turns' own scores (core.memory.window_signal):
        anchors appended to `ranked`, best first."""
        windows = windows_from_turns(self.store, lexical, rows)
        rows.update(self.store.get_many([a for _, a, _ in windows if a not in rows]))
        for _, anchor, score in windows:
            if anchor in rows and anchor not in ranked:
                ranked.append(anchor)
                raw.setdefault(anchor, {})["lexical_window"] = round(score, 4)

    def _matches(self, match: str) -> int:
        return self.store.fts_count(match)

    def _bm25(self, match: str, conversation_id: str | None, limit: int
              ) -> list[tuple[str, float]]:
        return self.store.bm25(match, RETRIEVABLE_KINDS, conversation_id, limit,
                               without_windows=self.params.lexical_windows_from_turns)

    def _visible_to(self, conversation_id: str | None) -> Callable[[Memory], bool]:
        return lambda mem: self.visible(mem, conversation_id)

    @staticmethod
    def visible(mem: Memory, conversation_id: str | None) -> bool:
        """SQLite is the authority: the index may lag behind a forget or a rescope."""
        if mem.status != "active" or mem.kind not in RETRIEVABLE_KINDS or not mem.text:
            return False
        if mem.granularity == "window":
            return False
        return mem.scope == "global" or (conversation_id is not None
                                         and mem.conversation_id == conversation_id)

    def _expand_neighbours(self, scored: list[Candidate], conversation_id: str | None,
                           excluded: set[str]) -> list[Candidate]:
        turns = [c for c in scored if c.memory.granularity in ("turn", "passage")
                 ][: self.params.expand_top]
        if not turns:
            return scored
        neighbours: dict[str, list[str]] = {}
        for cand in turns:
            neighbours[cand.memory.id] = self._neighbour_ids(cand.memory.id)
        rows = self.store.get_many([n for ids in neighbours.values() for n in ids])
        present = {c.memory.id for c in scored}
        out: list[Candidate] = []
        for cand in scored:
            out.append(cand)
            for nid in neighbours.get(cand.memory.id, []):
                mem = rows.get(nid)
                # a neighbour that is a candidate anyway keeps its own rank: moving it up
                # measured worse on LoCoMo (0.80 vs 0.83 within 500 tokens)
                if (mem is None or nid in present or nid in excluded
                        or not self.visible(mem, conversation_id)):
                    continue
                present.add(nid)
                out.append(Candidate(mem, cand.score, "neighbour",
                                     {"neighbour_of": cand.memory.id}))
        return out

    def _neighbour_ids(self, turn_id: str) -> list[str]:
        """Turn memories of the message before and the messages after this turn's message."""
        return self.store.neighbour_turns(turn_id)

    def _pinned(self, conversation_id: str | None, excluded: set[str]) -> list[Candidate]:
        """What the person chose to send with every message ("always include"; a pinned
        memory is only kept from fading: core.memory.steering)."""
        out = []
        in_scope = steering.project_filter(self.store, conversation_id)
        for mem in steering.always_included(self.store, RETRIEVABLE_KINDS):
            if (mem.id in excluded or not self.visible(mem, conversation_id)
                    or not in_scope(mem)):
                continue
            out.append(Candidate(mem, 1.0, "always included", {"always_include": True}))
        return out


def _steer(store: MemoryStore, scored: list[Candidate], query: str,
           conversation_id: str | None) -> list[Candidate]:
    """Issue 15's hook: "not relevant" feedback for a similar question, and the assistant's
    own turns, rank lower; a project's memories are read only in that project's
    conversations (the factors, the scope and why: core.memory.steering)."""
    in_scope = steering.project_filter(store, conversation_id)
    scored = [c for c in scored if in_scope(c.memory)]
    found = steering.factors(store, [c.memory for c in scored], query)
    for cand in scored:
        if cand.memory.id in found:
            cand.score *= found[cand.memory.id]
            cand.detail["steered"] = round(found[cand.memory.id], 3)
    return scored


def select_under_budget(ranked: list[Candidate], budget_tokens: int) -> tuple[list[Candidate], int]:
    selected, used = [], 0
    for cand in ranked:
        if used + cand.cost > budget_tokens:
            continue
        selected.append(cand)
        used += cand.cost
    return selected, used


def _select_counting(ranked: list[Candidate], budget_tokens: int,
                     count_tokens: TokenCounter) -> tuple[list[Candidate], int]:
    """Selection with the model's own token counts, asked only for the candidates that get
    considered (each count may be a round trip to the model's worker process)."""
    selected, used = [], 0
    for cand in ranked:
        room = budget_tokens - used
        if room < 4:
            break
        if cand.cost > 2 * room:        # clearly too big, whatever the tokenizer
            continue
        cand.cost = count_tokens(cand.text)
        if cand.cost <= room:
            selected.append(cand)
            used += cand.cost
    return selected, used


def _reason(ranks: dict[str, int]) -> str:
    labels = {"dense": "meaning", "lexical": "words", "dense_window": "meaning in context",
              "lexical_window": "words in context", "dense_fact": "meaning of a fact from it",
              "lexical_fact": "words of a fact from it"}
    parts = [f"{labels[k]} #{v}" for k, v in sorted(ranks.items(), key=lambda kv: kv[1])]
    return "matched by " + ", ".join(parts) if parts else "matched"


def semantic_search(store: MemoryStore, index: VectorIndex, embedder: Embedder, text: str, *,
                    k: int = 100, kinds: Iterable[str] | None = None,
                    statuses: Iterable[str] | None = None,
                    scope: str | None = None) -> list[tuple[Memory, float]]:
    """Memories by meaning alone (the inspector's "Meaning" search): the `k` nearest vectors,
    best first, kept when SQLite says they pass the filters (the index may lag). Scores are
    cosine similarities, higher is closer."""
    hits = index.query(embedder.encode_one(text), k)
    found = store.get_many([mid for mid, _ in hits])
    kinds, statuses = set(kinds or ()), set(statuses or ())
    return [(found[mid], score) for mid, score in hits if mid in found
            and (not kinds or found[mid].kind in kinds)
            and (not statuses or found[mid].status in statuses)
            and (not scope or found[mid].scope == scope)]
