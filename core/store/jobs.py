"""A durable queue of background work (summaries, thoughts, portraits, embedding), and the
one place the kinds of job are named.

Rows live in the `jobs` table, so queued work survives a restart. Work that needs a model
(`needs_model`) waits until one is loaded. A job left 'running' by a killed process is put
back to 'queued' by `recover`.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from core.base import clock
from core.store.db import export_rows, transaction

# The kinds of job, in one place (the chat, the importers and the memory worker use these).
INDEX_SYNC = "index_sync"
HEMA_UPDATE = "hema_update"
POST_THINK = "post_think"                    # facts from the latest exchange, after an answer
SUMMARIZE_CONVERSATION = "summarize_conversation"
EXTRACT_FACTS = "extract_facts"              # facts over a whole (imported) conversation
DAILY_SUMMARY = "daily_summary"
GLOBAL_SUMMARY = "global_summary"
PORTRAIT = "portrait"
MAINTENANCE = "maintenance"


@dataclass
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    status: str
    needs_model: bool
    attempts: int
    created_at: float
    error: str | None


def _job(row: dict[str, Any]) -> Job:
    return Job(row["id"], row["kind"], json.loads(row["payload"] or "{}"), row["status"],
               bool(row["needs_model"]), row["attempts"], row["created_at"], row["error"])


class JobQueue:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def enqueue(self, kind: str, payload: dict[str, Any] | None = None, *,
                needs_model: bool = False, dedupe: bool = True) -> int | None:
        """Add a job; with `dedupe`, an identical queued job is not added twice (returns None)."""
        text = json.dumps(payload or {}, sort_keys=True)
        with transaction(self.db):
            if dedupe and self.db.execute(
                    "SELECT 1 FROM jobs WHERE kind = ? AND payload = ? AND status = 'queued'",
                    [kind, text]).fetchone():
                return None
            ts = clock.now()
            cur = self.db.execute(
                "INSERT INTO jobs (kind, payload, needs_model, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)", [kind, text, int(needs_model), ts, ts])
            return cur.lastrowid

    def claim(self, *, model_available: bool, kinds: list[str] | None = None) -> Job | None:
        """Take the oldest runnable job and mark it running."""
        sql = "SELECT * FROM jobs WHERE status = 'queued'"
        params: list[Any] = []
        if not model_available:
            sql += " AND needs_model = 0"
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += kinds
        sql += " ORDER BY created_at, id LIMIT 1"
        with transaction(self.db):
            rows = list(self.db.query(sql, params))
            if not rows:
                return None
            self.db.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = ?"
                " WHERE id = ?", [clock.now(), rows[0]["id"]])
        job = _job(rows[0])
        job.status, job.attempts = "running", job.attempts + 1
        return job

    def finish(self, job_id: int, *, error: str | None = None, retry: bool = False) -> None:
        status = "queued" if (error and retry) else ("failed" if error else "done")
        self.db.execute("UPDATE jobs SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                        [status, error, clock.now(), job_id])

    def release(self, job_id: int, payload: dict[str, Any]) -> None:
        """Put a running job back in the queue with its progress in `payload` (it stopped at a
        safe point and goes on from there); the attempt does not count."""
        self.db.execute(
            "UPDATE jobs SET status = 'queued', payload = ?, attempts = max(0, attempts - 1),"
            " updated_at = ? WHERE id = ?",
            [json.dumps(payload, sort_keys=True), clock.now(), job_id])

    def requeue(self, job_id: int) -> bool:
        """Put a job that is still running back in the queue as it is (it was stopped for the
        person's turn; its saved progress stays); the attempt does not count."""
        return self.db.execute(
            "UPDATE jobs SET status = 'queued', attempts = max(0, attempts - 1), updated_at = ?"
            " WHERE id = ? AND status = 'running'", [clock.now(), job_id]).rowcount > 0

    def queued(self, *, needs_model: bool | None = None) -> int:
        """How many jobs wait (not counting one that runs)."""
        sql = "SELECT count(*) FROM jobs WHERE status = 'queued'"
        if needs_model is not None:
            sql += f" AND needs_model = {int(needs_model)}"
        return self.db.execute(sql).fetchone()[0]

    def save_progress(self, job_id: int, payload: dict[str, Any]) -> None:
        """Record a running job's progress, so that a killed process resumes from there."""
        self.db.execute("UPDATE jobs SET payload = ?, updated_at = ? WHERE id = ?",
                        [json.dumps(payload, sort_keys=True), clock.now(), job_id])

    def cancel(self, kinds: list[str] | None = None) -> int:
        """Cancel queued jobs (of `kinds`, or all). Returns how many."""
        sql, params = "UPDATE jobs SET status = 'cancelled', updated_at = ? WHERE status = 'queued'", [clock.now()]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += kinds
        return self.db.execute(sql, params).rowcount

    def recover(self) -> int:
        """Requeue jobs a killed process left running. Returns how many."""
        return self.db.execute(
            "UPDATE jobs SET status = 'queued', updated_at = ? WHERE status = 'running'",
            [clock.now()]).rowcount

    def pending(self, *, needs_model: bool | None = None) -> int:
        sql = "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"
        if needs_model is not None:
            sql += f" AND needs_model = {int(needs_model)}"
        return self.db.execute(sql).fetchone()[0]

    def count(self, status: str) -> int:
        return self.db.execute("SELECT count(*) FROM jobs WHERE status = ?",
                               [status]).fetchone()[0]

    def list(self, status: str | None = None, limit: int = 100) -> list[Job]:
        sql, params = "SELECT * FROM jobs", []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [_job(r) for r in self.db.query(sql, params)]

    def cancel_naming(self, ids: set[str]) -> int:
        """Queued work about what is purged (a summary of the conversation, thoughts on a
        message) would read it again or fail: cancel it. Finished jobs keep only their ids,
        and lose any error text. Returns how many were cancelled."""
        if not ids:
            return 0
        cancelled = 0
        rows = list(self.db.execute("SELECT id, payload, status FROM jobs"))
        for job_id, payload, status in rows:
            try:
                values = json.loads(payload or "{}")
            except ValueError:
                continue
            named = {v for v in (values.values() if isinstance(values, dict) else [])
                     if isinstance(v, str)}
            if not named & ids:
                continue
            if status in ("queued", "running"):
                self.db.execute("UPDATE jobs SET status = 'cancelled', error = 'purged'"
                                " WHERE id = ?", [job_id])
                cancelled += 1
            else:
                self.db.execute("UPDATE jobs SET error = NULL WHERE id = ?", [job_id])
        return cancelled

    def export_queued(self) -> Iterator[dict[str, Any]]:
        """Queued work, for an export (a restore queues it again)."""
        return export_rows(self.db, "jobs", columns="kind, payload, needs_model, created_at",
                           where="status = 'queued'", order="id")
