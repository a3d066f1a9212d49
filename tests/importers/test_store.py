"""Importing into a real data folder: the message tree, hidden flags, memories with
provenance, idempotent re-import, newer exports, cancel and resume, jobs, embedding."""
from __future__ import annotations

import json

import pytest

from core.base.ids import stable_id
from core.importers import run_import
from core.importers.store import SUMMARY_JOBS

from .conftest import FIXTURES


def mid(conv: str, msg: str, fmt: str = "chatgpt") -> str:
    return stable_id(fmt, conv, msg)


def test_chatgpt_import_stores_tree_thread_and_memories(store_only) -> None:
    eng = store_only
    report = run_import(eng, FIXTURES / "chatgpt_conversations.json", embed=False)
    assert (report.new_conversations, report.new_messages) == (2, 18)
    cid = stable_id("chatgpt", "conv-a")
    conv = eng.conversations.get(cid)
    assert conv.source == "chatgpt" and conv.source_id == "conv-a"
    assert conv.import_id == report.import_id and conv.title == "Trip planning"
    thread = eng.conversations.thread(cid)
    assert [m.source_id for m in thread][:3] == ["sys", "u1", "a1"]
    assert thread[-1].source_id == "a2" and len(thread) == 15      # everything but a1b
    siblings = eng.conversations.siblings(mid("conv-a", "a1"))
    assert [m.source_id for m in siblings] == ["a1", "a1b"]
    hidden = {m.source_id for m in eng.conversations.messages(cid) if m.hidden}
    assert hidden == {"sys", "c1", "th", "rr", "uec", "mec"}
    u2 = eng.conversations.get_message(mid("conv-a", "u2"))
    assert u2.created_at == 1700000010.0            # null time: its parent's
    # Memories: visible user/assistant messages only, citations stripped, with provenance.
    mems = eng.memories.list(import_id=report.import_id, limit=None, order="occurred_at")
    assert report.memories_created == len(mems)
    turns = [m for m in mems if m.granularity == "turn"]
    assert len(turns) == 8          # u1, a1, a1b, u2, unk, a2 and conversation C's two
    texts = [m.text for m in mems]
    assert "Assistant: Lisbon is sunny  in May." in texts
    assert not any("private reasoning" in t or "Name: Sam" in t or "print(1" in t
                   for t in texts)
    assert not any(ch in t for t in texts for ch in "\ue200\ue201\ue202")
    raw = eng.conversations.get_message(mid("conv-a", "a1")).text
    assert "\ue200cite" in raw                      # the message itself keeps the original
    source = eng.memories.sources(next(m.id for m in turns if "Lisbon is sunny" in m.text))[0]
    assert source["message_id"] == mid("conv-a", "a1")
    assert source["import_id"] == report.import_id and source["source_ref"] == "a1"
    row = eng.db.execute("SELECT status, format, counts FROM imports WHERE id = ?",
                         [report.import_id]).fetchone()
    assert row[0] == "completed" and row[1] == "chatgpt"
    assert json.loads(row[2])["messages"] == 18
    jobs = eng.jobs.list()
    assert {j.kind for j in jobs} == set(SUMMARY_JOBS) and all(j.needs_model for j in jobs)
    assert {j.payload["conversation_id"] for j in jobs} == {
        cid, stable_id("chatgpt", "conv-c")}


