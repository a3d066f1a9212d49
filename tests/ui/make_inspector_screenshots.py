"""Screenshots of memory as a person meets it (issue 15), from a real data folder:
`python tests/ui/make_inspector_screenshots.py HOME OUT_DIR` under a display (Xvfb).

HOME is a data folder built beforehand the way a person fills one (an archive imported, a
chat with the starter model, its memory worker run; see README "Memory you can see and
steer"). The app opens on a copy of it; nothing is faked. Popups (the chip menu, the purge
confirmation) are grabbed from the screen, since they are windows of their own.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def wait(app, predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)


def screen(app, path: Path) -> None:
    app.primaryScreen().grabWindow(0).save(str(path))


def main(home_in: str, out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="engram-inspector-")) / "home"
    shutil.copytree(home_in, home)
    from app.gui import build_window

    app, window = build_window(str(home), autoload_model=False)
    window.resize(1500, 900)
    window.move(0, 0)
    window.show()
    insp = window.inspector
    window.show_inspector()
    insp.refresh()
    wait(app, lambda: insp.model.total > 0 and "Engram knows" in insp.tally.text())
    facts = [m for m in insp.model.rows if m.kind == "fact"]
    if facts:
        insp.show_memory(facts[0].id)
        wait(app, lambda: insp.detail.memory is not None)
    window.grab().save(str(out / "inspector.png"))
    if facts:                                      # a person keeps it, then always sends it
        insp.set_pinned([facts[0].id], True)
        wait(app, lambda: insp.detail.pinned.isChecked(), 5)
        insp.set_always([facts[0].id], True)
        wait(app, lambda: insp.detail.always.isChecked(), 5)
    insp.detail.tabs.setCurrentIndex(2)            # history, in words
    wait(app, lambda: True, 0.3)
    window.grab().save(str(out / "inspector-history.png"))
    insp.detail.tabs.setCurrentIndex(0)

    insp.show_view("turns")
    wait(app, lambda: insp.model.filter.view == "turns" and insp.model.total > 0)
    turn = next((m for m in insp.model.rows if m.meta.get("role") == "user"), None)
    if turn is not None:
        insp.show_memory(turn.id)
        wait(app, lambda: insp.detail.memory is not None and insp.detail.memory.id == turn.id)
    window.grab().save(str(out / "inspector-turns.png"))
    if turn is not None:
        insp.purge_button.click()
        from PySide6.QtWidgets import QMessageBox

        wait(app, lambda: insp.findChild(QMessageBox, "confirmBox") is not None)
        screen(app, out / "inspector-purge.png")
        box = insp.findChild(QMessageBox, "confirmBox")
        box.close()
        wait(app, lambda: True, 0.2)

    # The chat: an answer's memories-used chips and a chip's feedback menu.
    convs = window.conversations.conversations
    lena = next((c for c in convs if "Lena" in (c.title or "")), convs[0] if convs else None)
    if lena is not None:
        window.conversations.select(lena.id)
        wait(app, lambda: len(window.chat.widgets) >= 2)
        answers = [w for w in window.chat.widgets if w.chip_buttons()]
        if answers:
            chip = answers[-1].chip_buttons()[0]
            menu = answers[-1].chip_menu(chip)
            menu.popup(chip.mapToGlobal(chip.rect().bottomLeft()))
            wait(app, lambda: menu.isVisible(), 3)
            screen(app, out / "inspector-chip-feedback.png")
            menu.close()
    # The memory switch, paused.
    window.status.memory_switch.pause(60.0, False)
    wait(app, lambda: window.status.memory_switch.text().startswith("Memory paused"), 5)
    window.grab().save(str(out / "inspector-memory-paused.png"))
    window.status.memory_switch.resume()
    wait(app, lambda: window.status.memory_switch.text() == "Memory on", 5)
    window.shutdown()
    print("\n".join(sorted(str(p) for p in out.glob("inspector*.png"))))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: make_inspector_screenshots.py HOME OUT_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
