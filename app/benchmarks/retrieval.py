"""`engram bench retrieval`: memory retrieval quality on LoCoMo and latency at scale.

--locomo FILE: for each sample, a fresh data folder; the sessions are stored in order as
messages of one conversation (session dates as message times, speaker names kept) through the
normal path (`remember_messages`, then the index sync); then every question is answered by the
same `Retriever` the chat uses. Recall = share of a question's evidence turns (dia_id) covered
by the source turns of the retrieved memories in rank order, at k = 10 and 50 memories and
within 500 / 1,000 / 2,000 tokens (a memory costs the tokens of its prompt text, counted as
ceil(words x 4/3)). Printed per category and overall, with p50/p95 retrieval latency.

--synthetic N: N generated memories; p50/p95 of retrieval + prompt assembly, with the raw
Chroma query time beside it.
"""
from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.base.errors import EngramError

if TYPE_CHECKING:
    from core.services.engine import Engram

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
BUDGETS = (500, 1000, 2000)
KS = (10, 50)
FOREIGN_QUESTIONS = 100      # questions of the other samples, asked of each sample's store


def register(sub) -> None:
    p = sub.add_parser("retrieval", help="memory retrieval recall (LoCoMo) and latency")
    p.add_argument("--locomo", type=Path, help="a LoCoMo JSON file (list of samples)")
    p.add_argument("--longmemeval", type=Path,
                   help="a LongMemEval JSON file (list of questions with haystack sessions)")
    p.add_argument("--limit", type=int, default=0, help="--longmemeval: first N questions only")
    p.add_argument("--every", type=int, default=1, metavar="K",
                   help="--longmemeval: every K-th question only (the file is sorted by type)")
    p.add_argument("--compare", action="store_true",
                   help="also Engram without each of its parts, in the same run")
    p.add_argument("--partial", type=Path, metavar="FILE",
                   help="--longmemeval: write the figures so far to FILE after each question")
    p.add_argument("--vector-cache", type=Path, metavar="FILE",
                   help="--longmemeval: keep the texts' vectors in this .npz file between runs "
                        "(same model and runtime only)")
    p.add_argument("--runtime", choices=("auto", "torch", "onnx", "onnx-int8"), default="auto",
                   help="embedding runtime (default auto: ONNX Runtime when it loads)")
    p.add_argument("--window-vectors", choices=("encode", "derive", "derive-long"),
                   default=None, help="how windows get vectors (default: the index sync's): "
                   "encode their own text (as before the faster sync), derive them from their "
                   "turns' vectors, or derive only the ones longer than the encoder's window")
    p.add_argument("--with-memories", action="store_true",
                   help="--locomo: then let the model write its facts and summaries and ask "
                        "again (the starter model unless --model is given)")
    p.add_argument("--starter", action="store_true", help="--with-memories: the starter model")
    p.add_argument("--model", type=Path, help="--with-memories: a GGUF file")
    p.add_argument("--synthetic", type=int, metavar="N", help="latency with N memories")
    p.add_argument("--queries", type=int, default=200, help="queries for --synthetic")
    p.add_argument("--home", type=Path,
                   help="for --synthetic: build the memories in this folder and reuse them on "
                        "the next run (building 100,000 takes about 20 minutes of embedding)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for embedding (default 1: a query is one sentence, and "
                        "more threads spin against each other on a busy 2-core machine)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    if not args.locomo and not args.synthetic and not args.longmemeval:
        raise EngramError("Give --locomo FILE, --longmemeval FILE or --synthetic N")
    from core.index.embedder import Embedder

    if args.runtime == "torch":
        import torch

        torch.set_num_threads(max(1, args.threads))
    embedder = Embedder(runtime=args.runtime, threads=max(1, args.threads))
    from core.index.sync import WINDOW_VECTORS

    derive = args.window_vectors or WINDOW_VECTORS
    out: dict[str, Any] = {"embedding": {**embedder.describe(), "threads": args.threads,
                                         "window_vectors": derive}}
    if args.locomo:
        writer = None
        if args.with_memories:
            from app.benchmarks.memory_writing import memory_writer

            writer = memory_writer(args, ctx, progress=not args.json)
        try:
            out["locomo"] = locomo(args.locomo, embedder, progress=not args.json,
                                   window_vectors=derive, writer=writer,
                                   compare=args.compare)
        finally:
            if writer is not None:
                writer.close()
    if args.longmemeval:
        from app.benchmarks.longmemeval import longmemeval

        out["longmemeval"] = longmemeval(args.longmemeval, embedder, progress=not args.json,
                                         window_vectors=derive, limit=args.limit,
                                         every=args.every, vector_cache=args.vector_cache,
                                         compare=args.compare, partial=args.partial)
    if args.synthetic:
        from app.benchmarks.retrieval_synthetic import synthetic

        out["synthetic"] = synthetic(args.synthetic, embedder, queries=args.queries,
                                     progress=not args.json, home=args.home)
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_report(out)
    return 0


# -- LoCoMo ----------------------------------------------------------------------------------
def load_locomo(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise EngramError(f"Cannot read LoCoMo file {path}: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(s, dict) and "conversation" in s
                                             for s in data):
        raise EngramError(f"{path} is not a LoCoMo file (a list of samples with 'conversation')")
    return data


def session_time(text: str) -> float:
    """'1:56 pm on 8 May, 2023' -> Unix seconds (UTC)."""
    try:
        dt = datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    except ValueError:
        dt = datetime.strptime(text.strip().split(" on ")[-1], "%d %B, %Y")
    return dt.replace(tzinfo=UTC).timestamp()


def evidence_ids(item: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for ev in item.get("evidence") or []:
        out.update(re.findall(r"D\d+:\d+", str(ev)))
    return out


def ingest_sample(eng: Engram, sample: dict[str, Any], *, window_vectors: str | None = None) -> None:
    """The sessions of one sample as one conversation, stored the way the chat stores turns."""
    from core.memory.episodic import remember_messages

    conv_data = sample["conversation"]
    speaker_a = conv_data.get("speaker_a")
    first = session_time(conv_data["session_1_date_time"])
    conv = eng.conversations.create(f"LoCoMo {sample.get('sample_id', '')}", created_at=first)
    n = 1
    while f"session_{n}" in conv_data:
        start = session_time(conv_data[f"session_{n}_date_time"])
        for i, turn in enumerate(conv_data[f"session_{n}"]):
            text = turn.get("text", "")
            role = "user" if turn.get("speaker") == speaker_a else "assistant"
            msg = eng.conversations.add_message(
                conv.id, role, text, created_at=start + 30 * i, source_id=turn["dia_id"],
                meta={"speaker": turn.get("speaker", ""), "author": "person"})
            remember_messages(eng.memories, [msg], actor="import")
        n += 1
    from core.index.sync import IndexSync

    IndexSync(eng.memories, eng.index, eng.embedder,
              **({"window_vectors": window_vectors} if window_vectors else {})).sync()


def locomo(path: Path, embedder, *, progress: bool = True,
           window_vectors: str | None = None, writer=None, compare: bool = False
           ) -> dict[str, Any]:
    """`writer(eng, sample)`, when given, has a model write its memories (facts, summaries)
    into each sample's store after the plain run; the questions are then asked again, so
    `with_memories` is measured beside the plain figures in the same run."""
    from app.benchmarks.longmemeval import ABLATIONS
    from core.memory.retrieval import RetrievalParams
    from core.services.engine import Engram

    samples = load_locomo(path)
    per_q: list[dict[str, Any]] = []
    latencies: list[float] = []
    written_q: list[dict[str, Any]] = []
    written_latencies: list[float] = []
    both_q: list[dict[str, Any]] = []        # facts kept beside their own turns
    ablated: dict[str, list[dict[str, Any]]] = {}
    foreign: dict[str, list[float]] = {}      # per variant, per sample
    for sample in samples:
        with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
            eng = Engram.open(tmp)
            eng._embedder = embedder
            t0 = time.perf_counter()
            ingest_sample(eng, sample, window_vectors=window_vectors)
            ingest_s = time.perf_counter() - t0
            per_q += question_rows(eng, sample, embedder, latencies)
            others = [q["question"] for o in samples if o is not sample
                      for q in o.get("qa", [])][:FOREIGN_QUESTIONS]
            foreign.setdefault("engram", []).append(foreign_fill(eng, others, embedder))
            for name, _, overrides in (ABLATIONS if compare else ()):
                if overrides:           # the same store, another RetrievalParams
                    params = replace(RetrievalParams(), **overrides)
                    ablated.setdefault(name, []).extend(question_rows(
                        eng, sample, embedder, [], params))
                    foreign.setdefault(name, []).append(
                        foreign_fill(eng, others, embedder, params))
            if progress:
                print(f"{sample.get('sample_id')}: {eng.memories.count()} memories, ingested in "
                      f"{ingest_s:.1f} s", file=sys.stderr)
            if writer is not None:
                writer(eng, sample)
                eng.index_sync.sync()
                written_q += question_rows(eng, sample, embedder, written_latencies)
                both_q += question_rows(eng, sample, embedder, [],
                                        RetrievalParams(facts_with_turns=True))
            eng.close()
    out = summarise(per_q, latencies)
    out["overall"]["foreign_n1000"] = _mean(foreign.get("engram", []))
    if ablated:
        out["ablations"] = {name: {**summarise(rows, [])["overall"],
                                   "foreign_n1000": _mean(foreign.get(name, []))}
                            for name, rows in ablated.items()}
    if writer is not None:
        out["with_memories"] = summarise(written_q, written_latencies)
        out["with_memories_facts_beside_turns"] = summarise(both_q, [])
    return out


def question_rows(eng: Engram, sample: dict[str, Any], embedder, latencies: list[float],
                  params=None) -> list[dict[str, Any]]:
    """Recall of every question of `sample` through the chat's retriever, as it stands
    (`params`: other RetrievalParams)."""
    from core.memory.retrieval import Retriever, select_under_budget

    multi: dict[str, set[str]] = {}
    for mid, dia in eng.memories.message_source_ids():
        multi.setdefault(mid, set()).add(dia)
    retriever = Retriever(eng.memories, eng.index, embedder, params)
    rows = []
    for item in sample.get("qa", []):
        gold = evidence_ids(item)
        if not gold:
            continue
        t1 = time.perf_counter()
        result = retriever.retrieve(item["question"], budget_tokens=max(BUDGETS))
        latencies.append(time.perf_counter() - t1)
        ranked = result.ranked
        row = {"category": item.get("category"), "evidence": len(gold)}
        for k in KS:
            row[f"k{k}"] = _recall(gold, ranked[:k], multi)
        for budget in BUDGETS:
            chosen, _ = select_under_budget(ranked, budget)
            row[f"t{budget}"] = _recall(gold, chosen, multi)
        row["n1000"] = len(select_under_budget(ranked, 1000)[0])
        rows.append(row)
    return rows


def foreign_fill(eng: Engram, questions: list[str], embedder, params=None) -> float:
    """How many memories go into 1,000 tokens for questions about other people (another
    sample's questions): what a question with nothing to find here brings into the prompt."""
    from core.memory.retrieval import Retriever, select_under_budget

    retriever = Retriever(eng.memories, eng.index, embedder, params)
    counts = [len(select_under_budget(retriever.retrieve(q, budget_tokens=1000).ranked,
                                      1000)[0]) for q in questions]
    return round(statistics.fmean(counts), 2) if counts else 0.0


def _recall(gold: set[str], cands, sources: dict[str, set[str]]) -> float:
    covered: set[str] = set()
    for c in cands:
        covered |= sources.get(c.memory.id, set())
    return len(gold & covered) / len(gold)


def summarise(rows: list[dict[str, Any]], latencies: list[float]) -> dict[str, Any]:
    metrics = [f"k{k}" for k in KS] + [f"t{b}" for b in BUDGETS] + ["n1000"]

    def block(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"questions": len(items),
                **{m: round(statistics.fmean(r[m] for r in items), 3) if items else None
                   for m in metrics}}

    by_cat = {}
    for cat, name in CATEGORIES.items():
        items = [r for r in rows if r["category"] == cat]
        if items:
            by_cat[name] = block(items)
    lat = sorted(latencies)
    return {"overall": block(rows), "categories": by_cat,
            "latency_ms": {"p50": round(1000 * _pct(lat, 50), 1),
                           "p95": round(1000 * _pct(lat, 95), 1)}}


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    i = min(len(values) - 1, max(0, round(pct / 100 * (len(values) - 1))))
    return values[i]


def print_report(out: dict[str, Any]) -> None:
    emb = out.get("embedding", {})
    if emb:
        print(f"embedding: {emb.get('model')} on {emb.get('runtime')} ({emb.get('vectors')} "
              f"vectors, {emb.get('threads')} thread(s)), window vectors {emb.get('window_vectors')}")
    if "longmemeval" in out:
        from app.benchmarks.longmemeval import print_report as print_lme

        print_lme(out["longmemeval"])
    if "locomo" in out:
        loc = out["locomo"]
        header = f"{'category':<12} {'n':>4} " + " ".join(
            f"{h:>7}" for h in ("@10", "@50", "500tok", "1000tok", "2000tok"))
        print("LoCoMo evidence recall")
        print(header)
        for name, b in [*loc["categories"].items(), ("overall", loc["overall"])]:
            print(f"{name:<12} {b['questions']:>4} " + " ".join(
                f"{b[m]:>7.3f}" for m in ("k10", "k50", "t500", "t1000", "t2000")))
        print("memories in 1,000 tokens: own questions "
              f"{loc['overall']['n1000']:.1f}, other samples' questions "
              f"{loc['overall'].get('foreign_n1000')}")
        for name, b in loc.get("ablations", {}).items():
            print(f"{name:<17}" + " ".join(
                f"{b[m]:>7.3f}" for m in ("k10", "k50", "t500", "t1000", "t2000"))
                + f"  n1000 {b['n1000']:.1f} / foreign {b.get('foreign_n1000')}")
        lat = loc["latency_ms"]
        print(f"retrieval latency: p50 {lat['p50']} ms, p95 {lat['p95']} ms")
        titles = {"with_memories": "with the model's facts and summaries in the store "
                                   "(same run):",
                  "with_memories_facts_beside_turns": "the same, a fact and its own turn "
                                                      "both kept:"}
        for key, title in titles.items():
            if key not in loc:
                continue
            w = loc[key]
            print(title)
            print(header)
            for name, b in [*w["categories"].items(), ("overall", w["overall"])]:
                print(f"{name:<12} {b['questions']:>4} " + " ".join(
                    f"{b[m]:>7.3f}" for m in ("k10", "k50", "t500", "t1000", "t2000")))
    if "synthetic" in out:
        s = out["synthetic"]
        print(f"synthetic, {s['memories']} memories ({s['queries']} queries):")
        print(f"  retrieval + prompt assembly: p50 {s['total_ms']['p50']} ms, "
              f"p95 {s['total_ms']['p95']} ms")
        print(f"  raw Chroma top-10 query:     p50 {s['chroma_ms']['p50']} ms, "
              f"p95 {s['chroma_ms']['p95']} ms")
        print(f"  build: {s['build_seconds']} s" + (" (reused the folder)" if s.get('reused') else ""))
