"""A purge killed anywhere (SIGKILL) is finished at the next start and by `engram doctor
--repair`; `engram doctor` reports it until then; nothing temporary is left behind."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.services.engine import Engram
from core.services.startup import recover
from core.store import purge_journal
from core.store.backup import backup_now, leftovers, list_backups
from tests.reliability.probes import files_containing, fill_index, vector_hits

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("purge_child.py")
MARKER = "cormorant-feldspar-2208"
SECRET = f"The alarm code for the workshop is {MARKER}, changed every spring"


def prepare(home: Path, embedder, *, fillers: int = 0) -> str:
    """A data folder with the secret as a memory, indexed, in a backup, and in a log line."""
    eng = Engram.open(home)
    eng._embedder = embedder
    eng.memories.create("fact", "Grows basil on the kitchen windowsill", actor="user")
    mem = eng.memories.create("fact", SECRET, actor="user")
    eng.index_sync.sync()
    if fillers:
        fill_index(eng, fillers)
    backup_now(eng.db, eng.layout.backups_dir)
    eng.layout.logs_dir.mkdir(parents=True, exist_ok=True)
    with (eng.layout.logs_dir / "engram.log").open("a") as f:
        f.write(f"2026-12-01 DEBUG a line that should never have held {SECRET}\n")
    eng.close()
    assert files_containing(home, MARKER)
    return mem.id


def run_child(home: Path, memory_id: str, stop_at: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(CHILD), str(home), memory_id, stop_at],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def kill_at(home: Path, memory_id: str, stop_at: str) -> None:
    proc = run_child(home, memory_id, stop_at)
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if line.strip() == f"AT {stop_at}":
            break
    assert lines and lines[-1] == f"AT {stop_at}", (lines, proc.stderr.read())
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def assert_purged_everywhere(home: Path, embedder, memory_id: str) -> None:
    assert files_containing(home, MARKER) == []
    assert vector_hits(home, embedder, [SECRET]) == {SECRET: []}
    assert leftovers(home / "backups") == []
    eng = Engram.open(home)
    try:
        assert purge_journal.pending(eng.db) == []
        assert eng.memories.get(memory_id).status == "purged"
        assert eng.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        eng.close()


def engram_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENGRAM_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("stop_at", ["planned", "database", "rebuild", "backup-copy"])
def test_a_purge_killed_at_each_step_is_finished_at_the_next_start(
        home: Path, embedder, stop_at: str) -> None:
    memory_id = prepare(home, embedder)
    kill_at(home, memory_id, stop_at)

    eng = Engram.open(home)
    eng._embedder = embedder
    pending = purge_journal.pending(eng.db)
    assert [e.stage for e in pending] == (["planned"] if stop_at == "planned" else ["database"])
    assert files_containing(home, MARKER), "killed before the files were cleaned"
    if stop_at == "backup-copy":
        assert leftovers(eng.layout.backups_dir), "the half-written backup is on disk"
    report = recover(eng)            # what the app runs at start-up
    assert (report.purges_finished, report.purges_unfinished) == (1, 0)
    eng.close()
    assert_purged_everywhere(home, embedder, memory_id)


@pytest.mark.slow
def test_doctor_reports_an_unfinished_purge_and_repair_finishes_it(home: Path, embedder) -> None:
    memory_id = prepare(home, embedder)
    kill_at(home, memory_id, "database")

    out = engram_cli(home, "doctor", "--json")
    assert out.returncode == 1, out.stderr
    found = json.loads(out.stdout)
    assert found["purges"] == "0 finished, 1 unfinished" and not found["healthy"]
    assert "stage database" in found["unfinished_purges"][0]
    assert found["purged_text_problems"]["backups holding purged rows"] == 1
    assert files_containing(home, MARKER)           # doctor alone changes nothing

    out = engram_cli(home, "doctor", "--repair")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "finished 1 unfinished purge(s)" in out.stdout
    out = engram_cli(home, "doctor", "--json")
    found = json.loads(out.stdout)
    assert found["healthy"] and found["purges"] == "1 finished, 0 unfinished"
    assert found["purged_text_left"].startswith("none")
    assert found["purged_vectors_left"].startswith("none")
    assert_purged_everywhere(home, embedder, memory_id)


@pytest.mark.slow
def test_any_command_finishes_an_unfinished_purge_and_a_rerun_says_what_happened(
        home: Path, embedder) -> None:
    memory_id = prepare(home, embedder)
    kill_at(home, memory_id, "rebuild")
    out = engram_cli(home, "memories", "purge", memory_id, "--yes")
    assert out.returncode == 0, out.stderr
    assert "finished 1 purge(s) an earlier run had left unfinished" in out.stderr
    assert f"memory {memory_id} was purged already" in out.stdout     # not "purged 0 memory"
    assert_purged_everywhere(home, embedder, memory_id)


@pytest.mark.slow
def test_killed_at_random_moments_a_purge_is_never_half_done(tmp_path: Path, embedder) -> None:
    """Three kills at random moments of a purge whose index rebuild takes seconds (3,000
    vectors): after the next start the memory is either untouched or purged everywhere."""
    rng = random.Random(2208)
    interrupted = []
    for attempt in range(3):
        home = tmp_path / f"home{attempt}"
        memory_id = prepare(home, embedder, fillers=3000)
        proc = run_child(home, memory_id, "none")
        assert proc.stdout.readline().strip() == "STARTED", proc.stderr.read()
        time.sleep(rng.uniform(0.0, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        eng = Engram.open(home)
        eng._embedder = embedder
        interrupted += [e.stage for e in purge_journal.pending(eng.db)]
        recover(eng)
        status = eng.memories.get(memory_id).status
        eng.close()
        if status == "purged":
            assert_purged_everywhere(home, embedder, memory_id)
        else:
            assert status == "active" and files_containing(home, MARKER)
            assert len(list_backups(home / "backups")) == 1 and not leftovers(home / "backups")
    assert interrupted, "no kill landed inside the purge: the test proved nothing"
