from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_first_run_shows_the_welcome_page_with_the_starter_model(qtbot, home: Path) -> None:
    from app.gui import build_window

    _app, window = build_window(str(home), autoload_model=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Engram"
    assert window.stack.currentWidget() is window.welcome
    text = " ".join(w.text() for w in window.welcome.findChildren(type(window.status.model_label)))
    assert "Gemma 3 270M" in text and "base model" in text and "Gemma's terms" in text
    # Import and the inspector work with no model at all.
    assert window.welcome.import_button.isEnabled()
    window.welcome.open_inspector.emit()
    assert window.inspector_dock.isVisible()
    window.welcome.skip.emit()
    assert window.stack.currentWidget() is window.chat
    qtbot.waitUntil(lambda: window.services.runner.busy is False)
    window.services.runner.shutdown()
    from core.base.settings import load_settings

    assert load_settings(window.layout_.settings_path).first_run_done
    window.services.engram.close()


def test_window_opens_without_heavy_libraries(home: Path) -> None:
    """torch, sentence-transformers, chromadb and llama_cpp load later, off the GUI thread."""
    code = (
        "import os, sys; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
        "from app.gui import build_window\n"
        f"app, w = build_window({str(home)!r}, autoload_model=False); w.show(); app.processEvents()\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'chromadb', 'llama_cpp')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
        "w.shutdown()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2], check=False)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_start_up_backs_up_and_repairs_the_index_in_the_background(qtbot, home: Path) -> None:
    from core.services.engine import Engram
    from ui.services import Services

    eng = Engram.open(home)
    mem = eng.memories.create("fact", "The spare key is under the blue pot", actor="user")
    eng.db.execute("INSERT INTO imports (id, file_name, file_hash, format, started_at)"
                   " VALUES ('i1', 'a.zip', 'h', 'chatgpt', 1)")   # left running by a crash
    services = Services(eng.layout, eng)
    try:
        services.warm_up()
        qtbot.waitUntil(lambda: eng.db.execute(
            "SELECT status FROM imports").fetchone()[0] == "cancelled", timeout=120_000)
        qtbot.waitUntil(lambda: eng.memories.get(mem.id).indexed_version == 1, timeout=120_000)
        assert list((home / "backups").glob("engram-auto-*.db"))
    finally:
        services.close()
