from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def engram_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENGRAM_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_info_reports_the_data_folder_as_json(tmp_path: Path) -> None:
    out = engram_cli(tmp_path / "h", "info", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["data_dir"] == str((tmp_path / "h").resolve())
    assert info["schema_version"] >= 2
    assert info["llama_cpp"] == "0.3.36" and info["gpu_offload"] in (True, False)
    assert info["memory_jobs_pending"] == 0 and info["memory_jobs_failed"] == 0
    assert (tmp_path / "h" / "engram.db").exists()


def test_too_new_database_is_one_line_error_and_nonzero(tmp_path: Path) -> None:
    from core.store.db import open_database

    home = tmp_path / "h"
    home.mkdir()
    open_database(home / "engram.db").execute(
        "INSERT INTO schema_migrations (id, name, applied_at) VALUES (999, 'future', 0)")
    out = engram_cli(home, "info")
    assert out.returncode == 1
    assert out.stderr.startswith("engram: error: This database was written by a newer")
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_unknown_subcommand_exits_2(tmp_path: Path) -> None:
    out = engram_cli(tmp_path / "h", "frobnicate")
    assert out.returncode == 2
    assert "invalid choice" in out.stderr


def test_doctor_on_a_fresh_folder_is_healthy(tmp_path: Path) -> None:
    out = engram_cli(tmp_path / "h", "doctor", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["healthy"] is True
