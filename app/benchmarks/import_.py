"""`engram bench import`: a synthetic ChatGPT export (default about 1 GB, with branches and
long messages) is written to a temp folder, streamed, then imported in a child process.

Figures: messages/s parsed and stored (SQLite + episodic memories, without embedding), the
parse-only rate (dry run), peak RSS of the importing process, and embedding throughput of the
import's pipeline (SQLite -> MiniLM -> Chroma: memories made searchable per second,
`embedding.pipeline_per_s`) against today's baseline in the same run, raw sentence-transformers
(torch) encoding of the same texts (`embedding.raw_st_per_s`); their ratio is the figure.
"""
from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.cli import print_fields, print_json

_WORDS = ["memory", "river", "garden", "window", "travel", "kitchen", "music", "letter", "engine", "window", "planet", "question", "answer", "python", "function", "summer", "winter", "bread", "coffee", "mountain", "library", "station", "friend", "family", "project", "budget", "meeting", "doctor", "health", "running", "bicycle", "paint", "history", "language", "novel", "poem", "recipe", "tomato", "weather", "forest", "ocean", "market", "city", "night"]


def register(sub) -> None:
    p = sub.add_parser("import", help="import throughput, peak RSS, embedding throughput")
    p.add_argument("--size-mb", type=float, default=1024.0, help="export size (default 1024)")
    p.add_argument("--embed-sample", type=int, default=2000,
                   help="memories embedded for the embedding figures (default 2000; 0 = all "
                        "of them: the time until the whole export is searchable)")
    p.add_argument("--raw-sample", type=int, default=3000,
                   help="texts (evenly spread over the embedded memories) that the "
                        "sentence-transformers baseline encodes, before and after the "
                        "pipeline (default 3000)")
    p.add_argument("--runtime", choices=("auto", "torch", "onnx", "onnx-int8"), default="auto",
                   help="embedding runtime of the pipeline (default auto)")
    p.add_argument("--window-vectors", choices=("encode", "derive", "derive-long"),
                   default=None, help="how the pipeline gives windows vectors (default: the "
                   "index sync's; see bench retrieval)")
    p.add_argument("--memory-cost", action="store_true",
                   help="only this: the time to write episodic memories with and without "
                        "passages, side by side on the same generated messages")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the temp folder")
    p.add_argument("--without-memories", action="store_true",
                   help="measure the importer's own path: skip episodic memory creation")
    p.set_defaults(func=run)


def _sentences(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 18))).capitalize() + "."
            for _ in range(n)]


def _text(rng: random.Random, pool: list[str]) -> str:
    size = rng.choices((2, 8, 40, 200), weights=(50, 35, 13, 2))[0]   # 200 sentences: ~20 KB
    return " ".join(rng.choice(pool) for _ in range(rng.randint(1, size)))


def _node(nid: str, parent: str | None, children: list[str], role: str, text: str,
          t: float) -> dict:
    return {"id": nid, "parent": parent, "children": children, "message": {
        "id": nid, "author": {"role": role, "name": None, "metadata": {}}, "create_time": t,
        "update_time": None, "content": {"content_type": "text", "parts": [text]},
        "status": "finished_successfully", "end_turn": True, "weight": 1.0,
        "metadata": {"model_slug": "gpt-4o"} if role == "assistant" else {},
        "recipient": "all"}}


