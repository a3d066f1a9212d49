"""Issue 15: memories from elsewhere become facts with provenance, deduplicated; the CLI has
the inspector's views and steering. Claude's memories.json is built from the documented
shape (no real sample has been seen): the fixture here is written from that description."""
from __future__ import annotations

import json

from app.cli import main
from core.importers.memories import import_claude_memories, import_pasted, parse_list
from core.services.engine import Engram

PASTED = """Here is everything I remember about you:

- [2024-05-01] - Prefers metric units
- Lives in Ghent with a dog called Pixel
2. Works night shifts as a nurse
* Works night shifts as a nurse
# Preferences
-
"""


def test_a_pasted_list_becomes_facts_with_dates_once(engram) -> None:
    parsed = parse_list(PASTED)
    assert [t for t, _ in parsed] == ["Prefers metric units",
                                      "Lives in Ghent with a dog called Pixel",
                                      "Works night shifts as a nurse",
                                      "Works night shifts as a nurse"]
    assert parsed[0][1] is not None and parsed[1][1] is None
    engram.memories.create("fact", "Lives in Ghent with a dog called Pixel.", actor="user")
    report = import_pasted(engram, PASTED)
    assert len(report.created) == 2 and report.duplicates == 2     # known + repeated line
    facts = engram.memories.get_many(report.created)
    assert {f.text for f in facts.values()} == {"Prefers metric units",
                                                "Works night shifts as a nurse"}
    assert all(f.kind == "fact" for f in facts.values())
    src = engram.memories.sources(report.created[0])
    assert src[0]["source_ref"] == "pasted" and src[0]["import_id"] == report.import_id
    assert engram.imports.get(report.import_id)["format"] == "pasted"
    again = import_pasted(engram, PASTED)                         # nothing twice
    assert again.created == [] and again.duplicates == 4


def test_claude_memories_json_by_the_documented_shape(engram, tmp_path) -> None:
    project = engram.steering.create_project("Thesis", source="claude", source_id="p-1")
    data = [{"conversations_memory": "Lena is a nurse in Ghent. She is learning Dutch "
                                     "and plays the cello.",
             "memory_files": [{"name": "preferences.md",
                               "content": "- Answers short\n- Metric units"}],
             "project_memories": {"p-1": "The thesis is about sleep and night shifts."}},
            {"something_else": 1}]
    path = tmp_path / "memories.json"
    path.write_text(json.dumps(data), "utf-8")
    report = import_claude_memories(engram, tmp_path)             # the folder holding it
    texts = {m.text: m for m in engram.memories.get_many(report.created).values()}
    assert set(texts) == {"Lena is a nurse in Ghent.",
                          "She is learning Dutch and plays the cello.", "Answers short",
                          "Metric units", "The thesis is about sleep and night shifts."}
    assert texts["The thesis is about sleep and night shifts."].project_id == project.id
    assert texts["Metric units"].project_id is None
    refs = {engram.memories.sources(m.id)[0]["source_ref"] for m in texts.values()}
    assert refs == {"claude-memory", "claude-memory:preferences.md", "claude-memory:project:p-1"}
    assert report.skipped == ["item 2: no memory text in it"]


def test_cli_knows_turns_always_pause_and_imports(home, embedder, capsys, tmp_path) -> None:
    eng = Engram.open(home)
    conv = eng.conversations.create("Trip")
    from core.memory.episodic import remember_messages

    msgs = [eng.conversations.add_message(conv.id, r, t) for r, t in (
        ("user", "I live in Ghent"), ("assistant", "Ghent is lovely"))]
    remember_messages(eng.memories, msgs, actor="user")
    fact = eng.memories.create("fact", "Lena lives in Ghent.", actor="assistant", subject="lena")
    for kind, text in (("summary", "Lena went to Ghent."), ("compact", "A trip was planned."),
                       ("summary", "Lena came back.")):
        eng.memories.create(kind, text, actor="assistant", conversation_id=conv.id)
    eng.memories.create("fact", "The user likes tea.", actor="assistant", subject="the user")
    eng.close()
    listfile = tmp_path / "saved.txt"
    listfile.write_text("- Likes trains\n- Likes trains\n", "utf-8")
    assert main(["memories", "import-list", str(listfile)]) == 0
    assert "1 memory imported as facts, 1 already known" in capsys.readouterr().out
    assert main(["memories", "knows"]) == 0
    out = capsys.readouterr().out
    assert "Engram knows 3 facts" in out and "about Lena:" in out and "Likes trains" in out
    assert "about you:\n" in out and "The user likes tea." in out
    for head in ("summaries:", "running summaries of chats:"):    # each kind under one head
        assert out.count(f"\n{head}\n") == 1, out
    assert "2 turns from 1 chat; 1 index entry (not listed)" in out
    assert main(["memories", "turns"]) == 0
    out = capsys.readouterr().out
    assert "“Trip”:" in out and "you: I live in Ghent" in out
    assert "assistant: Ghent is lovely" in out and "index entry (not listed)" in out
    assert main(["memories", "always", fact.id]) == 0
    assert capsys.readouterr().out.strip() == "always include a memory"
    assert main(["memories", "pause", "--minutes", "30"]) == 0
    assert "memory paused" in capsys.readouterr().out
    eng = Engram.open(home)
    assert eng.settings.memory.paused_until > 0 and eng.memories.get(fact.id).always_include
    eng.close()
    assert main(["memories", "resume"]) == 0
    assert capsys.readouterr().out.strip() == "memory on"


def test_engram_import_takes_claude_memories_json(home, embedder, capsys, tmp_path) -> None:
    folder = tmp_path / "claude-export"
    folder.mkdir()
    (folder / "memories.json").write_text(json.dumps(
        {"conversations_memory": "Lena keeps bees on the roof. She cycles to work."}), "utf-8")
    assert main(["import", str(folder / "memories.json")]) == 0
    assert "memories.json: 2 memories imported as facts" in capsys.readouterr().out
    eng = Engram.open(home)
    facts = eng.memories.list(kinds=["fact"])
    assert {f.text for f in facts} == {"Lena keeps bees on the roof.", "She cycles to work."}
    assert eng.memories.sources(facts[0].id)[0]["source_ref"] == "claude-memory"
    eng.close()
