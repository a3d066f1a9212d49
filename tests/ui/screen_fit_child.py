"""The window on a screen of a given size, in its own process (the offscreen platform's screen
size is fixed when the QApplication starts), for test_screen_fit.py.

Seeds a data folder with memories whose texts, subjects and chat titles are long, opens the
window as `engram-gui` does (from a remembered geometry wider than the screen), opens the
memory inspector, selects every row of both views and visits every detail tab, then opens
Settings and every page; prints one JSON line of what it measured.
"""
from __future__ import annotations

import json
import sys
import time

LONG = ("I prefer long detailed answers about the history of Portuguese tile making, azulejos, "
        "including the factories in Lisbon and Porto and the glaze fired twice ")


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def wait(app, predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        app.processEvents()
        time.sleep(0.005)


def seed(home: str) -> None:
    from app.benchmarks.synthetic_gguf import write_tiny_gguf
    from app.paths import resolve_layout
    from core.memory.episodic import remember_messages
    from core.services.engine import Engram

    layout = resolve_layout(home).ensure()
    eng = Engram(layout)
    eng.settings.first_run_done = True
    # a chosen model: Settings then shows its details (the long "Kind" line among them)
    eng.settings.model.path = str(write_tiny_gguf(layout.models_dir / "tiny.gguf"))
    eng.save_settings()
    convs = eng.conversations
    conv = convs.create("A conversation whose title is long enough to be cut in every chip")
    said = [convs.add_message(conv.id, "user", LONG * 2),
            convs.add_message(conv.id, "assistant", "Azulejos are " + "very " * 40 + "old."),
            convs.add_message(conv.id, "user", "https://example.org/" + "x" * 160)]
    remember_messages(eng.memories, said, actor="assistant")
    for i in range(6):
        eng.memories.create("fact", f"{i}: " + LONG * (1 + i % 3), actor="assistant",
                            conversation_id=conv.id, subject="Tile-making-in-Lisbon-and-Porto")
    eng.memories.create("fact", "Unbroken:" + "y" * 300, actor="user")
    eng.close()


def remember_wide_geometry(home: str) -> None:
    """A previous session on a bigger screen left the window 1506 wide (window.ini)."""
    from app.gui import build_window

    app, window = build_window(home, autoload_model=False)
    window.resize(1506, 811)
    window.save_layout()
    window.services.close()
    window.deleteLater()
    pump(app, 0.2)


def main(home: str) -> int:
    seed(home)
    remember_wide_geometry(home)
    from PySide6.QtWidgets import QScrollArea

    from app.gui import build_window

    app, window = build_window(home, autoload_model=False)
    screen = app.primaryScreen().availableGeometry()
    window.show()
    pump(app, 0.5)
    out: dict = {"screen": [screen.width(), screen.height()],
                 "opened": [window.frameGeometry().width(), window.frameGeometry().height()]}
    window.toggle_inspector()          # Ctrl+I
    insp = window.inspector
    wait(app, lambda: insp.model.total > 0)
    pump(app, 0.5)
    out["with_inspector"] = [window.frameGeometry().width(), window.frameGeometry().height()]
    out["dock_min"] = window.inspector_dock.minimumSizeHint().width()
    docks, windows, rows = set(), set(), 0
    for view in ("knows", "turns"):
        insp.show_view(view)
        wait(app, lambda view=view: insp.model.filter.view == view and insp.model.total > 0)
        pump(app, 0.3)
        for row in range(insp.model.rowCount()):
            mid = insp.model.rows[row].id
            insp.table.selectRow(row)
            wait(app, lambda mid=mid: insp.detail.memory is not None
                 and insp.detail.memory.id == mid)
            for tab in range(insp.detail.tabs.count()):
                insp.detail.tabs.setCurrentIndex(tab)
                pump(app, 0.05)
                docks.add(window.inspector_dock.width())
                windows.add(window.frameGeometry().width())
            rows += 1
    out.update(rows=rows, dock_widths=sorted(docks), window_widths=sorted(windows),
               after_rows=[window.frameGeometry().width(), window.frameGeometry().height()])

    window.open_settings()
    dlg = window._dialogs["settings"]
    pump(app, 0.5)
    pages = []
    for i in range(dlg.stack.count()):
        dlg.pages.setCurrentRow(i)
        pump(app, 0.2)
        scroll = dlg.stack.widget(i)
        assert isinstance(scroll, QScrollArea)
        pages.append({"content_min": scroll.widget().minimumSizeHint().width(),
                      "content": scroll.widget().width(),
                      "viewport": scroll.viewport().width(),
                      "sideways": scroll.horizontalScrollBar().isVisible()
                      and scroll.horizontalScrollBar().maximum() > 0})
    out["settings"] = {"size": [dlg.frameGeometry().width(), dlg.frameGeometry().height()],
                       "hint": [dlg.sizeHint().width(), dlg.sizeHint().height()],
                       "pages": pages}
    dlg.close()
    window.close()
    window.services.close()
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
