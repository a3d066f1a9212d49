"""Imports: one row per archive imported (or being imported), with its counts and report.

A run of the same file that never finished (a crash) is marked cancelled when the file is
imported again, and at start-up (core.services.startup). Reports list skipped items by their
conversation's title or archive id; a purge rewrites them (core.services.purge).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlite_utils

from core.base import clock
from core.base.ids import new_id
from core.store.db import export_rows, insert_missing, transaction

Report = dict[str, Any]


class ImportStore:
    """Owns `imports`."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def begin(self, file_name: str, file_hash: str, formats: Sequence[str]) -> str:
        """A new running import; an unfinished run of the same file is over."""
        import_id = new_id()
        with transaction(self.db):
            self.db.execute(
                "UPDATE imports SET status = 'cancelled', finished_at = ? WHERE file_hash = ?"
                " AND status = 'running'", [clock.now(), file_hash])
            self.db.execute(
                "INSERT INTO imports (id, file_name, file_hash, format, status, started_at,"
                " counts, report) VALUES (?, ?, ?, ?, 'running', ?, '{}', '{}')",
                [import_id, file_name[:500], file_hash, ",".join(formats), clock.now()])
        return import_id

    def finish(self, import_id: str, status: str, counts: dict[str, int], report: Report) -> None:
        self.db.execute(
            "UPDATE imports SET status = ?, finished_at = ?, counts = ?, report = ? WHERE id = ?",
            [status, clock.now(), json.dumps(counts), json.dumps(report, ensure_ascii=False),
             import_id])

    def cancel_running(self) -> int:
        """Imports a killed process left running: cancelled, marked interrupted."""
        return self.db.execute(
            "UPDATE imports SET status = 'cancelled', finished_at = ?,"
            " report = json_set(report, '$.interrupted', 1) WHERE status = 'running'",
            [clock.now()]).rowcount

    def list(self, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""
        return [dict(r) for r in self.db.query(
            "SELECT id, file_name, format, status, started_at, finished_at, counts FROM imports"
            " ORDER BY started_at DESC LIMIT ?", [limit])]

    def get(self, import_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT file_name, format, started_at FROM imports"
                                  " WHERE id = ?", [import_id]))
        return dict(rows[0]) if rows else None

    def rewrite_reports(self, rewrite: Callable[[Report], Report]) -> int:
        """Apply `rewrite` to every report; returns how many changed."""
        changed = 0
        for import_id, raw in list(self.db.execute("SELECT id, report FROM imports")):
            report = json.loads(raw or "{}")
            cleaned = rewrite(report)
            if cleaned != report:
                self.db.execute("UPDATE imports SET report = ? WHERE id = ?",
                                [json.dumps(cleaned, ensure_ascii=False), import_id])
                changed += 1
        return changed

    def reports_naming(self, labels: Iterable[str]) -> int:
        """How many reports hold one of these strings anywhere."""
        wanted = [lb for lb in labels if lb]
        if not wanted:
            return 0
        return sum(1 for (raw,) in self.db.execute("SELECT report FROM imports")
                   if any(lb in (raw or "") for lb in wanted))

    def export_rows(self) -> Iterable[dict[str, Any]]:
        return export_rows(self.db, "imports")

    def insert_missing(self, rows: list[dict[str, Any]]) -> int:
        return insert_missing(self.db, "imports", rows)
