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


def test_an_export_in_several_zips_imports_part_by_part(tmp_path: Path) -> None:
    # as 2026 exports arrive: a folder of zips, each a part of the archive
    import zipfile

    parts = tmp_path / "export"
    parts.mkdir()
    with zipfile.ZipFile(parts / "part-1.zip", "w") as zf:
        zf.write(FIXTURES / "chatgpt_conversations.json", "conversations.json")
    with zipfile.ZipFile(parts / "part-2.zip", "w") as zf:
        zf.write(FIXTURES / "claude_conversations.json", "conversations.json")
    (parts / "manifest.json").write_text('{"parts": ["part-1.zip", "part-2.zip"]}')
    out = engram_cli(tmp_path / "h", "import", str(parts), "--no-embed", "--json")
    assert out.returncode == 0, out.stderr
    assert "only the zips" in out.stderr
    reports = json.loads(out.stdout)
    assert [r["formats"] for r in reports] == [["ChatGPT"], ["Claude"]]
    assert [r["new_conversations"] for r in reports] == [2, 2]
    # the same parts named one by one add nothing the second time
    again = engram_cli(tmp_path / "h", "import", str(parts / "part-1.zip"),
                       str(parts / "part-2.zip"), "--no-embed", "--json")
    assert [r["new_messages"] for r in json.loads(again.stdout)] == [0, 0]
