"""`engram bench memory-writing`: what the model writes into memory, against LoCoMo's gold facts.

Each LoCoMo sample goes into a fresh data folder, one session at a time, through the normal
path: the session's turns are stored and remembered (both speakers are people, so both may be
cited), then facts are distilled from it a few turns at a time (`core.memory.facts
.extract_thread`, what the import's facts job runs). At the end the import's other model jobs
run through the memory worker: the HEMA summary of the conversation, and the maintenance pass
that writes MemoryBank's daily summaries, daily portraits, the global summary and the portrait.

Figures:
- observation recall: share of LoCoMo's gold `observation` facts of the processed sessions
  matched by a stored fact of the same session (the session of the message it cites). A fact
  matches at most one observation (greedy, most similar pair first), when their
  all-MiniLM-L6-v2 cosine is >= MATCH_COSINE. Calibrated on the dev split:
  two *different* gold observations of one session reach 0.6 in 20% of pairs (they are about
  the same person and topics), so the matching is one-to-one; recall at 0.5 and 0.7 is printed
  beside it;
- precision proxy: share of stored facts that match a gold observation that way;
- garbage rate: share of the model's fact lines the gates refused (measured before the gates);
- garbage stored: stored facts (and summaries) that an independent check finds wrong: a name or
  number that occurs nowhere in the session, a copy of the prompt's own words, a loop, a first
  or second person; it must be 0;
- provenance accuracy: matched facts whose cited message is the observation's dia_id or a
  neighbour (the turn before or after);
- seconds per session (facts; and the summaries at the end, per session).
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.benchmarks import emit, machine

if TYPE_CHECKING:
    from core.services.engine import Engram

MATCH_COSINE = 0.6
OTHER_COSINES = (0.5, 0.7)


def register(sub) -> None:
    p = sub.add_parser("memory-writing",
                       help="facts and summaries the model writes, against LoCoMo's gold facts")
    p.add_argument("--locomo", type=Path, required=True, help="a LoCoMo JSON file")
    add_model_arguments(p)
    p.add_argument("--samples", type=int, default=0, help="first N samples only")
    p.add_argument("--sessions", type=int, default=0, help="first N sessions of each sample")
    p.add_argument("--no-summaries", action="store_true",
                   help="facts only (skip the summary and portrait jobs)")
    p.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)


def add_model_arguments(p) -> None:
    """--model FILE | --starter, and --kind: the model a memory benchmark runs."""
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", type=Path, help="a GGUF file")
    which.add_argument("--starter", action="store_true",
                       help="the starter model (the default when --model is not given)")
    p.add_argument("--kind", choices=("auto", "base", "instruct"), default="auto",
                   help="the model's kind (default: decided from the file)")


def open_bench_model(args, ctx):
    """The model a benchmark runs: --model FILE, else the starter model, with the runtime's
    default configuration (not the user's settings: figures stay comparable across runs)."""
    from core.base.settings import ModelSettings
    from core.runtime.factory import model_path
    from core.runtime.kv_config import RuntimeConfig
    from core.runtime.local_llm import LocalLLM

    path = args.model or model_path(ctx.layout, ModelSettings())
    return LocalLLM(path, RuntimeConfig(str(path), n_ctx=4096),
                    kind=getattr(args, "kind", "auto"))


def run(args, ctx) -> int:
    from app.benchmarks.retrieval import load_locomo
    from core.index.embedder import Embedder

    samples = load_locomo(args.locomo)
    if args.samples:
        samples = samples[: args.samples]
    embedder = Embedder()
    llm = open_bench_model(args, ctx)
    try:
        out = measure(samples, llm, embedder, sessions=args.sessions,
                      summaries=not args.no_summaries, seed=args.seed, progress=not args.json)
    finally:
        llm.close()
    out["machine"] = machine()
    return emit(out, as_json=args.json, report=print_report)


class MemoryWriter:
    """For `bench retrieval --with-memories`: the model writes a stored LoCoMo sample's facts
    (a session at a time) and summaries, through the same steps as `measure`."""

    def __init__(self, llm, *, seed: int | None = 1, summaries: bool = True,
                 progress: bool = True) -> None:
        self.llm, self.seed, self.summaries, self.progress = llm, seed, summaries, progress

    def __call__(self, eng: Engram, sample: dict[str, Any]) -> None:
        from core.memory import facts

        [conv] = eng.conversations.list(limit=5)
        sessions: dict[str, list] = {}
        for msg in eng.conversations.thread(conv.id):
            sessions.setdefault((msg.source_id or "").split(":")[0], []).append(msg)
        t0 = time.perf_counter()
        stored = 0
        for msgs in sessions.values():
            got, _ = facts.extract_thread(eng, self.llm, msgs, seed=self.seed)
            stored += len(got.stored)
        if self.summaries:
            _run_summary_jobs(eng, self.llm, conv.id)
        if self.progress:
            print(f"{sample.get('sample_id')}: the model wrote {stored} facts and "
                  f"{eng.memories.count(kinds=['summary', 'compact', 'portrait'])} summaries "
                  f"in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    def close(self) -> None:
        self.llm.close()


def memory_writer(args, ctx, *, progress: bool = True) -> MemoryWriter:
    return MemoryWriter(open_bench_model(args, ctx), progress=progress)


# -- one sample ------------------------------------------------------------------------------
def ingest_session(eng: Engram, conv_id: str, sample: dict[str, Any], n: int, parent: str | None):
    """Store session `n` of a LoCoMo sample as the chat stores turns; returns its messages."""
    from app.benchmarks.retrieval import session_time
    from core.memory.episodic import remember_messages

    data = sample["conversation"]
    start = session_time(data[f"session_{n}_date_time"])
    out = []
    for i, turn in enumerate(data[f"session_{n}"]):
        role = "user" if turn.get("speaker") == data.get("speaker_a") else "assistant"
        msg = eng.conversations.add_message(
            conv_id, role, turn.get("text", ""), parent_id=parent, created_at=start + 30 * i,
            source_id=turn["dia_id"], meta={"speaker": turn.get("speaker", ""),
                                            "author": "person"})
        remember_messages(eng.memories, [msg], actor="import")
        parent = msg.id
        out.append(msg)
    return out


def measure(samples: list[dict[str, Any]], llm, embedder, *, sessions: int = 0,
            summaries: bool = True, seed: int | None = 1, progress: bool = True
            ) -> dict[str, Any]:
    from core.services.engine import Engram

    per_sample = []
    for sample in samples:
        with tempfile.TemporaryDirectory(prefix="engram-bench-") as tmp:
            eng = Engram.open(tmp)
            eng._embedder = embedder
            try:
                per_sample.append(_one_sample(eng, sample, llm, sessions=sessions,
                                              summaries=summaries, seed=seed,
                                              progress=progress))
            finally:
                eng.close()
    return summarise(per_sample)


def _one_sample(eng: Engram, sample, llm, *, sessions, summaries, seed, progress) -> dict[str, Any]:
    from core.memory import facts

    data = sample["conversation"]
    conv = eng.conversations.create(f"LoCoMo {sample.get('sample_id', '')}")
    numbers = [int(k.split("_")[1]) for k in data if re.fullmatch(r"session_\d+", k)]
    numbers = sorted(numbers)[: sessions or None]
    parent = None
    outcome = facts.FactOutcome()
    gold: list[tuple[str, str, int]] = []          # (observation, dia_id, session)
    session_text: dict[int, str] = {}
    fact_seconds = 0.0
    speakers = {data.get("speaker_a", ""), data.get("speaker_b", "")}
    for n in numbers:
        msgs = ingest_session(eng, conv.id, sample, n, parent)
        parent = msgs[-1].id if msgs else parent
        session_text[n] = "\n".join(m.text for m in msgs)
        t0 = time.perf_counter()
        got, _ = facts.extract_thread(eng, llm, msgs, seed=seed)
        fact_seconds += time.perf_counter() - t0
        outcome.add(got)
        for items in (sample.get("observation", {})
                                .get(f"session_{n}_observation", {}) or {}).values():
            for item in items:
                text, dia = item[0], item[1] if len(item) > 1 else ""
                ids = re.findall(r"D\d+:\d+", json.dumps(dia))
                gold.append((text, ids[0] if ids else "", n))
        if progress:
            print(f"{sample.get('sample_id')} session {n}: {len(got.stored)} facts stored, "
                  f"{len(got.refused)} refused", file=sys.stderr)
    summary_seconds = 0.0
    jobs: dict[str, dict[str, Any]] = {}
    if summaries:
        t0 = time.perf_counter()
        jobs = _run_summary_jobs(eng, llm, conv.id)
        summary_seconds = time.perf_counter() - t0
    stored = eng.memories.list(kinds=["fact"], limit=None)
    cited = {}
    for mem in stored:
        src = eng.memories.sources(mem.id)
        msg_id = src[0]["message_id"] if src else None
        cited[mem.id] = (eng.conversations.get_message(msg_id).source_id if msg_id else "")
    written = [m for m in eng.memories.list(kinds=["summary", "compact", "portrait"],
                                            limit=None)]
    return {
        "sample": sample.get("sample_id"), "sessions": len(numbers),
        "gold": gold, "facts": [(m.text, cited[m.id]) for m in stored],
        "fact_lines": len(outcome.refused) + len(outcome.stored) + outcome.duplicates,
        "refused": len(outcome.refused),
        "refusal_reasons": _reasons(outcome),
        "garbage_stored_facts": [m.text for m in stored
                                 if independent_garbage(m.text, session_text, speakers, "facts")],
        "summaries": [(m.kind, m.granularity, m.text) for m in written],
        "garbage_stored_summaries": [
            m.text for m in written if independent_garbage(
                m.text, session_text, speakers, _step_of(m))],
        "summary_jobs": jobs,
        "fact_seconds": fact_seconds, "summary_seconds": summary_seconds,
    }


def _run_summary_jobs(eng: Engram, llm, conversation_id: str) -> dict[str, dict[str, Any]]:
    """The model jobs an import queues, run through the memory worker."""
    from core.services.memory_worker import MemoryWorker
    from core.store import jobs as kinds

    eng.jobs.enqueue(kinds.SUMMARIZE_CONVERSATION, {"conversation_id": conversation_id},
                     needs_model=True)
    eng.jobs.enqueue(kinds.MAINTENANCE, {})
    MemoryWorker(eng, lambda: llm).run_until_idle()
    out: dict[str, dict[str, int]] = {}
    for job in eng.jobs.list(limit=100000):
        if job.kind == kinds.INDEX_SYNC:
            continue
        row = out.setdefault(job.kind, {"done": 0, "failed": 0})
        row["done" if job.status == "done" else "failed"] += 1
        if job.status == "failed" and "why" not in row:
            row["why"] = (job.error or "")[:240]        # the first failure's reason
    return out


def _step_of(mem) -> str:
    return {("compact", "running"): "hema_update", ("summary", "conversation"): "hema_level2",
            ("summary", "day"): "daily_summary", ("summary", "global"): "global_summary",
            ("portrait", "day"): "portrait_daily", ("portrait", "overall"): "portrait_overall",
            }.get((mem.kind, mem.granularity), "hema_update")


def _reasons(outcome) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in outcome.refused:
        key = re.sub(r"\s*\(.*", "", r.reason)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def independent_garbage(text: str, session_text: dict[int, str], speakers: set[str],
                        step: str) -> str:
    """Why a stored text is wrong by a check independent of the cited message (the whole
    sample's text), or '': a name or number found nowhere, a copy of the prompt, a loop, a
    first or second person."""
    from core.base.prompts import frame_text
    from core.memory.gates import (
        FIRST_PERSON,
        SECOND_PERSON,
        copied_run,
        names_in,
        numbers_in,
        repetition,
        words,
    )

    everything = "\n".join(session_text.values())
    low = everything.lower()
    allowed = {s.lower() for s in speakers if s} | {"user", "assistant", "engram"}
    for name in names_in(text):
        n = name.lower().removesuffix("'s")
        if n not in allowed and n not in low:
            return f"invented name {name}"
    for number in numbers_in(text):
        if number not in everything:
            return f"invented number {number}"
    frames = [frame_text(step, kind) for kind in ("base", "instruct")]
    if copied_run(text, frames, 6):
        return "copies its prompt"
    if repetition(text):
        return "a loop"
    ws = {w.lower() for w in words(text)}
    if step == "facts" and ws & FIRST_PERSON:
        return "first person"
    if ws & SECOND_PERSON:
        return "second person"
    return ""


# -- figures ---------------------------------------------------------------------------------
def match(gold: list[str], found: list[str], embedder, threshold: float
          ) -> list[tuple[int, int, float]]:
    """One-to-one matches (gold index, fact index, cosine), most similar pairs first."""
    if not gold or not found:
        return []
    sims = embedder.encode(gold) @ embedder.encode(found).T
    pairs = sorted(((float(sims[i, j]), i, j) for i in range(len(gold))
                    for j in range(len(found)) if sims[i, j] >= threshold), reverse=True)
    used_g, used_f, out = set(), set(), []
    for sim, i, j in pairs:
        if i in used_g or j in used_f:
            continue
        used_g.add(i)
        used_f.add(j)
        out.append((i, j, sim))
    return out


def _session_of(dia: str) -> int:
    found = re.match(r"D(\d+):", dia or "")
    return int(found.group(1)) if found else -1


def match_by_session(gold: list[tuple[str, str, int]], found: list[tuple[str, str]], embedder,
                     threshold: float) -> list[tuple[int, int, float]]:
    """`match` within each session: a fact cited to a message of session n is compared with
    session n's gold observations only (LoCoMo repeats similar facts across sessions)."""
    out = []
    for session in sorted({g[2] for g in gold}):
        gi = [i for i, g in enumerate(gold) if g[2] == session]
        fj = [j for j, f in enumerate(found) if _session_of(f[1]) == session]
        for i, j, sim in match([gold[i][0] for i in gi], [found[j][0] for j in fj], embedder,
                               threshold):
            out.append((gi[i], fj[j], sim))
    return out


def _neighbours(dia: str, cited: str) -> bool:
    a, b = re.match(r"D(\d+):(\d+)", dia or ""), re.match(r"D(\d+):(\d+)", cited or "")
    if not a or not b:
        return False
    return a.group(1) == b.group(1) and abs(int(a.group(2)) - int(b.group(2))) <= 1


def summarise(per_sample: list[dict[str, Any]]) -> dict[str, Any]:
    from core.index.embedder import Embedder

    embedder = Embedder()
    gold_n = facts_n = matched_n = prov_ok = 0
    at_other = {t: 0 for t in OTHER_COSINES}
    samples = []
    for s in per_sample:
        gold = [g[0] for g in s["gold"]]
        found = [f[0] for f in s["facts"]]
        m = match_by_session(s["gold"], s["facts"], embedder, MATCH_COSINE)
        ok = sum(1 for i, j, _ in m if _neighbours(s["gold"][i][1], s["facts"][j][1]))
        for t in OTHER_COSINES:
            at_other[t] += len(match_by_session(s["gold"], s["facts"], embedder, t))
        gold_n += len(gold)
        facts_n += len(found)
        matched_n += len(m)
        prov_ok += ok
        samples.append({
            "sample": s["sample"], "sessions": s["sessions"], "gold_observations": len(gold),
            "facts_stored": len(found), "matched": len(m),
            "observation_recall": _ratio(len(m), len(gold)),
            "precision": _ratio(len(m), len(found)),
            "garbage_rate": _ratio(s["refused"], s["fact_lines"]),
            "refusal_reasons": s["refusal_reasons"],
            "garbage_stored": len(s["garbage_stored_facts"]) + len(s["garbage_stored_summaries"]),
            "garbage_stored_examples": (s["garbage_stored_facts"]
                                        + s["garbage_stored_summaries"])[:5],
            "provenance_accuracy": _ratio(ok, len(m)),
            "summary_jobs": s["summary_jobs"],
            "summaries_written": len(s["summaries"]),
            "examples": {"facts": found[:8], "summaries": [t for *_, t in s["summaries"][:4]]},
            "seconds_per_session": round((s["fact_seconds"] + s["summary_seconds"])
                                         / max(1, s["sessions"]), 2),
            "fact_seconds_per_session": round(s["fact_seconds"] / max(1, s["sessions"]), 2),
        })
    lines = sum(s["fact_lines"] for s in per_sample)
    sessions = sum(s["sessions"] for s in per_sample)
    return {
        "observation_recall": _ratio(matched_n, gold_n),
        "precision": _ratio(matched_n, facts_n),
        "garbage_rate": _ratio(sum(s["refused"] for s in per_sample), lines),
        "garbage_stored": sum(x["garbage_stored"] for x in samples),
        "provenance_accuracy": _ratio(prov_ok, matched_n),
        "seconds_per_session": round(sum(s["fact_seconds"] + s["summary_seconds"]
                                         for s in per_sample) / max(1, sessions), 2),
        "match_cosine": MATCH_COSINE,
        "observation_recall_at": {str(t): _ratio(at_other[t], gold_n) for t in OTHER_COSINES},
        "gold_observations": gold_n, "facts_stored": facts_n, "fact_lines": lines,
        "sessions": sessions, "samples": samples,
    }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def print_report(out: dict[str, Any]) -> None:
    print(f"memory writing over {out['sessions']} LoCoMo sessions "
          f"({out['gold_observations']} gold observations, {out['facts_stored']} facts stored, "
          f"{out['fact_lines']} fact lines written by the model)")
    print(f"  observation recall   {out['observation_recall']}  (cosine >= {out['match_cosine']}, "
          f"one-to-one; at 0.5: {out['observation_recall_at']['0.5']}, "
          f"at 0.7: {out['observation_recall_at']['0.7']})")
    print(f"  precision proxy      {out['precision']}")
    print(f"  garbage rate         {out['garbage_rate']}  (refused by the gates)")
    print(f"  garbage stored       {out['garbage_stored']}")
    print(f"  provenance accuracy  {out['provenance_accuracy']}")
    print(f"  seconds per session  {out['seconds_per_session']}")
    for s in out["samples"]:
        print(f"  {s['sample']}: recall {s['observation_recall']}, precision {s['precision']}, "
              f"refused {s['garbage_rate']} {s['refusal_reasons']}, jobs {s['summary_jobs']}")
        for text in s["examples"]["facts"][:5]:
            print(f"      fact: {text}")
        for text in s["examples"]["summaries"][:3]:
            print(f"      summary: {text}")
        for text in s["garbage_stored_examples"]:
            print(f"      GARBAGE STORED: {text}")
    m = out.get("machine", {})
    print(f"  machine: {m.get('cpus')} cpus, load {m.get('load_average')}")
