"""The real export samples in ../shared/data/archives (skipped when that folder is absent)."""
from __future__ import annotations

import pytest

from core.importers import dry_run, run_import
from tests.conftest import SHARED

ARCHIVES = SHARED / "data" / "archives"
pytestmark = pytest.mark.skipif(not ARCHIVES.is_dir(), reason="../shared is not present")

# (file, format, conversations, messages, branches): messages are the nodes that hold a
# message (ChatGPT's empty root nodes are skipped), branches the alternatives beyond the first.
EXPECTED = [
    ("chatgpt/librechat_chatgpt-export.json", "ChatGPT", 2, 21, 0),
    ("chatgpt/librechat_chatgpt-tree.json", "ChatGPT", 1, 12, 2),
    ("chatgpt/mitkury_example-conversation_branch_SYNTHETIC.json", "ChatGPT", 1, 6, 1),
    ("chatgpt/owi-importer_gpt_example_2025.json", "ChatGPT", 1, 12, 0),
    ("claude/simonw_example.json", "Claude", 1, 2, 0),
    ("claude/owi-importer_claude_thinking_example_SYNTHETIC.json", "Claude", 1, 2, 0),
    ("openwebui/owi-importer_webui-json.json", "Open WebUI", 1, 2, 0),
]


def test_every_sample_is_listed() -> None:
    present = {p.relative_to(ARCHIVES).as_posix() for p in ARCHIVES.rglob("*.json")}
    assert present == {e[0] for e in EXPECTED}


@pytest.mark.parametrize("name, fmt, conversations, messages, branches", EXPECTED)
def test_sample_counts(name, fmt, conversations, messages, branches) -> None:
    report = dry_run(ARCHIVES / name)
    assert report.formats == [fmt] and report.status == "completed"
    assert (report.conversations, report.messages, report.branches) == (
        conversations, messages, branches)


def test_all_samples_import_and_reimport_adds_nothing(store_only) -> None:
    total = 0
    for name, *_ in EXPECTED:
        report = run_import(store_only, ARCHIVES / name, embed=False)
        assert report.new_messages == report.messages
        total += report.messages
    assert store_only.db["messages"].count == total == 57
    tree = run_import(store_only, ARCHIVES / EXPECTED[1][0], embed=False)
    assert (tree.new_conversations, tree.new_messages) == (0, 0)
    thinking = [m for m in store_only.memories.list(limit=None, text="greeting")
                if "respond warmly" in m.text]
    assert thinking == []                       # Claude's thinking stays out of memory
    owi = store_only.conversations.list(search="Goldwater")
    assert owi and owi[0].source == "openwebui" and owi[0].title.startswith("\U0001f9e0")
