"""`engram jobs ...`: the background memory work (summaries, facts, portraits) and its failures.

`list` shows each job with its progress and, for a failed one, why (e.g. what a quality gate
refused); `facts` queues fact extraction over conversations (imports queue it themselves);
`run` does the queued work now, in the foreground, with the configured model: Ctrl-C stops it
at a safe point and the next run goes on from there; `cancel` drops queued work.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli import print_json
from core.base import clock
from core.store import jobs as kinds

if TYPE_CHECKING:
    from core.services.engine import Engram


def register(sub) -> None:
    p = sub.add_parser("jobs", help="background memory work: list, run, queue facts, cancel")
    inner = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    ls = inner.add_parser("list", help="jobs with their progress and failures")
    ls.add_argument("--status", choices=("queued", "running", "done", "failed", "cancelled",
                                         "all"), default="all")
    ls.add_argument("--limit", type=int, default=30)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    fa = inner.add_parser("facts", help="queue fact extraction over conversations")
    fa.add_argument("--conversation", help="only this conversation (default: all of them)")
    fa.set_defaults(func=run_facts)
    rn = inner.add_parser("run", help="do the queued work now (Ctrl-C stops at a safe point)")
    rn.add_argument("--model", type=Path, help="a GGUF file (default: the setting)")
    rn.set_defaults(func=run_run)
    ca = inner.add_parser("cancel", help="cancel queued jobs")
    ca.add_argument("kind", nargs="*", help="only these kinds (default: every queued job)")
    ca.set_defaults(func=run_cancel)


def _progress(job) -> str:
    total = job.payload.get("total")
    return f"{job.payload.get('cursor', 0)}/{total} messages" if total else ""


def run_list(args, ctx) -> int:
    jobs = ctx.engram.jobs.list(None if args.status == "all" else args.status, args.limit)
    if args.json:
        print_json([{"id": j.id, "kind": j.kind, "status": j.status, "payload": j.payload,
                     "attempts": j.attempts, "created_at": clock.to_iso(j.created_at),
                     "error": j.error} for j in jobs])
        return 0
    if not jobs:
        print("no jobs")
    for j in jobs:
        detail = j.error if j.status == "failed" else _progress(j)
        print(f"{j.id:>6} {j.kind:<22} {j.status:<9} {detail or ''}".rstrip())
    return 0


def run_facts(args, ctx) -> int:
    eng = ctx.engram
    ids = [args.conversation] if args.conversation else [
        c.id for c in eng.conversations.list(limit=10_000_000) if not c.incognito]
    queued = sum(1 for cid in ids if eng.jobs.enqueue(
        kinds.EXTRACT_FACTS, {"conversation_id": cid}, needs_model=True) is not None)
    print(f"queued fact extraction for {queued} conversation(s); "
          "`engram jobs run` does it now, the app does it in the background")
    return 0


def run_cancel(args, ctx) -> int:
    n = ctx.engram.jobs.cancel(args.kind or None)
    print(f"cancelled {n} queued job(s)")
    return 0


def run_run(args, ctx) -> int:
    from core.runtime.factory import open_llm
    from core.services.engine import SiblingEngram
    from core.services.memory_worker import MemoryWorker

    eng = ctx.engram
    if eng.jobs.pending() == 0:
        print("nothing to do")
        return 0
    llm = open_llm(ctx.layout, eng.settings.model, path=args.model)
    background = SiblingEngram(eng)       # the worker's thread, its own connection
    worker = MemoryWorker(background, lambda: llm)
    report = _Report(eng)
    thread = threading.Thread(target=_drain, args=(worker, report.done), daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.5)
            report.show()
    except KeyboardInterrupt:
        print("\nstopping at a safe point ...", file=sys.stderr)
        worker._stop.set()
        thread.join()
    finally:
        report.show()
        close = getattr(llm, "close", None)
        if close:
            close()
        background.close()
    left = eng.jobs.pending()
    print(f"{len(report.done)} job(s) run" + (f", {left} still queued" if left else ""))
    return 0


def _drain(worker, done: list) -> None:
    """Run queued jobs until none is left or the worker is asked to stop."""
    worker.engram.jobs.recover()
    while not worker._stop.is_set():
        job = worker.run_once()
        if job is None:
            return
        done.append(job)


def job_outcome(job) -> str:
    """A finished job in words: a model answer the gates refused stored nothing, which is the
    checks working, not the job breaking."""
    error = job.error or ""
    if job.status == "failed" and "refused" in error:
        return f"nothing stored, the model's answer was refused: {error}"
    return f"{job.status}: {error}" if job.status == "failed" and error else job.status


class _Report:
    """Prints each finished job once (with why it failed), and the facts job's progress."""

    def __init__(self, eng: Engram) -> None:
        self.eng = eng
        self.done: list = []
        self._shown = 0

    def show(self) -> None:
        for job in self.done[self._shown:]:
            if job.kind != kinds.INDEX_SYNC:
                print(f"{job.kind:<22} {job_outcome(job)}", flush=True)
        self._shown = len(self.done)
        running = [j for j in self.eng.jobs.list("running", 5) if j.kind == kinds.EXTRACT_FACTS]
        if running and sys.stderr.isatty():
            print(f"\rfacts: {_progress(running[0])}   ", end="", file=sys.stderr, flush=True)
