"""Hostile and broken archives: zip traversal and bombs, deep nesting, huge strings, bad
encodings, truncated files, unknown formats. Only ArchiveError may come out."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from core.importers import ArchiveError, detect, dry_run, run_import
from core.importers.containers import open_container
from core.importers.stream import SafeReader
from core.importers.text import clean, memory_text

from .conftest import FIXTURES

CONV = {"id": "c1", "title": "T", "current_node": "b", "mapping": {
    "a": {"id": "a", "parent": None, "children": ["b"], "message": {
        "id": "a", "author": {"role": "user"}, "content": {"content_type": "text",
                                                             "parts": ["hello"]}}},
    "b": {"id": "b", "parent": "a", "children": [], "message": {
        "id": "b", "author": {"role": "assistant"}, "content": {"content_type": "text",
                                                                  "parts": ["hi"]}}}}}


def test_zip_entries_that_escape_are_refused_and_nothing_is_extracted(tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("../../conversations.json", json.dumps([CONV]))
        zf.writestr("/etc/conversations.json", json.dumps([CONV]))
    with pytest.raises(ArchiveError, match="unsafe path in zip"):
        detect(path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("conversations.json", json.dumps([CONV]))
    report = dry_run(path)
    assert report.conversations == 1
    assert report.skipped_by_reason["unsafe path in zip (refused)"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]


def test_zip_bomb_ratio_and_total_size_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("conversations.json", b"[" + b" " * (8 << 20) + b"]")
    with pytest.raises(ArchiveError, match="compression ratio"):
        dry_run(path)
    ok = tmp_path / "ok.zip"
    with zipfile.ZipFile(ok, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("conversations.json", json.dumps([CONV] * 50))
    with pytest.raises(ArchiveError, match="possible zip bomb"):
        open_container(ok, max_total=1000)


def test_a_stream_longer_than_declared_is_stopped() -> None:
    reader = SafeReader(io.BytesIO(b"[" + b"1," * 5000 + b"1]"), name="x.json", max_bytes=100)
    with pytest.raises(ArchiveError, match="more data than the archive declares"):
        reader.read()


def test_deep_nesting_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b'[{"mapping": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]")
    with pytest.raises(ArchiveError, match="nested deeper"):
        dry_run(path)
    # Brackets inside strings are text, not nesting.
    conv = json.loads(json.dumps(CONV))
    conv["mapping"]["a"]["message"]["content"]["parts"] = ["[" * 5000 + '\\"{' * 500]
    path.write_text(json.dumps([conv]))
    assert dry_run(path).messages == 2


def test_enormous_strings_are_bounded() -> None:
    data = b'[{"title": "' + b"x" * 5000 + b'"}]'
    reader = SafeReader(io.BytesIO(data), name="big.json", max_string_bytes=1000)
    with pytest.raises(ArchiveError, match="a text longer than"):
        while reader.read(100):
            pass
    assert clean("y" * 50, limit=10).startswith("y" * 10 + "\n[... truncated")


def test_bom_invalid_utf8_and_cesu_surrogates(tmp_path: Path) -> None:
    conv = json.loads(json.dumps(CONV))
    raw = json.dumps([conv], ensure_ascii=False).encode()
    raw = raw.replace(b"hello", b"caf\xe9 \xed\xa0\xbd\xed\xb8\x80 ok \xed\xa0\xbd")
    path = tmp_path / "conversations.json"
    path.write_bytes(b"\xef\xbb\xbf" + raw)
    report = dry_run(path)
    assert report.messages == 2
    from core.importers.chatgpt import parse

    with open_container(path) as container:
        first = next(parse(container.entries[0].open())).messages[0].text
    assert first == "caf\ufffd \U0001f600 ok \ufffd"


def test_text_hygiene_helpers() -> None:
    assert clean("\ufeffhi") == "hi"
    assert clean("Ã©tÃ© â€” naÃ¯ve") == "été — naïve"
    assert clean("café déjà vu") == "café déjà vu"              # real Latin-1 left alone
    assert clean("a\ud800b") == "a\ufffdb"
    assert memory_text("See \ue200cite\ue202turn0search3\ue201 this\ue206.") == "See  this."


def test_truncated_json_keeps_the_conversations_before_the_break(store_only, tmp_path) -> None:
    good = json.dumps([CONV, {**CONV, "id": "c2"}])
    path = tmp_path / "conversations.json"
    path.write_text(good[: good.rindex('"mapping"') + 20])
    with pytest.raises(ArchiveError, match="not valid JSON.*1 conversations before it"):
        run_import(store_only, path, embed=False)
    assert store_only.conversations.count() == 1
    status = store_only.db.execute("SELECT status FROM imports").fetchone()[0]
    assert status == "failed"


@pytest.mark.parametrize("content, expected", [
    (b"", "nothing|an empty file"),
    (b"\x00\x01\x02 binary", "not valid JSON"),
    (b'{"foo": 1, "bar": 2}', "keys bar, foo"),
    (b'[{"uuid": 1}]', "first item has keys uuid"),
])
def test_unknown_content_names_what_was_seen(tmp_path: Path, content, expected) -> None:
    path = tmp_path / "mystery.json"
    path.write_bytes(content)
    with pytest.raises(ArchiveError, match=f"Could not recognise mystery.json.*({expected})"):
        detect(path)


def test_missing_and_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="No such file"):
        dry_run(tmp_path / "absent.json")
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    with pytest.raises(ArchiveError, match="holds no .json"):
        dry_run(empty)


def test_a_folder_of_mixed_exports(tmp_path: Path) -> None:
    for name in ("transcript.md", "claude_conversations.json", "sillytavern_chat.jsonl"):
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    (tmp_path / "notes.txt").write_text("nothing to see")
    report = dry_run(tmp_path)
    assert set(report.formats) == {"Markdown transcript", "Claude", "SillyTavern"}
    assert report.conversations == 4 and "notes.txt" in report.unrecognised_files
