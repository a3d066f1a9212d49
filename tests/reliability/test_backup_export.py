from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.base.errors import EngramError
from core.memory.episodic import remember_messages
from core.services.engine import Engram
from core.services.export import export_json, export_markdown, restore
from core.services.purge import purge_memories
from core.store.backup import backup_now, list_backups, maybe_backup


def populate(eng: Engram) -> dict[str, str]:
    conv = eng.conversations.create("Garden plans")
    u = eng.conversations.add_message(conv.id, "user", "Plant tomatoes in April", created_at=10)
    a = eng.conversations.add_message(conv.id, "assistant", "Good idea, after frost", created_at=11)
    eng.conversations.add_message(conv.id, "assistant", "Maybe May", parent_id=u.id, created_at=12)
    remember_messages(eng.memories, [u, a], actor="user")
    older = eng.memories.create("thought", "User gardens", actor="assistant")
    newer = eng.memories.create("thought", "User grows tomatoes", actor="assistant")
    eng.memories.supersede(older.id, newer.id, actor="assistant", event="merged")
    eng.memories.edit(newer.id, "User grows tomatoes every spring")
    return {"conversation": conv.id, "newer": newer.id}


def comparable(path: Path) -> dict:
    data = json.loads(path.read_text("utf-8"))
    data.pop("exported_at")
    for row in data["memories"]:
        row.pop("indexed_version")
    return data


def test_json_export_restores_to_an_identical_export(engram, tmp_path: Path) -> None:
    populate(engram)
    n_memories = engram.memories.count(statuses=None)
    first = tmp_path / "export.json"
    report = export_json(engram, first)
    assert report.counts["messages"] == 3 and report.counts["memories"] == n_memories

    fresh = Engram.open(tmp_path / "other-home")
    fresh._embedder = engram.embedder
    added = restore(fresh, first).added
    assert added["messages"] == 3 and added["memory_events"] == report.counts["memory_events"]
    assert fresh.index.count() == n_memories
    again = restore(fresh, first, reindex=False).added
    assert sum(again.values()) == 0  # idempotent
    second = tmp_path / "export2.json"
    export_json(fresh, second)
    assert comparable(second) == comparable(first)
    fresh.close()


def test_restore_refuses_other_files(engram, tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": []}')
    with pytest.raises(EngramError, match="not an Engram export"):
        restore(engram, bogus)


def test_markdown_export_has_threads_and_memories(engram, tmp_path: Path) -> None:
    populate(engram)
    n_memories = engram.memories.count(statuses=None)
    report = export_markdown(engram, tmp_path / "md")
    files = sorted(p.name for p in (tmp_path / "md").iterdir())
    assert "memories.md" in files and any(f.startswith("Garden-plans-") for f in files)
    conv_md = next((tmp_path / "md").glob("Garden-plans-*.md")).read_text()
    assert "Maybe May" in conv_md and "Good idea" not in conv_md  # the visible branch only
    assert "User grows tomatoes every spring" in (tmp_path / "md" / "memories.md").read_text()
    assert report.counts == {"conversations": 1, "memories": n_memories}


def test_backups_rotate_are_consistent_and_purge_rewrites_them(engram, tmp_path: Path) -> None:
    marker = "heron-basalt-3312"
    mem = engram.memories.create("fact", f"code {marker}", actor="user")
    backups = engram.layout.backups_dir
    for _ in range(4):
        backup_now(engram.db, backups, keep=3)
    assert len(list_backups(backups)) == 3
    assert maybe_backup(engram.db, backups) is None  # a recent one exists
    newest = list_backups(backups)[-1]
    check = sqlite3.connect(newest)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("SELECT text FROM memories").fetchone()[0] == f"code {marker}"
    check.close()
    purge_memories(engram, [mem.id])
    remaining = list_backups(backups)
    assert len(remaining) == 1
    assert all(marker.encode() not in p.read_bytes() for p in remaining)
