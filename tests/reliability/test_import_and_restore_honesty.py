"""What an import or a restore leaves out or cuts is said, with counts: a message cut at the
length bound, a conversation purged earlier, rows of an old export that a purge removed."""
from __future__ import annotations

import json
from pathlib import Path

from core.importers import run_import
from core.importers.report import TRUNCATED_TEXT
from core.importers.text import MAX_TEXT_CHARS
from core.services.engine import Engram
from core.services.export import export_json, restore
from core.services.purge import purge_conversation
from tests.reliability.archive_maker import chatgpt_export
from tests.reliability.failing_env import run_engram


def test_a_message_cut_at_the_length_bound_is_counted_in_the_report(tmp_path: Path) -> None:
    archive = chatgpt_export(tmp_path / "c.json", conversations=2, messages=2,
                             huge_message_chars=MAX_TEXT_CHARS + 5000)
    home = tmp_path / "home"
    out = run_engram(home, "import", "--no-embed", "--json", str(archive))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["lossy"] == {TRUNCATED_TEXT: 1}
    out = run_engram(home, "import", "--no-embed", "--dry-run", str(archive))
    assert "shortened      1" in out.stdout and TRUNCATED_TEXT in out.stdout
    eng = Engram.open(home)
    counts = json.loads(eng.db.execute("SELECT counts FROM imports").fetchone()[0])
    assert counts["lossy_count"] == 1 and counts[f"lossy: {TRUNCATED_TEXT}"] == 1
    eng.close()


def test_a_purged_conversation_is_not_imported_again(engram, tmp_path: Path) -> None:
    archive = chatgpt_export(tmp_path / "c.json", conversations=3, messages=4,
                             words_per_message=8)
    run_import(engram, archive, embed=False)
    victim = next(c for c in engram.conversations.list() if c.title.endswith(" 1"))
    purge_conversation(engram, victim.id)
    again = run_import(engram, archive, embed=False)
    assert again.new_conversations == 0 and engram.conversations.count() == 2
    assert again.skipped_by_reason["conversation purged earlier (not imported again)"] == 1
    assert victim.title not in json.dumps(again.to_dict())


def test_an_old_export_does_not_bring_a_purged_conversation_back(
        engram, tmp_path: Path, embedder) -> None:
    archive = chatgpt_export(tmp_path / "c.json", conversations=3, messages=4,
                             words_per_message=8)
    run_import(engram, archive, embed=False)
    victim = next(c for c in engram.conversations.list() if c.title.endswith(" 1"))
    old_export = tmp_path / "before-the-purge.json"
    export_json(engram, old_export)
    purge_conversation(engram, victim.id)
    new_export = tmp_path / "after-the-purge.json"
    export_json(engram, new_export)

    # into the same data folder: its own tombstones keep the conversation out
    again = restore(engram, old_export, reindex=False)
    assert again.left_out_purged > 0 and sum(again.added.values()) == 0
    assert engram.conversations.count() == 2

    # into a fresh one: the old export first (it knows nothing of the purge), then the new
    # one, whose tombstones purge what the old one brought in
    fresh = Engram.open(tmp_path / "fresh")
    fresh._embedder = embedder
    try:
        restore(fresh, old_export, reindex=False)
        assert fresh.conversations.count() == 3
        later = restore(fresh, new_export, reindex=False)
        assert later.purged_after > 0
        assert fresh.conversations.count() == 2
        assert victim.title not in json.dumps([c.title for c in fresh.conversations.list()])
        once_more = restore(fresh, old_export, reindex=False)
        assert fresh.conversations.count() == 2 and once_more.left_out_purged > 0
    finally:
        fresh.close()


def test_queued_memory_work_travels_with_an_export(engram, tmp_path: Path, embedder) -> None:
    archive = chatgpt_export(tmp_path / "c.json", conversations=2, messages=4,
                             words_per_message=8)
    run_import(engram, archive, embed=False)
    queued = engram.db.execute("SELECT count(*) FROM jobs WHERE status = 'queued'").fetchone()[0]
    assert queued >= 2                     # a summary job (at least) per conversation
    export = tmp_path / "e.json"
    assert export_json(engram, export).counts["jobs"] == queued
    fresh = Engram.open(tmp_path / "fresh")
    fresh._embedder = embedder
    try:
        restore(fresh, export, reindex=False)
        assert fresh.db.execute(
            "SELECT count(*) FROM jobs WHERE status = 'queued'").fetchone()[0] == queued
    finally:
        fresh.close()
