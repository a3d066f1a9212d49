"""The desktop app's process never imports torch, sentence-transformers or chromadb: they run
in the index worker process, where their long GIL-holding calls cannot freeze the window."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "tests" / "fixtures" / "archives" / "chatgpt_conversations.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def test_gui_session_keeps_torch_and_chroma_out_of_the_gui_process(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ENGRAM_HOME": str(tmp_path / "home")}
    child = Path(__file__).with_name("gui_session_child.py")
    out = subprocess.run([sys.executable, str(child), str(tmp_path / "home"), str(ARCHIVE)],
                         cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                         text=True, timeout=600, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["index_process"] is True
    assert result["heavy_modules"] == []
    assert result["memories_created"] > 0 and result["reindexed"]
    assert result["index_count"] == result["indexable"] > 0
    assert result["semantic_hits"] > 0 and result["retrieved"] > 0
    assert result["purged"]
    # the worker went with the window
    pid = result["worker_pid"]
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
