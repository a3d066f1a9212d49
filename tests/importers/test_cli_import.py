from __future__ import annotations

import json
from pathlib import Path

from tests.app.test_cli import engram_cli

from .conftest import FIXTURES


def test_dry_run_json_and_summary(tmp_path: Path) -> None:
    out = engram_cli(tmp_path / "h", "import", str(FIXTURES / "chatgpt_conversations.json"),
                     "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["conversations"], data["messages"], data["branches"]) == (2, 18, 1)
    assert data["dry_run"] is True and data["import_id"] is None
    out = engram_cli(tmp_path / "h", "import", str(FIXTURES / "claude_conversations.json"),
                     "--no-embed")
    assert out.returncode == 0, out.stderr
    assert "format         Claude" in out.stdout and "conversations  2" in out.stdout
    assert "conversation without chat_messages" in out.stdout


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('[{"mapping": {"a": ')
    for target in (bad, tmp_path / "missing.zip"):
        out = engram_cli(tmp_path / "h", "import", str(target))
        assert out.returncode == 1
        assert out.stderr.startswith("engram: error: ") and out.stderr.count("\n") == 1
        assert "Traceback" not in out.stderr
