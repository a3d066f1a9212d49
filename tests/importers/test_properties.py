"""Property-based: malformed archives of every shape. Whatever comes in, the importer either
returns a report or raises ArchiveError; the converters themselves never raise."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.importers import ArchiveError, chatgpt, claude, dry_run, lmstudio, openwebui, run_import
from core.importers.model import ParsedConversation, Skipped

KEYS = ["id", "title", "mapping", "current_node", "parent", "children", "message", "author",
        "role", "content", "content_type", "parts", "create_time", "chat_messages", "uuid",
        "sender", "text", "attachments", "history", "messages", "currentId", "parentId",
        "childrenIds", "versions", "metadata", "weight", "recipient", "chat", "thoughts",
        "extracted_content", "type", "thinking", "header", "time", "safeHtmlItem", "a", "b"]
scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats()
           | st.text(max_size=30) | st.sampled_from(["a", "b", "user", "assistant", "text"]))
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.sampled_from(KEYS), kids,
                                                              max_size=6),
    max_leaves=40)
records = st.dictionaries(st.sampled_from(KEYS), values, max_size=8)


@settings(max_examples=300, deadline=None)
@given(records)
# found by this test: a Claude message whose attachments are `true`
@example({"id": None, "title": None, "chat_messages": [{"attachments": True}]})
@example({"chat_messages": [{"files": {"file_name": "a"}}]})
def test_converters_never_raise(record) -> None:
    for result in (chatgpt.convert(record), claude.convert(record), openwebui.convert(record),
                   lmstudio.convert(record, "x.conversation.json")):
        assert isinstance(result, (ParsedConversation, Skipped))
        if isinstance(result, ParsedConversation):
            ids = [m.source_id for m in result.messages]
            assert len(ids) == len(set(ids))
            seen: set[str] = set()
            for msg in result.messages:      # tree order: a parent before its children
                assert msg.parent_source_id is None or msg.parent_source_id in seen
                seen.add(msg.source_id)


def _check(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"archive{suffix}"
        path.write_bytes(data)
        try:
            report = dry_run(path)
        except ArchiveError:
            return
        assert report.status == "completed"


@settings(max_examples=150, deadline=None)
@given(st.lists(records, max_size=4), st.sampled_from([".json", ".jsonl", ".md", ""]))
def test_json_shaped_garbage_only_raises_archive_error(items, suffix) -> None:
    _check(json.dumps(items).encode(), suffix)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([".json", ".jsonl", ".md", ".zip"]))
def test_random_bytes_only_raise_archive_error(data, suffix) -> None:
    _check(data, suffix)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.sampled_from([".json", ".jsonl", ".md"]))
def test_mangled_real_json_only_raises_archive_error(noise, suffix) -> None:
    base = json.dumps([{"id": "x", "mapping": {"n": {"id": "n", "children": [], "message": {
        "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hi"]}}}}}])
    cut = len(noise) % len(base)
    _check((base[:cut] + noise + base[cut:]).encode("utf-8", "surrogatepass"), suffix)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, min_size=1, max_size=3))
def test_storing_whatever_parses_never_breaks_the_database(items) -> None:
    from core.services.engine import Engram

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conversations.json"
        path.write_text(json.dumps([{**r, "mapping": r.get("mapping", {})} for r in items]))
        eng = Engram.open(Path(tmp) / "home")
        try:
            try:
                report = run_import(eng, path, embed=False)
            except ArchiveError:
                return
            assert report.new_messages == eng.db["messages"].count
            assert eng.db.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            eng.close()
