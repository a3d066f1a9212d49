"""Purge must leave no copy of the text, and no copy of any vector made from it, in any file
under the data folder (two probes: tests/reliability/probes.py)."""
from __future__ import annotations

import json
from pathlib import Path

from core.memory.episodic import remember_messages
from core.services.export import export_json
from core.services.purge import purge_conversation, purge_memories
from core.store.backup import backup_now
from tests.reliability.probes import (
    files_containing,
    fill_index,
    in_segment_files,
    stored_vector_hits,
    vector_hits,
)


def test_purged_memory_text_is_gone_from_every_file(engram, home: Path) -> None:
    marker = "zebra-quartz-4417"
    keep = engram.memories.create("fact", "Keeps a blue notebook", actor="user")
    mem = engram.memories.create("fact", f"The vault phrase is {marker}", actor="user")
    engram.memories.edit(mem.id, f"The vault phrase is still {marker}")
    engram.index_sync.sync()
    (engram.layout.kv_state_dir).mkdir(parents=True, exist_ok=True)
    assert files_containing(home, marker)  # the scan can see it before the purge

    report = purge_memories(engram, [mem.id])
    assert report.memories == [mem.id]
    assert files_containing(home, marker) == []
    assert engram.memories.get(keep.id).text == "Keeps a blue notebook"
    assert engram.index.all_ids() == [keep.id]
    tomb = engram.memories.events(mem.id)[-1]
    assert (tomb.event, tomb.actor, tomb.old_value, tomb.new_value) == ("purged", "user", None, None)


def test_purging_an_episodic_memory_blanks_its_source_message(engram, home: Path) -> None:
    marker = "lantern-okapi-9031"
    conv = engram.conversations.create("diary")
    texts = ["Morning!", f"My locker code is {marker}", "Noted, I will remember.", "Thanks"]
    msgs = [engram.conversations.add_message(conv.id, "user" if i % 2 == 0 else "assistant", t)
            for i, t in enumerate(texts)]
    ids = remember_messages(engram.memories, msgs, actor="user")
    engram.index_sync.sync()
    holders = [m for m in engram.memories.get_many(ids).values() if marker in m.text]
    assert len(holders) >= 2, "the turn and at least one window around it hold the marker"
    turn = next(m for m in holders if m.granularity == "turn")
    report = purge_memories(engram, [turn.id])
    assert {m.id for m in holders} <= set(report.memories)
    assert files_containing(home, marker) == []
    assert engram.conversations.get_message(msgs[1].id).meta.get("purged") == 1
    assert engram.conversations.get_message(msgs[0].id).text == "Morning!"


def test_purged_conversation_takes_its_memories_and_kv_states(engram, home: Path) -> None:
    marker = "walrus-tundra-5520"
    conv = engram.conversations.create(f"about {marker}")
    msgs = [engram.conversations.add_message(conv.id, "user", f"note {marker}"),
            engram.conversations.add_message(conv.id, "assistant", "noted")]
    ids = remember_messages(engram.memories, msgs, actor="user")
    engram.index_sync.sync()
    kv = engram.layout.kv_state_dir
    kv.mkdir(parents=True, exist_ok=True)
    (kv / f"{conv.id}.abc.kvstate").write_bytes(marker.encode())
    other = kv / "someone-else.abc.kvstate"
    other.write_bytes(b"x")

    report = purge_conversation(engram, conv.id)
    assert sorted(report.memories) == sorted(ids)
    assert report.kv_states_deleted == 1 and other.exists()
    assert files_containing(home, marker) == []
    assert engram.conversations.count() == 0


