"""Kill the process (SIGKILL) in the middle of work, reopen, and check nothing is damaged."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.services.engine import Engram
from core.services.startup import recover

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crash_child.py")


def run_and_kill(home: Path, action: str, after: float | Callable[[], bool],
                 *extra: str) -> None:
    """Start the child, wait `after` seconds (or until `after()` is true), SIGKILL it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(home), action, *extra], cwd=ROOT,
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() in ("READY", "STREAMING"), proc.stderr.read()
    if callable(after):
        deadline = time.monotonic() + 120
        while not after() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
    else:
        time.sleep(after)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.3, 1.1])
def test_kill_during_memory_edits_keeps_data_and_history_in_agreement(home: Path, after) -> None:
    eng = Engram.open(home)
    ids = [eng.memories.create("fact", f"fact {i}", actor="user").id for i in range(20)]
    eng.close()
    run_and_kill(home, "edit", after)

    eng = Engram.open(home)
    assert eng.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    edits_seen = 0
    for mid in ids:
        mem = eng.memories.get(mid)
        edits = [e for e in eng.memories.events(mid) if e.event == "edited"]
        edits_seen += len(edits)
        assert mem.version == 1 + len(edits)           # no change without its audit row
        if edits:
            assert edits[-1].new_value == {"text": mem.text}
    assert edits_seen > 0
    eng.close()


@pytest.mark.slow
def test_kill_during_reindex_is_repaired_at_start_up(home: Path, embedder) -> None:
    eng = Engram.open(home)
    eng._embedder = embedder
    for i in range(300):
        eng.memories.create("fact", f"remembered fact number {i} about topic {i % 7}", actor="user")
    eng.index_sync.sync()
    eng.close()
    run_and_kill(home, "reindex", 1.5)

    eng = Engram.open(home)
    eng._embedder = embedder
    assert eng.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    recover(eng)
    assert eng.index_sync.doctor().healthy
    assert eng.index.count() == 300
    hits = eng.index.query(embedder.encode_one("remembered fact number 42"), 1)
    assert eng.memories.get(hits[0][0]).text.startswith("remembered fact number 42")
    eng.close()


def test_recover_requeues_jobs_and_closes_interrupted_imports(engram) -> None:
    engram.jobs.enqueue("summarize_conversation", {"conversation_id": "x"}, needs_model=True)
    engram.jobs.claim(model_available=True)
    engram.db.execute("INSERT INTO imports (id, file_name, file_hash, format, started_at)"
                      " VALUES ('i1', 'a.zip', 'h', 'chatgpt', 1)")
    report = recover(engram)
    assert (report.jobs_requeued, report.imports_interrupted) == (1, 1)
    assert engram.db.execute("SELECT status FROM imports").fetchone()[0] == "cancelled"
    assert not recover(engram).anything


@pytest.mark.slow
def test_kill_during_import_then_rerun_completes_without_duplicates(home: Path, tmp_path) -> None:
    from app.benchmarks.import_ import write_export
    from core.importers import run_import

    archive = tmp_path / "conversations.json"
    expected = write_export(archive, 6_000_000)

    def some_committed() -> bool:
        # a speed-independent kill point: once the first conversations are committed
        try:
            with contextlib.closing(sqlite3.connect(home / "engram.db", timeout=0.1)) as db:
                return db.execute("SELECT count(*) FROM conversations").fetchone()[0] >= 3
        except sqlite3.Error:
            return False

    run_and_kill(home, "import", some_committed, str(archive))

    eng = Engram.open(home)
    assert eng.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    recover(eng, check_index=False)
    partial = eng.conversations.count()
    assert 0 < partial < expected["conversations"], "the kill should land mid-import"
    # no half-written conversation: each one stored has exactly its source's messages
    source = {c["id"]: len(c["mapping"]) - 1 for c in json.loads(archive.read_text())}
    rows = eng.db.execute(
        "SELECT c.source_id, count(m.id) FROM conversations c"
        " JOIN messages m ON m.conversation_id = c.id GROUP BY c.id").fetchall()
    assert len(rows) == partial
    assert all(n == source[sid] for sid, n in rows)
    report = run_import(eng, archive, embed=False)
    assert report.status == "completed"
    assert eng.conversations.count() == expected["conversations"]
    assert eng.db["messages"].count == expected["messages"]
    again = run_import(eng, archive, embed=False)
    assert again.new_messages == 0 and eng.db["messages"].count == expected["messages"]
    eng.close()


@pytest.mark.slow
def test_kill_during_a_streamed_reply_keeps_the_conversation_whole(home: Path, tiny_gguf) -> None:
    eng = Engram.open(home)
    conv = eng.conversations.create("story time")
    eng.conversations.add_message(conv.id, "user", "Hello", created_at=1)
    eng.conversations.add_message(conv.id, "assistant", "Hi! How can I help?", created_at=2)
    eng.close()
    run_and_kill(home, "reply", 0.3, str(tiny_gguf))

    eng = Engram.open(home)
    assert eng.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    recover(eng, check_index=False)
    thread = eng.conversations.thread(conv.id)
    # the user's new message was committed before generation began; the unfinished reply was
    # never half-stored: the thread ends with the user's message
    assert [m.role for m in thread] == ["user", "assistant", "user"]
    assert thread[-1].text == "Tell me a very long story"
    assert eng.db["messages"].count == 3
    mem_sources = eng.db.execute(
        "SELECT count(*) FROM memory_sources WHERE message_id = ?", [thread[-1].id]).fetchone()[0]
    assert mem_sources >= 1  # its episodic memory committed with it
    eng.close()
