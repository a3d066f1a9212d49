"""`engram bench retrieval --synthetic` runs end to end on a small set, and --home keeps the
built folder for the next run (the 100,000-memory figures are built once this way)."""
from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import engram_cli


def test_synthetic_latency_builds_once_then_reuses_its_folder(tmp_path: Path) -> None:
    bench_home = tmp_path / "bench"
    args = ("bench", "retrieval", "--synthetic", "150", "--queries", "5",
            "--home", str(bench_home), "--json")
    first = engram_cli(tmp_path / "h", *args)
    assert first.returncode == 0, first.stderr
    built = json.loads(first.stdout)["synthetic"]
    assert built["memories"] == 150 and not built["reused"]
    assert 0 < built["total_ms"]["p50"] <= built["total_ms"]["p95"]
    again = json.loads(engram_cli(tmp_path / "h", *args).stdout)["synthetic"]
    assert again["reused"]
    other = engram_cli(tmp_path / "h", "bench", "retrieval", "--synthetic", "100",
                       "--home", str(bench_home))
    assert other.returncode == 1 and "holds other data" in other.stderr