def write_export(path: Path, size_bytes: int, seed: int = 7) -> dict[str, int]:
    """Stream a ChatGPT `conversations.json` of about `size_bytes` to `path`."""
    rng = random.Random(seed)
    pool = _sentences(rng, 4000)
    written = conversations = messages = 0
    t = 1_600_000_000.0
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        while written < size_bytes:
            cid = f"bench-{conversations}"
            mapping = {"root": {"id": "root", "parent": None, "children": [], "message": None}}
            parent, turns = "root", rng.randint(4, 40)
            for i in range(turns):
                for role in ("user", "assistant"):
                    nid = f"{cid}-{i}-{role[0]}"
                    mapping[nid] = _node(nid, parent, [], role, _text(rng, pool), t)
                    mapping[parent]["children"].append(nid)
                    if role == "assistant" and rng.random() < 0.1:       # a regeneration
                        alt = nid + "-alt"
                        mapping[alt] = _node(alt, parent, [], role, _text(rng, pool), t + 1)
                        mapping[parent]["children"].append(alt)
                    parent = nid
                    t += 30
            messages += len(mapping) - 1
            record = {"id": cid, "title": f"Conversation {conversations}", "create_time": t,
                      "update_time": t, "current_node": parent, "mapping": mapping}
            chunk = ("," if conversations else "") + json.dumps(record, ensure_ascii=False)
            out.write(chunk)
            written += len(chunk)
            conversations += 1
        out.write("]")
    return {"conversations": conversations, "messages": messages, "bytes": path.stat().st_size}


def _child(path: str, home: str, mode: str) -> None:
    """Runs in a separate process so that its peak RSS is the import's alone. The time spent
    in `remember_messages` (the memory engine's part) is measured separately."""
    from core.importers import dry_run, run_import, store
    from core.services.engine import Engram

    memory_seconds = [0.0]
    real = store.remember_messages

    def timed(*args, **kwargs):
        if mode == "import-without-memories":
            return []
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            memory_seconds[0] += time.perf_counter() - t0

    store.remember_messages = timed

    start = time.perf_counter()
    if mode == "dry":
        report = dry_run(path)
    else:
        eng = Engram.open(home)
        report = run_import(eng, path, embed=False)
        eng.close()
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "messages": report.messages,
                      "conversations": report.conversations, "branches": report.branches,
                      "memories": report.memories_created, "peak_rss_mb": peak_kb / 1024,
                      "memory_seconds": memory_seconds[0]}))


def _in_child(path: Path, home: Path, mode: str) -> dict:
    code = ("import sys; from app.benchmarks.import_ import _child; "
            "_child(sys.argv[1], sys.argv[2], sys.argv[3])")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(home), mode],
                         capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[2])
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "child failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _embedding(home: Path, sample: int, raw_sample: int, runtime: str,
               window_vectors: str | None) -> dict:
    """Our pipeline (IndexSync: read, dedupe, embed or derive, upsert, mark) on `sample`
    memories (0 = all) against today's baseline measured in the same run: raw
    sentence-transformers (torch) encoding of the same texts, one by one, none skipped."""
    from core.index.embedder import Embedder
    from core.services.engine import Engram

    eng = Engram.open(home)
    try:
        eng.settings.memory.embedding_runtime = runtime
        total = eng.memories.count(statuses=None)
        if sample:
            eng.memories.leave_pending_first(sample)
        texts = [r["text"] for r in eng.memories.index_pending(0, 1 << 62)]
        raw_texts = texts
        if len(texts) > raw_sample > 0:                      # evenly spread, same mix
            step = len(texts) / raw_sample
            raw_texts = [texts[int(i * step)] for i in range(raw_sample)]
        model = Embedder(runtime="torch").sentence_transformer()
        model.encode(raw_texts[:64], batch_size=64)                         # warm-up

        def raw_rate() -> float:
            start = time.perf_counter()
            model.encode(raw_texts, batch_size=64, normalize_embeddings=True,
                         show_progress_bar=False)
            return len(raw_texts) / (time.perf_counter() - start)

        raw_before = raw_rate()
        t0 = time.perf_counter()
        eng.embedder.encode(texts[:64])          # load (and export on first use) + warm-up
        load_s = time.perf_counter() - t0
        load_mid = os.getloadavg()[0]
        from core.index.sync import WINDOW_VECTORS, IndexSync

        sync = IndexSync(eng.memories, eng.index, eng.embedder,
                         window_vectors=window_vectors or WINDOW_VECTORS,
                         state_path=eng.layout.data_dir / "index-state.json")
        report = sync.sync()
        ours = report.embedded / report.seconds if report.seconds else 0.0
        # measured again after: other work on a shared machine changes every rate, and the
        # mean of before and after cancels a steady drift
        raw_after = raw_rate()
        raw = (raw_before + raw_after) / 2
        return {"memories_in_export": total, "embedded": report.embedded,
                "encoded": report.encoded, "reused": report.reused, "derived": report.derived,
                "pipeline_seconds": round(report.seconds, 1),
                "pipeline_per_s": round(ours, 1), "raw_st_per_s": round(raw, 1),
                "raw_st_texts": len(raw_texts),
                "raw_st_per_s_before_after": [round(raw_before, 1), round(raw_after, 1)],
                "ratio": round(ours / raw, 3) if raw else None,
                "minutes_to_searchable": round(total / ours / 60, 1) if ours else None,
                "raw_st_minutes_for_all": round(total / raw / 60, 1) if raw else None,
                "runtime": eng.embedder.describe(), "embedder_load_seconds": round(load_s, 1),
                "window_vectors": sync.window_vectors,
                "load_average_1min_at_start": round(load_mid, 2),
                "target_ratio": 3.0}
    finally:
        eng.close()