def test_purge_erases_the_vectors_of_the_memory_and_of_its_earlier_versions(
        engram, home: Path) -> None:
    first = "The vault phrase is zebra-quartz-4417 and it opens the north door"
    second = "The vault phrase is still zebra-quartz-4417, and now it opens the cellar"
    kept_text = "Keeps a blue notebook on the desk by the window"
    keep = engram.memories.create("fact", kept_text, actor="user")
    mem = engram.memories.create("fact", first, actor="user")
    engram.index_sync.sync()
    fill_index(engram, 1100)                 # the first version reaches the HNSW files
    engram.memories.edit(mem.id, second)
    engram.index_sync.sync()                 # the second waits in Chroma's queue
    before = vector_hits(home, engram.embedder, [first, second, kept_text])
    assert in_segment_files(before[first]), before      # the probe sees both forms
    assert "chroma/chroma.sqlite3" in before[second], before

    purge_memories(engram, [mem.id])
    after = vector_hits(home, engram.embedder, [first, second, kept_text])
    assert after[first] == [] and after[second] == [], after
    assert after[kept_text], "the memory that stays is still in the index"
    assert files_containing(home, "zebra-quartz-4417") == []
    assert keep.id in engram.index.existing_ids([keep.id, mem.id])
    assert engram.index.existing_ids([mem.id]) == []


def test_purged_conversation_leaves_no_vector_title_or_report_line(
        engram, home: Path, tmp_path: Path) -> None:
    from core.importers import run_import
    from tests.reliability.archive_maker import chatgpt_export

    archive = chatgpt_export(tmp_path / "conversations.json", conversations=2, messages=4,
                             words_per_message=12)
    data = json.loads(archive.read_text())
    marker = "Osprey-Lagoon-7731"
    data[0]["title"] = f"Plans for {marker}"
    archive.write_text(json.dumps(data))
    run_import(engram, archive)
    conv_id = next(c.id for c in engram.conversations.list() if marker in c.title)
    texts = [m.text for m in engram.memories.list(conversation_id=conv_id, limit=None)]
    assert texts
    report = engram.db.execute("SELECT report FROM imports").fetchone()[0]
    assert marker in report                  # its skipped root node is listed by title
    backup_now(engram.db, engram.layout.backups_dir)
    old_export = tmp_path / "before.json"
    export_json(engram, old_export)
    assert vector_hits(home, engram.embedder, texts[:3]) != {t: [] for t in texts[:3]}
    ids = [m.id for m in engram.memories.list(conversation_id=conv_id, limit=None)]
    stored = engram.index.get_embeddings(ids)             # windows: derived, not re-embeddable
    assert len(stored) == len(ids)
    assert all(stored_vector_hits(home, stored).values())

    purge_conversation(engram, conv_id)
    assert files_containing(home, marker) == []          # title: db, report, backups, logs
    assert vector_hits(home, engram.embedder, texts) == {t: [] for t in texts}
    assert stored_vector_hits(home, stored) == {i: [] for i in ids}
    new_export = tmp_path / "after.json"
    export_json(engram, new_export)
    exported = json.loads(new_export.read_text())
    assert marker not in new_export.read_text()
    assert {"id": conv_id, "kind": "conversation"}.items() <= next(
        t for t in exported["tombstones"] if t["id"] == conv_id).items()
    assert marker in old_export.read_text()              # an export is the user's own file


def test_purge_on_a_chroma_server_erases_what_the_server_shows(
        engram, home: Path, tmp_path: Path) -> None:
    """Server mode: the record is deleted and the collection rebuilt through the API, so the
    server's live files no longer hold the vector. The folder of the collection the rebuild
    dropped stays on the server's disk (Chroma does not remove it): Engram cannot reach the
    server's files, as the README says."""
    from core.index.erasure import stale_segment_dirs
    from core.index.vector_index import VectorIndex
    from tests.reliability.chroma_server import running_chroma_server

    with running_chroma_server(tmp_path / "server-data") as (url, server_dir):
        engram._index = VectorIndex.server(url, "memories")
        secret = "The safe behind the painting opens with heron-basalt-3312"
        mem = engram.memories.create("fact", secret, actor="user")
        engram.memories.create("fact", "Walks the dog every morning before work", actor="user")
        engram.index_sync.sync()
        fill_index(engram, 1100)             # the server persists the vector to its HNSW files
        assert in_segment_files(["chroma/" + h for h in vector_hits(
            server_dir, engram.embedder, [secret])[secret]])

        report = purge_memories(engram, [mem.id])
        assert report.vectors["mode"] == "server" and report.vectors["rebuilt"]
        assert engram.index.existing_ids([mem.id]) == []
        hits = vector_hits(server_dir, engram.embedder, [secret])[secret]
        stale = {p.name for p in stale_segment_dirs(server_dir)}
        assert all(h.split("/")[0] in stale for h in hits), (hits, stale)
        assert files_containing(home, "heron-basalt-3312") == []


