"""Importing conversation archives from other assistants (Qt-free).

Formats, recognised from content (a file, a zip, or a folder of an unpacked export):
ChatGPT (`conversations.json` array or single object, split `conversations-000.json` with
`export_manifest.json`), Claude, Open WebUI, SillyTavern JSONL, Gemini Takeout
`My Activity.json`, LM Studio `*.conversation.json`, Markdown/text and JSONL transcripts.

API (call it from a worker thread; every call is safe to cancel):

    detect(path) -> DetectedFormat
        .formats (["chatgpt", ...]), .label ("ChatGPT"), .files {entry: format},
        .unrecognised {entry: what it looked like}. Raises ArchiveError when nothing fits.
    dry_run(path, progress=None, should_stop=None) -> ImportReport
        parses everything and counts; writes nothing.
    run_import(engram, path, progress=None, should_stop=None, *, embed=True) -> ImportReport
        stores conversations, messages (tree, branches, hidden flags) and episodic memories,
        one transaction per conversation; queues "summarize_conversation" and "extract_facts" jobs
        ({"conversation_id": ...}, needs_model=True) per conversation that got new messages;
        then embeds the new memories (IndexSync.sync) unless embed=False.
    embed_pending(engram, report=None, progress=None, should_stop=None) -> int
        the embedding step alone (e.g. resumed later).

`progress(Progress)` (core.base.progress) is called after each conversation (phase
"reading": bytes of the archive files read and in all, counts of conversations and messages)
and after each embedding batch (phase "embedding": memories embedded and in all);
`.fraction` is in [0, 1]. `should_stop()` is checked between conversations and between
embedding batches; a stopped import keeps every conversation
already committed (report.status == "cancelled"), and importing the same file again continues
where it stopped: ids are stable, so nothing is stored twice.

ImportReport: formats, conversations, messages, hidden_messages, branches, first/last
message times, new_conversations, new_messages, memories_created, jobs_queued, embedded,
skipped_count, skipped_by_reason, skipped (first 200), errors, status, import_id;
`.to_dict()` for JSON. Only `ArchiveError` (an EngramError) escapes for a bad archive: an
unreadable file, an unknown format, invalid JSON (conversations read before the error stay
imported), a zip bomb or path traversal, absurd nesting or string sizes.
"""
from __future__ import annotations

from core.importers.api import detect, dry_run, embed_pending, run_import
from core.importers.detect import DetectedFormat
from core.importers.model import ArchiveError
from core.importers.report import ImportReport

__all__ = ["ArchiveError", "DetectedFormat", "ImportReport", "detect",
           "dry_run", "embed_pending", "run_import"]