def test_reimport_adds_nothing_and_newer_export_adds_only_new(store_only, tmp_path) -> None:
    eng = store_only
    path = tmp_path / "conversations.json"
    records = json.loads((FIXTURES / "chatgpt_conversations.json").read_text())
    path.write_text(json.dumps(records))
    run_import(eng, path, embed=False)
    again = run_import(eng, path, embed=False)
    assert (again.new_conversations, again.new_messages, again.memories_created) == (0, 0, 0)
    assert again.conversations == 2 and eng.db["messages"].count == 18
    mapping = records[0]["mapping"]
    mapping["a2"]["children"] = ["u3"]
    mapping["u3"] = {"id": "u3", "parent": "a2", "children": [], "message": {
        "id": "u3", "author": {"role": "user"}, "create_time": 1700000300.0,
        "content": {"content_type": "text", "parts": ["One more question"]}}}
    records[0]["current_node"] = "u3"
    path.write_text(json.dumps(records))
    newer = run_import(eng, path, embed=False)
    assert (newer.new_conversations, newer.new_messages) == (0, 1)
    assert newer.memories_created >= 1
    cid = stable_id("chatgpt", "conv-a")
    assert eng.conversations.get(cid).current_message_id == mid("conv-a", "u3")
    assert eng.conversations.thread(cid)[-2].source_id == "a2"
    assert eng.db["messages"].count == 19
    assert eng.db.execute("SELECT count(*) FROM memories WHERE granularity = 'turn'"
                          ).fetchone()[0] == 9


def test_cancelled_import_keeps_what_committed_and_continues(store_only) -> None:
    eng = store_only
    path = FIXTURES / "claude_conversations.json"
    report = run_import(eng, path, should_stop=lambda: True, embed=False)
    assert report.status == "cancelled" and report.new_conversations == 1
    assert eng.conversations.count() == 1
    rest = run_import(eng, path, embed=False)
    assert rest.status == "completed" and rest.new_conversations == 1
    assert eng.conversations.count() == 2 and eng.db["messages"].count == 7
    statuses = [r[0] for r in eng.db.execute("SELECT status FROM imports ORDER BY started_at")]
    assert statuses == ["cancelled", "completed"]


def test_crash_mid_import_rolls_back_only_the_open_conversation(store_only, monkeypatch) -> None:
    eng = store_only
    from core.importers import store as store_mod

    calls = {"n": 0}
    real = store_mod.remember_messages

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(store_mod, "remember_messages", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_import(eng, FIXTURES / "claude_conversations.json", embed=False)
    # The first Claude conversation committed; the second rolled back whole.
    assert eng.conversations.count() == 1 and eng.db["messages"].count == 4
    turns = "SELECT count(*) FROM memories WHERE granularity = 'turn'"
    assert eng.db.execute(turns).fetchone()[0] == 4
    assert eng.db.execute("SELECT status FROM imports").fetchone()[0] == "failed"
    monkeypatch.setattr(store_mod, "remember_messages", real)
    again = run_import(eng, FIXTURES / "claude_conversations.json", embed=False)
    assert (again.new_conversations, again.new_messages) == (1, 3)
    assert eng.conversations.count() == 2 and eng.db.execute(turns).fetchone()[0] == 7


def test_every_fixture_imports_and_the_thread_ends_at_the_current_leaf(store_only) -> None:
    eng = store_only
    for path in sorted(FIXTURES.iterdir()):
        report = run_import(eng, path, embed=False)
        assert report.status == "completed" and report.new_messages == report.messages, path
    for conv in eng.conversations.list(limit=100):
        thread = eng.conversations.thread(conv.id)
        assert thread and thread[-1].id == conv.current_message_id
        assert thread[0].parent_id is None
    st = stable_id("sillytavern", "Aria|2024-05-01@10h00m00s")
    assert eng.conversations.thread(st)[-1].text == "Show me the books."
    assert "In the library." in [m.text for m in eng.conversations.thread(st)]


def test_import_then_embed_with_progress_and_search(engram) -> None:
    seen = []
    report = run_import(engram, FIXTURES / "transcript.md", progress=seen.append)
    assert report.embedded == report.memories_created >= 4
    assert engram.index.count() == report.embedded
    phases = [p.phase for p in seen]
    assert phases[0] == "reading" and phases[-1] == "embedding"
    assert seen[0].done == seen[0].total > 0 and seen[0].fraction == 1.0
    hits = engram.index.query(engram.embedder.encode_one("bread dough proofing time"), 1)
    assert hits and "rise" in engram.memories.get(hits[0][0]).text