def test_purging_a_turn_reaches_its_windows_title_summaries_and_facts(engram, home: Path) -> None:
    """Issue 15: after a purge the text is in no file and no title; what quoted it (the
    conversation's title made from the message, a summary of the whole conversation, a fact
    taken from the message) goes with it, and the confirmation said so beforehand."""
    from core.memory.thoughts import add_distilled
    from core.services import memory_ops
    from core.services.purge_preview import preview
    from core.store.memories import SourceRef

    marker = "heron-basalt-7712"
    conv = engram.conversations.create(f"My cat is {marker} and")   # title from the message
    texts = [f"My cat is {marker} and she is grey", "A grey cat, noted.", "Bye", "Bye!"]
    msgs = [engram.conversations.add_message(conv.id, "user" if i % 2 == 0 else "assistant", t)
            for i, t in enumerate(texts)]
    ids = remember_messages(engram.memories, msgs, actor="user")
    turn = next(m for m in engram.memories.get_many(ids).values()
                if m.granularity == "turn" and marker in m.text)
    summary = engram.memories.create(
        "summary", f"They talked about the cat {marker}", actor="assistant",
        conversation_id=conv.id, sources=[SourceRef(conversation_id=conv.id)])
    fact = add_distilled(engram, "fact", f"The user's cat is called {marker}", subject="user",
                         sources=[SourceRef(message_id=msgs[0].id, conversation_id=conv.id)],
                         conversation_id=conv.id, actor="assistant").thought_id
    other = engram.conversations.create("Groceries")
    kept = engram.memories.create("summary", "Bought apples", actor="assistant",
                                  conversation_id=other.id,
                                  sources=[SourceRef(conversation_id=other.id)])
    engram.index_sync.sync()
    assert files_containing(home, marker)

    said = preview(engram, [turn.id])
    lines = "\n".join(said.lines())
    assert "this memory" in lines and "index entr" in lines and "1 fact made from it" in lines
    assert "1 summary made from it" in lines and f"“My cat is {marker} and”" in lines
    assert "the message text" in lines

    changes = memory_ops.purge(engram, [turn.id])
    report = changes.detail
    assert {turn.id, summary.id, fact} <= set(report.memories)
    assert report.titles_rewritten == 1
    assert engram.conversations.get(conv.id).title == "Untitled chat"
    assert engram.memories.get(kept.id).status == "active"          # another chat's summary
    assert engram.conversations.get_message(msgs[2].id).text == "Bye"
    assert files_containing(home, marker) == []


def test_purging_only_the_memory_keeps_the_message_and_says_so(engram, home: Path) -> None:
    from core.services import memory_ops
    from core.services.purge_preview import preview

    conv = engram.conversations.create("notes")
    msg = engram.conversations.add_message(conv.id, "user", "I keep bees on the roof")
    ids = remember_messages(engram.memories, [msg], actor="user")
    turn = next(m for m in engram.memories.get_many(ids).values() if m.granularity == "turn")
    said = preview(engram, [turn.id], with_messages=False)
    assert said.has_messages and not said.with_messages and not said.messages
    assert not any("message text" in line for line in said.lines())
    memory_ops.purge(engram, [turn.id], with_messages=False)
    assert engram.memories.get(turn.id).status == "purged"
    assert engram.conversations.get_message(msg.id).text == "I keep bees on the roof"
