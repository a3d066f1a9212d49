"""Every failure class is one clear line on stderr and a non-zero exit, with the detail in the
log file, and nothing partial left on disk. The environments are real (tests/reliability/
failing_env.py): a tmpfs that fills up (a real ENOSPC), and file modes enforced on a child
that dropped root's capabilities to override them."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.reliability.archive_maker import chatgpt_export
from tests.reliability.failing_env import (
    fill_disk,
    grow_disk,
    logged_detail,
    one_error_line,
    require_enforced_permissions,
    run_engram,
    small_disk,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "archives"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return chatgpt_export(tmp_path / "conversations.json", conversations=3, messages=4,
                          words_per_message=10)


def test_an_unreadable_folder_and_a_file_inside_one(tmp_path: Path, archive: Path) -> None:
    require_enforced_permissions(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(archive, locked / "conversations.json")
    locked.chmod(0)
    try:
        for target in (locked, locked / "conversations.json"):
            out = run_engram(tmp_path / "home", "import", "--no-embed", str(target),
                             without_dac=True)
            line = one_error_line(out)
            assert f"permission denied: {target}" in line, line
            assert "PermissionError" in logged_detail(line)
    finally:
        locked.chmod(0o700)


def test_a_read_only_data_folder(tmp_path: Path, archive: Path) -> None:
    require_enforced_permissions(tmp_path)
    home = tmp_path / "home"
    assert run_engram(home, "import", "--no-embed", str(archive)).returncode == 0
    modes = {p: p.stat().st_mode for p in [home, *home.rglob("*")]}
    for path in sorted(modes, key=lambda p: -len(p.parts)):
        path.chmod(modes[path] & 0o555)
    try:
        for command in (["memories", "list"], ["import", "--no-embed", str(archive)],
                        ["export", str(tmp_path / "out.json")]):
            line = one_error_line(run_engram(home, *command, without_dac=True))
            assert f"{home} is read-only" in line, line
            assert "readonly database" in logged_detail(line)
        assert not (tmp_path / "out.json").exists()
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


@pytest.mark.slow
def test_a_full_disk_during_import_keeps_whole_conversations(tmp_path: Path) -> None:
    archive = chatgpt_export(tmp_path / "big.json", conversations=4000, messages=6)
    assert archive.stat().st_size > 20 * 1024 * 1024
    with small_disk(tmp_path / "disk", 20) as disk:
        home = disk / "home"
        line = one_error_line(run_engram(home, "import", "--no-embed", str(archive)))
        assert line.startswith("engram: error: the disk is full"), line
        assert "the import of big.json stopped after" in line and "run it again" in line
        assert "database or disk is full" in logged_detail(line)
        db = sqlite3.connect(home / "engram.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sizes = {n for (n,) in db.execute(
            "SELECT count(*) FROM messages GROUP BY conversation_id")}
        assert sizes <= {6}, sizes                  # no half conversation
        kept = db.execute("SELECT count(*) FROM conversations").fetchone()[0]
        db.close()
        assert 0 < kept < 4000

        grow_disk(disk, 400)                         # room again: importing again finishes it
        out = run_engram(home, "import", "--no-embed", "--json", str(archive))
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["new_conversations"] == 4000 - kept
        db = sqlite3.connect(home / "engram.db")
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 4000 * 6
        db.close()


@pytest.mark.slow
def test_doctor_on_a_full_disk(tmp_path: Path, archive: Path) -> None:
    with small_disk(tmp_path / "disk", 30) as disk:
        home = disk / "home"
        assert run_engram(home, "import", str(archive)).returncode == 0
        fill_disk(disk)
        line = one_error_line(run_engram(home, "doctor"))
        assert line.startswith("engram: error: the disk is full"), line
        logged_detail(line)


@pytest.mark.slow
def test_export_to_a_full_disk_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    archive = chatgpt_export(tmp_path / "c.json", conversations=400, messages=6)
    assert run_engram(home, "import", "--no-embed", str(archive)).returncode == 0
    with small_disk(tmp_path / "disk", 1) as disk:
        target = disk / "export.json"
        line = one_error_line(run_engram(home, "export", str(target)))
        assert line.startswith("engram: error: The disk is full"), line
        assert "No space left on device" in logged_detail(line)
        assert list(disk.iterdir()) == []            # no export.json.partial


def test_export_into_a_missing_folder(tmp_path: Path, archive: Path) -> None:
    home = tmp_path / "home"
    assert run_engram(home, "import", "--no-embed", str(archive)).returncode == 0
    target = tmp_path / "no-such-folder" / "export.json"
    for args in (["export", str(target)], ["export", "--format", "markdown",
                                           str(tmp_path / "no-such-folder" / "md")]):
        line = one_error_line(run_engram(home, *args))
        assert f"the folder {tmp_path / 'no-such-folder'} does not exist" in line, line
    assert not (tmp_path / "no-such-folder").exists()


def test_restore_of_a_truncated_export_restores_nothing(tmp_path: Path, archive: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    assert run_engram(source, "import", "--no-embed", str(archive)).returncode == 0
    full = tmp_path / "export.json"
    assert run_engram(source, "export", str(full)).returncode == 0
    cut = tmp_path / "cut.json"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert run_engram(target, "info").returncode == 0
    line = one_error_line(run_engram(target, "restore", str(cut)))
    assert "cut.json is truncated or damaged" in line and "nothing was restored" in line, line
    db = sqlite3.connect(target / "engram.db")
    assert db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    db.close()


@pytest.mark.slow
def test_a_full_disk_during_a_purge_is_finished_when_there_is_room(tmp_path: Path,
                                                                   archive: Path) -> None:
    with small_disk(tmp_path / "disk", 40) as disk:
        home = disk / "home"
        assert run_engram(home, "import", str(archive)).returncode == 0
        assert run_engram(home, "backup").returncode == 0
        conv = json.loads(run_engram(home, "conversations", "list", "--json").stdout)[0]["id"]
        fill_disk(disk)
        line = one_error_line(run_engram(home, "conversations", "purge", conv, "--yes"))
        assert "disk is full" in line, line
        (disk / "filler.bin").unlink()
        doctor = json.loads(run_engram(home, "doctor", "--json").stdout)
        unfinished = doctor["purges"] != "0 finished, 0 unfinished"
        out = run_engram(home, "doctor", "--repair", "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        if unfinished:                               # the journal got written before the disk gave out
            assert json.loads(out.stdout)["purges"] == "1 finished, 0 unfinished"
        else:                                        # it did not: nothing was purged, run it again
            assert run_engram(home, "conversations", "purge", conv, "--yes").returncode == 0
        assert conv not in run_engram(home, "conversations", "list").stdout
        assert json.loads(run_engram(home, "doctor", "--json").stdout)["healthy"]


def test_a_truncated_zip_and_a_too_deep_file_say_what_they_are(tmp_path: Path,
                                                               archive: Path) -> None:
    import zipfile

    good = tmp_path / "export.zip"
    with zipfile.ZipFile(good, "w") as z:
        z.write(archive, "conversations.json")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    line = one_error_line(run_engram(tmp_path / "home", "import", str(cut)))
    assert "cut.zip is a zip file that is truncated or damaged" in line, line
    deep = tmp_path / "deep_plain.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    line = one_error_line(run_engram(tmp_path / "home", "import", str(deep)))
    assert line.count("deep_plain.json") == 1 and "nested deeper" in line, line


@pytest.mark.parametrize("damage", ["not a gguf", "cut in half"])
def test_a_chat_with_a_broken_model_leaves_no_empty_conversation(
        tmp_path: Path, tiny_gguf: Path, damage: str) -> None:
    bad = tmp_path / "bad.gguf"
    data = tiny_gguf.read_bytes()
    bad.write_bytes(b"\0" * 4096 if damage == "not a gguf" else data[: len(data) // 2])
    home = tmp_path / "home"
    one_error_line(run_engram(home, "chat", "--model", str(bad), "--message", "hello"))
    out = run_engram(home, "conversations", "list", "--json")
    assert json.loads(out.stdout) == []
