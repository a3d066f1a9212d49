"""`engram info` tells how many memories still wait for their vectors, how long the rest
should take and that word search finds them meanwhile; after embedding, nothing waits."""
from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import ROOT, engram_cli

ARCHIVE = ROOT / "tests" / "fixtures" / "archives" / "chatgpt_conversations.json"


def _info(home: Path) -> dict:
    out = engram_cli(home, "info", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_info_counts_the_memories_waiting_for_vectors(tmp_path: Path) -> None:
    home = tmp_path / "h"
    imported = engram_cli(home, "import", str(ARCHIVE), "--no-embed", "--json")
    assert imported.returncode == 0, imported.stderr
    made = json.loads(imported.stdout)["memories_created"]
    info = _info(home)
    assert made > 0 and info["memories_waiting_for_vectors"] == made
    assert info["embedding_now"] is False
    assert "word search" in info["search_meanwhile"]
    assert "unknown" in info["vectors_time_left"]             # nothing measured here yet
    assert info["embedding_runtime"].startswith("auto")
    done = engram_cli(home, "reindex")
    assert done.returncode == 0, done.stderr
    info = _info(home)
    assert info["memories_waiting_for_vectors"] == 0
    assert "vectors_time_left" not in info and "search_meanwhile" not in info
