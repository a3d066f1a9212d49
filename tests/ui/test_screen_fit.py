"""The app on a 1400x900 and a 1280x800 screen: the memory inspector and Settings fit, selecting
memories never moves the dock; Ctrl+S saves the memory being edited; a model the command line
already uses is the app's model at first start (no welcome page asking again)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import run_db

ROOT = Path(__file__).resolve().parents[2]


def _measure_on_screen(tmp_path: Path, width: int, height: int) -> dict:
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "test", "x": 0, "y": 0, "width": width,
                                               "height": height, "logicalDpi": 96,
                                               "logicalBaseDpi": 96, "dpr": 1}]}))
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
           "ENGRAM_HOME": str(home), "PYTHONPATH": str(ROOT)}
    child = Path(__file__).with_name("screen_fit_child.py")
    out = subprocess.run([sys.executable, str(child), str(home)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.parametrize("screen", [(1400, 900), (1280, 800)])
def test_inspector_and_settings_fit_the_screen(tmp_path: Path, screen: tuple[int, int]) -> None:
    width, height = screen
    got = _measure_on_screen(tmp_path, width, height)
    assert got["screen"] == [width, height]
    assert got["rows"] >= 8                      # facts and turns, long texts among them
    # A window remembered 1506 wide comes back on the screen; the inspector never widens it.
    for moment in ("opened", "with_inspector", "after_rows"):
        w, h = got[moment]
        assert w <= width and h <= height, (moment, got[moment])
    assert got["with_inspector"] == got["opened"] == got["after_rows"]
    assert got["dock_min"] <= 450                # a modest dock: the chat keeps its room
    # Selecting any row, on any detail tab, never changes the dock's or the window's width.
    assert len(got["dock_widths"]) == 1 and len(got["window_widths"]) == 1, got
    assert got["dock_widths"][0] <= width * 0.5
    # Settings opens within the screen; no page is wider than what shows of it.
    s = got["settings"]
    assert s["size"][0] <= width and s["size"][1] <= height, s
    assert s["hint"][0] <= width and s["hint"][1] <= height, s
    for page in s["pages"]:
        assert not page["sideways"], page
        assert page["content_min"] <= page["viewport"] and page["content"] <= page["viewport"]


def _seed_fact(engram) -> str:
    return engram.memories.create("fact", "The user's sister is called Ana.",
                                  actor="assistant").id


def test_ctrl_s_in_the_detail_saves_the_text(qtbot, window, services) -> None:
    mid = run_db(qtbot, services, _seed_fact)
    with qtbot.waitSignal(window.inspector.memory_shown, timeout=5000):
        window.open_memory(mid)
    detail = window.inspector.detail
    edit = detail.text_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus)
    # Unchanged text: Ctrl+S writes no new version.
    qtbot.keyClick(edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(300)
    assert run_db(qtbot, services, lambda eng: eng.memories.get(mid).version) == 1
    edit.setPlainText("The user's sister Ana lives in Porto.")
    with qtbot.waitSignal(window.inspector.memory_shown, timeout=5000):
        qtbot.keyClick(edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = run_db(qtbot, services, lambda eng: eng.memories.get(mid))
    assert saved.text == "The user's sister Ana lives in Porto." and saved.version == 2
    assert not detail.save_button.isEnabled()        # the pane shows what is stored
    events = [e.event for e in run_db(qtbot, services, lambda eng: eng.memories.events(mid))]
    assert events.count("edited") == 1               # the same operation as Save text


def test_ctrl_s_outside_the_detail_does_not_save_it(qtbot, window, services) -> None:
    mid = run_db(qtbot, services, _seed_fact)
    with qtbot.waitSignal(window.inspector.memory_shown, timeout=5000):
        window.open_memory(mid)
    window.inspector.detail.text_edit.setPlainText("Half-typed edit")
    window.chat.composer.setFocus()
    qtbot.waitUntil(window.chat.composer.hasFocus)
    qtbot.keyClick(window.chat.composer, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(300)
    assert run_db(qtbot, services, lambda eng: eng.memories.get(mid).text) == \
        "The user's sister is called Ana."


def _window_for(home: Path, qtbot):
    from app.gui import build_window

    _app, window = build_window(str(home), autoload_model=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _close(qtbot, window) -> None:
    services = window.services
    qtbot.waitUntil(lambda: services.runner.busy is False, timeout=10000)
    services.close()


def test_first_start_after_engram_chat_uses_the_starter_model(qtbot, home: Path) -> None:
    """`engram chat` with no model chosen prepared the starter model in this data folder (its
    open_llm → model_path → ensure_starter_model); the app's first start uses it too."""
    from app.paths import resolve_layout
    from core.base.errors import EngramError
    from core.base.settings import ModelSettings
    from core.runtime.factory import model_path

    layout = resolve_layout(str(home)).ensure()
    try:
        starter = model_path(layout, ModelSettings(), prepare=True)   # what the CLI does
    except EngramError as exc:
        pytest.skip(str(exc))
    window = _window_for(home, qtbot)
    try:
        assert not window.services.settings.first_run_done
        assert window.stack.currentWidget() is window.chat      # no welcome page asking again
        window._autoload_model()                                 # what start-up schedules
        qtbot.waitUntil(lambda: window.services.llm is not None, timeout=120000)
        assert Path(window.services.llm.path) == starter
        assert "Gemma 3 270m" in window.status.model_label.text()
    finally:
        _close(qtbot, window)


def test_first_start_without_a_prepared_model_offers_the_starter_focused(qtbot,
                                                                        home: Path) -> None:
    window = _window_for(home, qtbot)
    try:
        assert window.stack.currentWidget() is window.welcome
        button = window.welcome.starter_button
        if not button.isEnabled():
            pytest.skip("the starter model package is not installed")
        window.activateWindow()
        qtbot.waitUntil(lambda: window.focusWidget() is button)
        # Nothing is written or loaded before the click.
        assert not list(window.layout_.models_dir.glob("*.gguf"))
        assert window.services.llm is None
    finally:
        _close(qtbot, window)
