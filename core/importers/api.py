"""The import service: detect, dry run, import, embed. See the package docstring."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from core.base import clock
from core.base.ids import new_id
from core.importers.containers import Container, open_container
from core.importers.detect import LABELS, PARSERS, DetectedFormat, detect_container
from core.importers.model import ArchiveError, ParsedConversation, Skipped
from core.importers.report import ImportProgress, ImportReport
from core.importers.store import ImportWriter
from core.importers.stream import ByteCounter
from core.store.db import bulk_writes, transaction

if TYPE_CHECKING:
    from core.services.engine import Engram

log = logging.getLogger(__name__)
ProgressFn = Callable[[ImportProgress], None]
PURGED_EARLIER = "conversation purged earlier (not imported again)"
CancelFn = Callable[[], bool]


def detect(path: Path | str) -> DetectedFormat:
    """Which formats `path` (a file, a zip or a folder) holds. Raises ArchiveError naming what
    was seen when nothing is recognised."""
    with open_container(path) as container:
        return detect_container(container)


def dry_run(path: Path | str, progress: ProgressFn | None = None,
            cancelled: CancelFn | None = None) -> ImportReport:
    """Parse everything, count, write nothing."""
    return _run(path, None, progress, cancelled)


def run_import(engram: Engram, path: Path | str, progress: ProgressFn | None = None,
               cancelled: CancelFn | None = None, *, embed: bool = True) -> ImportReport:
    """Import `path` into `engram`, then (if `embed`) embed the new memories."""
    report = _run(path, engram, progress, cancelled)
    if embed and report.status == "completed":
        embed_pending(engram, report, progress, cancelled)
    return report


def embed_pending(engram: Engram, report: ImportReport | None = None,
                  progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> int:
    """Bring the vector index up to date (cancellable: what is left is done next time)."""
    sync = engram.index_sync
    total = sync.pending_count()

    def step(done: int, all_: int) -> None:
        if progress:
            progress(ImportProgress("embedding", embedded=done, embed_total=all_))

    result = sync.sync(progress=step, cancelled=cancelled)
    if report is not None:
        report.embedded = result.embedded
    log.info("embedded %d of %d pending memories%s", result.embedded, total,
             " (cancelled)" if result.cancelled else "")
    return result.embedded


def file_hash(container: Container) -> str:
    path = container.path
    digest = hashlib.sha256()
    if container.kind == "folder":
        for entry in container.entries:
            digest.update(f"{entry.name}\x1f{entry.size}\n".encode())
        return "folder:" + digest.hexdigest()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _conversations(container: Container, detected: DetectedFormat, counter: ByteCounter,
                   report: ImportReport) -> Iterator[ParsedConversation]:
    entries = {e.name: e for e in container.entries}
    for name, fmt in detected.files.items():
        reader = entries[name].open(counter)
        try:
            for item in PARSERS[fmt](reader):
                if isinstance(item, Skipped):
                    report.skip(item)
                else:
                    yield item
        except ArchiveError as exc:
            report.errors.append(str(exc))
        except RecursionError:
            report.errors.append(f"{name}: structure nested too deeply")
        finally:
            reader.close()


def _run(path: Path | str, engram: Engram | None, progress: ProgressFn | None,
         cancelled: CancelFn | None) -> ImportReport:
    started = time.monotonic()
    with open_container(path) as container:
        detected = detect_container(container)
        report = ImportReport(str(path), container.kind, [LABELS[f] for f in detected.formats],
                              dict(detected.files), dict(detected.unrecognised),
                              dry_run=engram is None)
        for item in container.refused:
            report.skip(item)
        total = sum(e.size for e in container.entries if e.name in detected.files)
        counter = ByteCounter()
        writer = _begin(engram, container, detected, report) if engram is not None else None
        with bulk_writes(engram.db) if engram is not None else nullcontext():
            try:
                for conv in _conversations(container, detected, counter, report):
                    if writer is not None and writer.purged_earlier(conv):
                        # named by its id only: its title is what the purge erased
                        report.skip(Skipped(PURGED_EARLIER, item=writer.conversation_id(conv)))
                        continue
                    report.count(conv)
                    if writer is not None:
                        written = writer.write(conv)
                        report.new_conversations += written.new_conversation
                        report.new_messages += written.new_messages
                        report.memories_created += written.memories
                        report.jobs_queued += written.job_queued
                    if progress:
                        progress(ImportProgress("reading", counter.value, total,
                                                report.conversations, report.messages))
                    if cancelled and cancelled():
                        report.status = "cancelled"
                        break
                else:
                    report.status = "failed" if report.errors else "completed"
            except BaseException as exc:
                report.status = "failed"
                report.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                raise
            finally:
                report.seconds = round(time.monotonic() - started, 3)
                if engram is not None:
                    _finish(engram, report)
    if report.status == "failed":
        done = (f"; {report.new_conversations} conversations before it were imported"
                if engram is not None and report.new_conversations else "")
        raise ArchiveError(f"{report.errors[0]}{done}")
    return report


def _begin(engram: Engram, container: Container, detected: DetectedFormat,
           report: ImportReport) -> ImportWriter:
    digest = file_hash(container)
    import_id = new_id()
    report.import_id = import_id
    with transaction(engram.db):
        # A run of the same file that never finished (a crash) is over; this one continues it.
        engram.db.execute(
            "UPDATE imports SET status = 'cancelled', finished_at = ? WHERE file_hash = ?"
            " AND status = 'running'", [clock.now(), digest])
        engram.db["imports"].insert({
            "id": import_id, "file_name": container.path.name[:500], "file_hash": digest,
            "format": ",".join(detected.formats), "status": "running",
            "started_at": clock.now(), "counts": "{}", "report": "{}"})
    return ImportWriter(engram.conversations, engram.memories, engram.jobs, import_id)


def _finish(engram: Engram, report: ImportReport) -> None:
    status = report.status if report.status != "running" else "failed"
    engram.db.execute(
        "UPDATE imports SET status = ?, finished_at = ?, counts = ?, report = ? WHERE id = ?",
        [status, clock.now(), json.dumps(report.counts()),
         json.dumps({"skipped_by_reason": report.skipped_by_reason,
                     "skipped": report.skipped, "errors": report.errors,
                     "files": report.files, "unrecognised_files": report.unrecognised_files},
                    ensure_ascii=False), report.import_id])
