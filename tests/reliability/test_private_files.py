"""Everything Engram writes about a person is owner-only: the data folder, the database and
its WAL, backups, exports, logs, the vector index; `engram doctor` reports what is not and
`--repair` fixes it."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.reliability.archive_maker import chatgpt_export
from tests.reliability.failing_env import run_engram

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def loose(paths: list[Path]) -> list[str]:
    return [f"{p} {stat.filemode(p.stat().st_mode)}" for p in paths
            if p.stat().st_mode & 0o077]


def test_files_a_session_writes_are_owner_only_even_with_a_permissive_umask(
        tmp_path: Path) -> None:
    old = os.umask(0o022)              # what most systems default to
    try:
        home, out = tmp_path / "home", tmp_path / "exports"
        out.mkdir()
        archive = chatgpt_export(tmp_path / "c.json", conversations=3, messages=4,
                                 words_per_message=10)
        for args in (["import", str(archive)], ["backup"], ["export", str(out / "all.json")],
                     ["export", "--format", "markdown", str(out / "md")], ["reindex"]):
            result = run_engram(home, *args)
            assert result.returncode == 0, result.stderr
    finally:
        os.umask(old)
    written = [home, *home.rglob("*"), out / "all.json", out / "md", *(out / "md").iterdir()]
    assert (home / "engram.db").exists() and list((home / "backups").glob("*.db"))
    assert (home / "logs" / "engram.log").exists() and (home / "chroma").is_dir()
    assert loose(written) == []
    doctor = json.loads(run_engram(home, "doctor", "--json").stdout)
    assert doctor["file_permissions"] == "owner-only" and doctor["healthy"]


def test_doctor_reports_files_readable_by_others_and_repair_fixes_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_engram(home, "backup").returncode == 0
    backup = next((home / "backups").glob("*.db"))
    home.chmod(0o755)
    backup.chmod(0o644)                # as Engram made them before
    (home / "engram.db").chmod(0o644)
    out = run_engram(home, "doctor", "--json")
    assert out.returncode == 1
    found = json.loads(out.stdout)
    # while doctor runs, the database's -wal and -shm files exist with the database's mode
    required = {str(home), str(home / "engram.db"), str(backup)}
    allowed = required | {str(home / "engram.db-wal"), str(home / "engram.db-shm")}
    assert required <= set(found["loose_permissions"]) <= allowed, found["loose_permissions"]
    assert found["file_permissions"].startswith(f"{len(found['loose_permissions'])} readable")
    out = run_engram(home, "doctor", "--repair", "--json")
    assert out.returncode == 0, out.stdout
    assert loose([Path(p) for p in allowed if Path(p).exists()]) == []
