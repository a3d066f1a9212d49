"""The import service: detect, dry run, import, embed. See the package docstring."""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

from core.base.progress import OnProgress, Progress, ShouldStop
from core.importers.containers import Container, open_container
from core.importers.detect import LABELS, PARSERS, DetectedFormat, detect_container
from core.importers.model import ArchiveError, ParsedConversation, Skipped
from core.importers.report import ImportReport
from core.importers.store import ImportWriter
from core.importers.stream import ByteCounter
from core.services.engine import Engram
from core.store.db import bulk_writes

log = logging.getLogger(__name__)
PURGED_EARLIER = "conversation purged earlier (not imported again)"


def detect(path: Path | str) -> DetectedFormat:
    """Which formats `path` (a file, a zip or a folder) holds. Raises ArchiveError naming what
    was seen when nothing is recognised."""
    with open_container(path) as container:
        return detect_container(container)


def dry_run(path: Path | str, progress: OnProgress | None = None,
            should_stop: ShouldStop | None = None) -> ImportReport:
    """Parse everything, count, write nothing."""
    return _run(path, None, progress, should_stop)


def run_import(engram: Engram, path: Path | str, progress: OnProgress | None = None,
               should_stop: ShouldStop | None = None, *, embed: bool = True) -> ImportReport:
    """Import `path` into `engram`, then (if `embed`) embed the new memories."""
    report = _run(path, engram, progress, should_stop)
    if report.import_id and report.status in ("completed", "cancelled"):
        from core.importers.projects import assign_projects

        assign_projects(engram, report.import_id)      # projects: memory scopes of their own
    if embed and report.status == "completed":
        embed_pending(engram, report, progress, should_stop)
    return report


def embed_pending(engram: Engram, report: ImportReport | None = None,
                  progress: OnProgress | None = None,
                  should_stop: ShouldStop | None = None) -> int:
    """Bring the vector index up to date (stoppable: what is left is done next time)."""
    sync = engram.index_sync
    total = sync.pending_count()
    result = sync.sync(progress=progress, should_stop=should_stop)
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


def _run(path: Path | str, engram: Engram | None, progress: OnProgress | None,
         should_stop: ShouldStop | None) -> ImportReport:
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
                        progress(Progress(counter.value, total, "reading", {
                            "conversations": report.conversations,
                            "messages": report.messages}))
                    if should_stop and should_stop():
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
    # A run of the same file that never finished (a crash) is over; this one continues it.
    report.import_id = engram.imports.begin(container.path.name, file_hash(container),
                                            detected.formats)
    return ImportWriter(engram, report.import_id)


def _finish(engram: Engram, report: ImportReport) -> None:
    status = report.status if report.status != "running" else "failed"
    engram.imports.finish(report.import_id, status, report.counts(), {
        "skipped_by_reason": report.skipped_by_reason, "skipped": report.skipped,
        "errors": report.errors, "files": report.files,
        "unrecognised_files": report.unrecognised_files})
