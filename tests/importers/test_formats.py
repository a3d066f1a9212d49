"""Each format's parser on the project's own fixtures: structure, content types, branches,
what is hidden and what is skipped, and why."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from core.importers import detect, dry_run
from core.importers.containers import open_container
from core.importers.detect import PARSERS
from core.importers.model import ParsedConversation

from .conftest import FIXTURES


def parsed(path: Path) -> list[ParsedConversation]:
    found = detect(path)
    out = []
    with open_container(path) as container:
        for entry in container.entries:
            if entry.name in found.files:
                out += [c for c in PARSERS[found.files[entry.name]](entry.open())
                        if isinstance(c, ParsedConversation)]
    return out


@pytest.mark.parametrize("name, fmt, conversations, messages, hidden, branches, skipped", [
    ("chatgpt_conversations.json", "chatgpt", 2, 18, 6, 1, 3),
    ("claude_conversations.json", "claude", 2, 7, 0, 1, 1),
    ("openwebui_export.json", "openwebui", 1, 4, 0, 1, 2),
    ("sillytavern_chat.jsonl", "sillytavern", 1, 7, 1, 2, 1),
    ("My Activity.json", "gemini", 2, 6, 0, 0, 1),
    ("1715000000000.conversation.json", "lmstudio", 1, 5, 1, 1, 0),
    ("transcript.md", "markdown", 1, 4, 0, 0, 0),
    ("transcript.jsonl", "jsonl", 1, 4, 1, 0, 0),
])
def test_every_fixture_is_detected_and_counted(name, fmt, conversations, messages, hidden,
                                               branches, skipped) -> None:
    assert detect(FIXTURES / name).formats == [fmt]
    report = dry_run(FIXTURES / name)
    assert (report.conversations, report.messages, report.hidden_messages, report.branches,
            report.skipped_count) == (conversations, messages, hidden, branches, skipped)
    assert report.status == "completed" and report.dry_run


def test_chatgpt_content_types_and_hidden_items() -> None:
    conv = parsed(FIXTURES / "chatgpt_conversations.json")[0]
    by_id = {m.source_id: m for m in conv.messages}
    assert "root" not in by_id                       # null message skipped...
    assert by_id["sys"].parent_source_id is None     # ...and its child attached above it
    assert by_id["u2"].text == "What is in this photo?\n[image]\nspoken words"
    assert by_id["c1"].text == "print(1 + 1)" and by_id["c1"].hidden   # a call to a tool
    assert by_id["e1"].role == "tool" and by_id["e1"].text == "2"
    assert by_id["th"].hidden and "private reasoning" in by_id["th"].text
    assert by_id["rr"].hidden and by_id["rr"].text == "Thought for 3 seconds"
    assert by_id["bd"].text == "# search results"
    assert by_id["tq"].text == "A page\nquoted text"
    assert by_id["se"].text == "ToolError: timeout"
    assert by_id["uec"].hidden and "Name: Sam" in by_id["uec"].text
    assert by_id["mec"].hidden and "trains" in by_id["mec"].text
    assert by_id["unk"].text == "widget text" and not by_id["unk"].hidden
    assert by_id["unk"].meta["content_type"] == "future_widget_2030"
    assert by_id["a1b"].branch == 1 and by_id["a1"].branch == 0
    assert by_id["a2"].text == "The café near the river is nice \u2014 it\u2019s open late."
    assert by_id["a1"].model == "gpt-4o"
    assert conv.current_source_id == "a2"
    order = [m.source_id for m in conv.messages]
    assert all(order.index(m.parent_source_id) < order.index(m.source_id)
               for m in conv.messages if m.parent_source_id)
    reasons = {(s.reason, s.item) for s in conv.skipped}
    assert ("child points to a missing node", "ghost") in reasons
    assert ("empty node, no message in it (as ChatGPT's root)", "root") in reasons


def test_chatgpt_untitled_conversation_without_times_is_kept() -> None:
    conv = parsed(FIXTURES / "chatgpt_conversations.json")[1]
    assert conv.title == "Untitled" and conv.created_at is None
    assert [m.created_at for m in conv.messages] == [None, None]


def test_claude_orders_messages_by_time_and_keeps_blocks_out_of_text() -> None:
    garden, branching = parsed(FIXTURES / "claude_conversations.json")
    assert [m.source_id for m in garden.messages] == ["m1", "m2", "m3", "m4"]
    assert [m.parent_source_id for m in garden.messages] == [None, "m1", "m2", "m3"]
    m3, m4 = garden.messages[2], garden.messages[3]
    assert m3.text == "Here are my notes.\n\n[Attachment: notes.txt]\nPlanted on 1 March."
    assert m4.text == "Water them deeply twice a week."
    assert "summarise" in m4.meta["thinking"] and "web_search" in m4.meta["tool_use"]
    assert m4.meta["tool_result"] == "Water deeply."
    assert garden.messages[0].meta["files"] == ["garden.png"]
    assert [(m.source_id, m.branch) for m in branching.messages] == [
        ("b1", 0), ("b2", 0), ("b3", 1)]
    assert branching.current_source_id == "b3"


def test_openwebui_tree_current_leaf_and_multimodal_content() -> None:
    conv = parsed(FIXTURES / "openwebui_export.json")[0]
    assert [(m.source_id, m.parent_source_id, m.branch) for m in conv.messages] == [
        ("o1", None, 0), ("o2", "o1", 0), ("o3", "o1", 1), ("o4", "o3", 0)]
    assert conv.current_source_id == "o4" and conv.messages[3].text == "Thanks!"
    assert conv.created_at == 1710000000


def test_sillytavern_swipes_are_branches_and_the_chosen_one_continues() -> None:
    conv = parsed(FIXTURES / "sillytavern_chat.jsonl")[0]
    swipes = [m for m in conv.messages if m.source_id.startswith("4:")]
    assert [m.text for m in swipes] == ["In the forest.", "In the library.", "On a ship."]
    assert [m.branch for m in swipes] == [0, 1, 2]
    after = next(m for m in conv.messages if m.source_id == "5:0")
    assert after.parent_source_id == "4:1" and after.hidden and after.role == "system"
    assert conv.messages[0].created_at is not None        # "May 1, 2024 10:00am"
    assert conv.title == "Chat with Aria" and swipes[1].model == "mistral"


def test_gemini_groups_a_day_in_time_order_and_strips_html() -> None:
    day2, day1 = parsed(FIXTURES / "My Activity.json")
    assert day1.title == "Gemini, 2024-06-01"
    assert [m.text for m in day1.messages] == [
        "Hello", "Hi there.", "Write one about rain", "Soft rain on the roof & sky"]
    assert day2.messages[1].text == "A haiku is a short poem.\nIt has 17 syllables."


def test_lmstudio_versions_and_system_prompt() -> None:
    conv = parsed(FIXTURES / "1715000000000.conversation.json")[0]
    assert conv.messages[0].role == "system" and conv.messages[0].hidden
    replies = [m for m in conv.messages if m.source_id.startswith("1:")]
    assert [m.branch for m in replies] == [0, 1] and replies[0].model == "qwen2.5-7b"
    assert conv.messages[-1].parent_source_id == "1:1"


def test_markdown_and_jsonl_transcripts() -> None:
    md = parsed(FIXTURES / "transcript.md")[0]
    assert md.title == "Chat about bread"
    assert [(m.role, m.text) for m in md.messages] == [
        ("user", "How long should dough rise?"), ("assistant", "About an hour,\nuntil doubled."),
        ("user", "And at what temperature?"), ("assistant", "Room temperature is fine.")]
    jl = parsed(FIXTURES / "transcript.jsonl")[0]
    assert [m.role for m in jl.messages] == ["user", "assistant", "system", "user"]
    assert jl.messages[3].text == "Again"


def test_chatgpt_zip_single_object_and_split_export(tmp_path: Path) -> None:
    records = json.loads((FIXTURES / "chatgpt_conversations.json").read_text())
    single = tmp_path / "one.json"
    single.write_text(json.dumps(records[0]))
    assert dry_run(single).messages == 16
    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("conversations.json", json.dumps(records))
        zf.writestr("user.json", json.dumps({"id": "user-1", "email": "x@example.org"}))
        zf.writestr("chat.html", "<html></html>")
    report = dry_run(zipped)
    assert (report.formats, report.conversations, report.messages) == (["ChatGPT"], 2, 18)
    assert "user.json" in report.unrecognised_files
    split = tmp_path / "split.zip"
    with zipfile.ZipFile(split, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export_manifest.json", json.dumps({"files": ["conversations-000.json",
                                                                 "conversations-001.json"]}))
        zf.writestr("conversations-000.json", json.dumps(records[:1]))
        zf.writestr("conversations-001.json", json.dumps(records[1:]))
    report = dry_run(split)
    assert (report.conversations, report.messages) == (2, 18)
    assert set(report.files) == {"conversations-000.json", "conversations-001.json"}


def test_dry_run_reports_date_range_and_reasons() -> None:
    report = dry_run(FIXTURES / "chatgpt_conversations.json")
    data = report.to_dict()
    assert data["first_message_at"] == "2023-11-14T22:13:20+00:00"
    assert data["last_message_at"] == "2023-11-14T22:15:00+00:00"
    assert report.skipped_by_reason["conversation without a mapping (no messages)"] == 1
    assert {"reason": "child points to a missing node", "conversation": "Trip planning",
            "item": "ghost"} in data["skipped"]