def run(args, ctx) -> int:
    if args.memory_cost:
        from app.benchmarks.memory_cost import memory_cost

        result = memory_cost()
        if args.json:
            print_json(result)
        else:
            print_fields(result)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="engram-bench-import-"))
    load_before = os.getloadavg()[0]
    try:
        export = tmp / "conversations.json"
        start = time.perf_counter()
        made = write_export(export, int(args.size_mb * (1 << 20)))
        gen_s = time.perf_counter() - start
        print(f"generated {made['bytes'] / (1 << 20):.0f} MB, {made['conversations']}"
              f" conversations, {made['messages']} messages in {gen_s:.0f} s", file=sys.stderr)
        dry = _in_child(export, tmp / "unused", "dry")
        print(f"dry run {dry['seconds']:.1f} s", file=sys.stderr)
        mode = "import-without-memories" if args.without_memories else "import"
        imp = _in_child(export, tmp / "home", mode)
        print(f"import {imp['seconds']:.1f} s", file=sys.stderr)
        load_after = os.getloadavg()[0]      # other work on the machine skews every figure
        emb = (_embedding(tmp / "home", args.embed_sample, args.raw_sample, args.runtime,
                          args.window_vectors)
               if not args.without_memories else {"skipped": "no memories were created"})
        load_end = os.getloadavg()[0]
        result = {
            "export_mb": round(made["bytes"] / (1 << 20), 1),
            "conversations": imp["conversations"], "messages": imp["messages"],
            "branches": imp["branches"], "memories": imp["memories"],
            "parse_only_messages_per_s": round(dry["messages"] / dry["seconds"]),
            "import_seconds": round(imp["seconds"], 1),
            "import_messages_per_s": round(imp["messages"] / imp["seconds"]),
            "memory_creation_seconds": round(imp["memory_seconds"], 1),
            "import_messages_per_s_excluding_memory_creation": round(
                imp["messages"] / max(imp["seconds"] - imp["memory_seconds"], 1e-9)),
            "memories_created": not args.without_memories,
            "import_peak_rss_mb": round(imp["peak_rss_mb"]),
            "dry_run_peak_rss_mb": round(dry["peak_rss_mb"]),
            "database_mb": round((tmp / "home" / "engram.db").stat().st_size / (1 << 20)),
            "load_average_1min": [round(load_before, 2), round(load_after, 2),
                                  round(load_end, 2)],
            "embedding": emb,
            "targets": {"import_messages_per_s": 5000, "import_peak_rss_mb": 400},
        }
        if args.json:
            print_json(result)
        else:
            print_fields(result)
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}", file=sys.stderr)
