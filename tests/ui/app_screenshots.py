"""Screenshots of what the app really does: `python tests/ui/app_screenshots.py OUT_DIR`.

Nothing on these pictures is scripted. A fresh data folder; the real ChatGPT export samples in
../shared/data/archives (when that folder exists) imported by the real importer; the starter
model (Gemma 3 270M base, from its package) loaded by the app's own loader and answering
through the real ChatService; the memory worker running the import's real jobs, which yield
when a message is sent. Run under Xvfb (`Xvfb :99 & DISPLAY=:99 ...`); falls back to offscreen.
Writes chat.png, chat-find.png, chat-dark.png, welcome.png, import.png, settings.png,
settings-memory.png, help.png and status-memory-work.png (not the inspector's pictures).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ARCHIVES = ROOT.parent / "shared" / "data" / "archives"
# an unpacked copy of the starter model to load in place (else it is prepared as on first start)
STARTER_COPY = Path(os.environ.get("ENGRAM_STARTER_GGUF", "/nonexistent"))


def wait(app, predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("a screenshot step timed out")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.005)


def send(app, window, text: str) -> object:
    done: list[object] = []
    window.chat.turn_finished.connect(done.append)
    window.chat.turn_failed.connect(done.append)
    window.chat.composer.setPlainText(text)
    window.chat.submit()
    wait(app, lambda: bool(done), 300)
    window.chat.turn_finished.disconnect(done.append)
    window.chat.turn_failed.disconnect(done.append)
    wait(app, lambda: all(w.item.id for w in window.chat.widgets), 30)
    return done[0]


def shot(app, widget, path: Path) -> None:
    wait(app, lambda: True, 1)
    widget.grab().save(str(path))
    print(path)


def main(out_dir: str) -> int:
    if not os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="engram-shots-")) / "home"

    from app.gui import build_window

    app, window = build_window(str(home), autoload_model=False)
    services = window.services
    window.resize(1440, 880)
    window.show()
    shot(app, window, out / "welcome.png")           # the first run

    # a real import of the public ChatGPT export samples, through the wizard
    export = ARCHIVES / "chatgpt" / "librechat_chatgpt-export.json"
    window.open_import()
    wizard = window._dialogs["import"]
    wizard.set_path(str(export))
    wait(app, lambda: wizard.import_button.isEnabled())
    shot(app, wizard, out / "import.png")
    imported: list[object] = []
    wizard.embedding_done.connect(imported.append)
    wizard.import_button.click()
    wait(app, lambda: bool(imported), 600)
    wizard.close()

    # the starter model, loaded as the welcome page's button does
    from ui.model_loader import load_model

    services.settings.model.path = str(STARTER_COPY) if STARTER_COPY.exists() else ""
    loaded: list[object] = []
    load_model(services, prepare_starter=not STARTER_COPY.exists(), on_done=loaded.append)
    wait(app, lambda: bool(loaded), 600)
    window.finish_welcome()

    # two real chats: a fact told in one, asked in another (the memory chips show what it used)
    window.new_chat()
    send(app, window, "My sister Ana lives in Porto. I visit her by train in May.")
    window.new_chat()
    send(app, window, "Where does my sister live?")
    # the import's summaries and facts now run in the background (the status bar says so)
    services.start_memory_worker()
    worker = services.memory_worker
    wait(app, lambda: worker.activity().running != "" and worker.activity().queued > 0, 300)
    window.status.poll()
    shot(app, window, out / "chat.png")
    shot(app, window.statusBar(), out / "status-memory-work.png")

    window.chat.find_bar.open()
    window.chat.find_bar.field.setText("sister")
    shot(app, window, out / "chat-find.png")
    window.chat.find_bar.close_bar()

    from ui.theme import apply_theme

    apply_theme(app, "dark")
    shot(app, window, out / "chat-dark.png")
    apply_theme(app, "light")

    window.open_settings("model")
    dlg = window._dialogs["settings"]
    dlg.resize(980, 900)
    dlg.type_k.setCurrentText("q8_0")
    dlg.type_v.setCurrentText("q8_0")
    wait(app, lambda: bool(dlg.kv_size.text()), 60)
    wait(app, lambda: "Checking" not in dlg.gpu_note.text(), 120)
    scroll = dlg.stack.currentWidget()
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum() // 2)
    shot(app, dlg, out / "settings.png")
    dlg.show_page("memory")
    shot(app, dlg, out / "settings-memory.png")
    dlg.close()

    from ui.help_dialog import shortcuts_dialog

    help_dlg = shortcuts_dialog(window)
    help_dlg.show()
    shot(app, help_dlg, out / "help.png")
    help_dlg.close()

    worker.gate.pause(wait=True)
    window.shutdown()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: app_screenshots.py OUT_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
