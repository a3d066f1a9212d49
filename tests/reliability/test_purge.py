"""Purge must leave no copy of the text in any file under the data folder."""
from __future__ import annotations

from pathlib import Path

from core.memory.episodic import remember_messages
from core.purge import purge_conversation, purge_memory


def files_containing(root: Path, marker: str) -> list[str]:
    needles = [marker.encode("utf-8"), marker.encode("utf-16-le")]
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n in data for n in needles):
                hits.append(str(path.relative_to(root)))
    return hits


def test_purged_memory_text_is_gone_from_every_file(engram, home: Path) -> None:
    marker = "zebra-quartz-4417"
    keep = engram.memories.create("fact", "Keeps a blue notebook", actor="user")
    mem = engram.memories.create("fact", f"The vault phrase is {marker}", actor="user")
    engram.memories.edit(mem.id, f"The vault phrase is still {marker}")
    engram.index_sync.sync()
    (engram.layout.kv_state_dir).mkdir(parents=True, exist_ok=True)
    assert files_containing(home, marker)  # the scan can see it before the purge

    report = purge_memory(engram, mem.id)
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
    report = purge_memory(engram, turn.id)
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
