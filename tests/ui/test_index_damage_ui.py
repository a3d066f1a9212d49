"""The desktop app on a data folder whose vector index is damaged (a real torn HNSW header, see
tests/core/test_index_damage.py): the background sync rebuilds it and the status bar says so
in one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.test_index_damage import _clear_chroma_cache, _damaged_home


@pytest.fixture
def damaged_services(home: Path, embedder, qapp):
    from app.paths import resolve_layout
    from core.services.engine import Engram
    from ui.services import Services

    ids, _ = _damaged_home(home, embedder)
    eng = Engram(resolve_layout().ensure())
    eng._embedder = embedder
    eng.settings.first_run_done = True
    svc = Services(eng.layout, eng)
    yield svc, ids
    svc.close()
    _clear_chroma_cache()


def test_the_status_bar_says_the_damaged_index_was_rebuilt(damaged_services, qtbot) -> None:
    from ui.main_window import MainWindow
    from ui.services import INDEX_REBUILT
    from ui.status_bar import EngramStatusBar

    services, ids = damaged_services
    win = MainWindow(services=services, autoload_model=False)
    qtbot.addWidget(win)
    win.show()
    bar = win.findChild(EngramStatusBar)
    services.sync_index()
    qtbot.waitUntil(lambda: bar.currentMessage() == INDEX_REBUILT, timeout=60_000)
    assert "Nothing was lost" in bar.currentMessage()
    assert sorted(services.engram.index.all_ids()) == sorted(ids)
    services.runner.cancel_all()
