"""The background memory worker: runs queued jobs after the answers, never before them.

Jobs live in SQLite (core.store.jobs), so they survive a restart; `recover` requeues what a killed
process left running. Jobs that need a model wait while `llm_provider()` returns None. A job
that fails is retried up to MAX_ATTEMPTS times; a model answer that cannot be used fails at
once (asking the same model again rarely helps).

Job kinds (core.store.jobs): index_sync, hema_update, post_think (facts from the latest exchange),
summarize_conversation and extract_facts (queued by importers), daily_summary, global_summary,
portrait, maintenance (MemoryBank sweep, HEMA pruning, and queueing the summaries of past days).

A model answer that fails a quality gate (core.memory.gates) fails its job with the reason,
which `engram info` and `engram memories jobs` show; nothing of it is stored. Facts over a
whole conversation go a few messages at a time and record where they are (`cursor` in the
payload): a stopped worker puts the job back at a safe point, a killed one resumes from there.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.base.llm import LLM
from core.memory import facts, hema, memorybank
from core.memory.generation import ModelAnswerError
from core.services.engine import Engram
from core.services.person_first import JobYielded, TurnGate, YieldingLLM
from core.store import jobs as kinds
from core.store.jobs import Job

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3

# What the status bar says a job is doing (a person reads these).
KIND_LABELS = {
    kinds.INDEX_SYNC: "Indexing memories",
    kinds.HEMA_UPDATE: "Updating the chat's running summary",
    kinds.POST_THINK: "Noting facts from the last exchange",
    kinds.SUMMARIZE_CONVERSATION: "Summarising an imported conversation",
    kinds.EXTRACT_FACTS: "Reading facts from an imported conversation",
    kinds.DAILY_SUMMARY: "Summarising a day",
    kinds.GLOBAL_SUMMARY: "Updating the overall summary",
    kinds.PORTRAIT: "Updating the portrait of you",
    kinds.MAINTENANCE: "Tidying memories",
}


@dataclass(frozen=True)
class Activity:
    """What the worker does now, for the status bar (read from the GUI thread: no I/O)."""
    running: str = ""          # a label from KIND_LABELS, "" when idle
    progress: str = ""         # "12/40" for a resumable job
    queued: int = 0            # jobs waiting (as of the last claim)
    paused: bool = False
    person_first: bool = False  # model jobs wait for the person (a turn, or just after one)


LLMProvider = Callable[[], LLM | None]


class MemoryWorker:
    def __init__(self, engram: Engram, llm_provider: LLMProvider,
                 gate: TurnGate | None = None) -> None:
        self.engram = engram
        self.llm_provider = llm_provider
        self.gate = gate or TurnGate()
        self.queued = 0                     # as of the last claim
        self.yielded = 0                    # jobs put back for the person's turn
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._job: Job | None = None       # the job being run (for progress)
        self.handlers: dict[str, Callable[[dict[str, Any], LLM | None], Any]] = {
            kinds.INDEX_SYNC: lambda p, llm: self.engram.index_sync.sync(),
            kinds.HEMA_UPDATE: lambda p, llm: hema.update_running_summary(
                self.engram, llm, p["conversation_id"], p["message_id"]),
            kinds.POST_THINK: self._post_think,
            kinds.SUMMARIZE_CONVERSATION: lambda p, llm: hema.summarize_conversation(
                self.engram, llm, p["conversation_id"]),
            kinds.EXTRACT_FACTS: self._extract_facts,
            kinds.DAILY_SUMMARY: self._daily,
            kinds.GLOBAL_SUMMARY: lambda p, llm: memorybank.global_summary(self.engram, llm),
            kinds.PORTRAIT: lambda p, llm: memorybank.overall_portrait(self.engram, llm),
            kinds.MAINTENANCE: self._maintenance,
        }

    # -- one step -------------------------------------------------------------------------
    def run_once(self) -> Job | None:
        """Claim and run one job. Returns it (with its final status), or None if idle.
        While the person's turn (or a pause) holds the model, none starts."""
        gate = self.gate
        if not gate.may_run():     # paused, or the person's turn: no job starts (an index
            return None            # sync too would compete with the turn's own search)
        shared = self.llm_provider()
        llm = YieldingLLM(shared, gate) if shared is not None else None
        jobs = self.engram.jobs
        job = jobs.claim(model_available=llm is not None, kinds=list(self.handlers))
        self.queued = jobs.queued()
        if job is None:
            return None
        self._job = job
        try:
            self.handlers[job.kind](job.payload, llm)
        except JobYielded:
            jobs.requeue(job.id)        # a handler that saved its cursor already did
            job.status = "queued"
            self.yielded += 1
            self.queued += 1
            log.info("memory job %s (%s) yielded to the person's turn", job.id, job.kind)
        except ModelAnswerError as exc:
            self.engram.jobs.finish(job.id, error=str(exc), retry=False)
            job.status, job.error = "failed", str(exc)
            log.info("memory job %s (%s) gave no usable answer", job.id, job.kind)
        except Exception as exc:
            retry = job.attempts < MAX_ATTEMPTS
            self.engram.jobs.finish(job.id, error=f"{type(exc).__name__}: {exc}", retry=retry)
            job.status, job.error = ("queued" if retry else "failed"), str(exc)
            log.warning("memory job %s (%s) failed (attempt %d)", job.id, job.kind,
                        job.attempts, exc_info=True)
        else:
            self.engram.jobs.finish(job.id)
            job.status = "done"
            if job.needs_model:     # what it wrote is searchable by meaning soon after
                self.engram.jobs.enqueue(kinds.INDEX_SYNC, {})
        finally:
            self._job = None
        return job

    def run_until_idle(self, max_jobs: int = 1000) -> int:
        done = 0
        while done < max_jobs and self.run_once() is not None:
            done += 1
        return done

    def activity(self) -> Activity:
        job, gate = self._job, self.gate
        progress = ""
        if job is not None and job.payload.get("total"):
            progress = f"{job.payload.get('cursor', 0)}/{job.payload['total']}"
        return Activity(running=KIND_LABELS.get(job.kind, job.kind) if job else "",
                        progress=progress, queued=self.queued, paused=gate.paused,
                        person_first=not gate.paused and not gate.may_run())

    # -- a thread ---------------------------------------------------------------------------
    def start(self, *, idle_seconds: float = 2.0) -> None:
        """Run in a daemon thread until `stop`. Requeues jobs a previous run left running and
        queues one maintenance pass."""
        if self._thread and self._thread.is_alive():
            return
        self.engram.jobs.recover()
        self.engram.jobs.enqueue(kinds.MAINTENANCE, {})
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(idle_seconds,),
                                        name="engram-memory-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self, idle_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                job = self.run_once()
            except Exception:
                log.warning("memory worker step failed", exc_info=True)
                job = None
            if job is None:
                self._stop.wait(idle_seconds)
            elif job.status == "queued" and not self._stop.is_set():
                # it yielded: wait for the person's turn to end (a stop wakes us too)
                while not self._stop.is_set() and not self.gate.wait_until_allowed(0.2):
                    pass

    # -- handlers ---------------------------------------------------------------------------
    def _post_think(self, payload: dict[str, Any], llm: LLM | None) -> None:
        outcome = facts.post_think(self.engram, llm, payload["conversation_id"],
                                   payload["message_id"])
        _fail_if_all_refused(outcome)
        if outcome.stored:
            self.engram.jobs.enqueue(kinds.INDEX_SYNC, {})

    def _extract_facts(self, payload: dict[str, Any], llm: LLM | None) -> None:
        """Facts over a conversation's visible thread, a chunk at a time, resumable."""
        eng = self.engram
        job = self._job
        thread = facts.extractable_thread(eng, payload["conversation_id"])

        def progress(end: int) -> None:
            if job is not None:
                job.payload = {**payload, "cursor": end, "total": len(thread)}
                eng.jobs.save_progress(job.id, job.payload)

        outcome, resume = facts.extract_thread(
            eng, llm, thread, cursor=int(payload.get("cursor", 0)),
            should_yield=lambda: job is not None and (self._stop.is_set()
                                                      or not self.gate.may_run()),
            on_progress=progress)
        if outcome.stored:
            eng.jobs.enqueue(kinds.INDEX_SYNC, {})
        if resume is not None:
            eng.jobs.release(job.id, {**payload, "cursor": resume, "total": len(thread)})
            raise JobYielded()
        _fail_if_all_refused(outcome)

    def _daily(self, payload: dict[str, Any], llm: LLM | None) -> None:
        """The day's summary and the day's portrait: one refused does not stop the other."""
        date = payload["date"]
        refused = []
        for step in (memorybank.daily_summary, memorybank.daily_portrait):
            try:
                step(self.engram, llm, date)
            except ModelAnswerError as exc:
                refused.append(str(exc))
        if refused:
            raise ModelAnswerError(" ".join(refused))

    def _maintenance(self, payload: dict[str, Any], llm: LLM | None) -> None:
        eng = self.engram
        # find the days to summarise before anything of them fades
        days = memorybank.days_needing_summary(eng) if eng.settings.memory.memorybank_enabled \
            else []
        if eng.settings.memory.memorybank_enabled and eng.settings.memory.forgetting_sweep:
            memorybank.sweep(eng)
        if eng.settings.memory.hema_enabled:
            hema.prune_old_chunks(eng)
        for date in days:
            eng.jobs.enqueue(kinds.DAILY_SUMMARY, {"date": date}, needs_model=True)
        if days:
            eng.jobs.enqueue(kinds.GLOBAL_SUMMARY, {}, needs_model=True)
            eng.jobs.enqueue(kinds.PORTRAIT, {}, needs_model=True)
        eng.jobs.enqueue(kinds.INDEX_SYNC, {})


def _fail_if_all_refused(outcome: facts.FactOutcome) -> None:
    """An answer whose every line was refused fails its job with the reasons."""
    if outcome.refused and not (outcome.stored or outcome.duplicates):
        raise ModelAnswerError(f"Every fact the model wrote was refused: "
                               f"{facts.describe(outcome)}")
