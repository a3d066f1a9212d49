from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "archives"


@pytest.fixture
def fixture_copy(tmp_path: Path):
    """Copy a fixture into tmp_path (tests may rewrite or zip it)."""
    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copy(FIXTURES / name, dest)
        return dest
    return copy


@pytest.fixture
def store_only(home: Path):
    """An Engram on a temp folder, used without embeddings (import with embed=False)."""
    from core.services.engine import Engram

    eng = Engram.open(home)
    yield eng
    eng.close()
