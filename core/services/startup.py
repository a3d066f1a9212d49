"""What to do when a data folder is opened after the app may have been killed.

SQLite's WAL makes every committed transaction durable and rolls back the rest by itself; what
remains is Engram's own bookkeeping: jobs left 'running', imports left 'running', purges left
unfinished (core.store.purge_journal), and a vector index that may lag behind SQLite. `recover` puts
all four right. It is idempotent and cheap
when nothing is wrong, and is run at start-up off the GUI thread (and by `engram doctor`).
"""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from core.base.errors import EngramError
from core.services.engine import Engram

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    jobs_requeued: int = 0
    imports_interrupted: int = 0
    index_missing: int = 0
    index_orphans: int = 0
    index_stale: int = 0
    index_synced: int = 0
    purges_finished: int = 0
    purges_unfinished: int = 0        # still journalled: the next start (or doctor) retries

    @property
    def anything(self) -> bool:
        return any(vars(self).values())


def recover(eng: Engram, *, check_index: bool = True, jobs: bool = True) -> RecoveryReport:
    """`jobs=False` when a job worker is already running (it recovers its queue itself)."""
    report = RecoveryReport()
    if jobs:
        report.jobs_requeued = eng.jobs.recover()
    report.imports_interrupted = eng.imports.cancel_running()
    _finish_purges(eng, report)
    if check_index and _index_may_have_drifted(eng):
        sync = eng.index_sync
        doctor = sync.doctor(repair=True)
        report.index_missing = len(doctor.missing_in_index)
        report.index_orphans = len(doctor.orphans_in_index)
        report.index_stale = len(doctor.stale)
        report.index_synced = sync.sync().embedded
    if report.anything:
        log.info("start-up recovery: %s", report)
    return report


def _finish_purges(eng: Engram, report: RecoveryReport) -> None:
    """Purges an earlier run left unfinished are finished before anything else reads the
    data folder. A failure (a full disk, an unreachable index) is logged and left journalled:
    start-up goes on, and `engram doctor` reports it."""
    from core.services.purge import finish_pending
    from core.store import purge_journal

    if not purge_journal.pending(eng.db):
        return
    try:
        report.purges_finished = len(finish_pending(eng))
    except (EngramError, OSError, sqlite3.Error) as exc:
        log.warning("start-up could not finish a purge: %s", exc)
    report.purges_unfinished = len(purge_journal.pending(eng.db))


def _index_may_have_drifted(eng: Engram) -> bool:
    """A cheap check (two counts) before the full comparison, which reads every id and
    metadata record from Chroma (seconds at 100k memories). Work a crash interrupted always
    leaves memories whose indexed version lags, or counts that differ."""
    if eng.index_sync.pending_count():
        return True
    return eng.index.count() != eng.memories.count_indexable()
