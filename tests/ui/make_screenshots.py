"""Save one PNG per main screen of the real app: `python tests/ui/make_screenshots.py OUT_DIR`.

Runs under the current display (e.g. `Xvfb :99 & DISPLAY=:99 ...`; falls back to offscreen).
A demo data folder is built first in a temp dir with the real services: a small ChatGPT-format
archive imported by the real importer, and a chat turn answered through the real ChatService
(retrieval, trace, memories) by a scripted FAKE model, so that the reply reads well; the
pictures say so where the model's name would be. The pictures of what the app really does
(the starter model answering) come from tests/ui/app_screenshots.py. The
settings page shows the header of a generated tiny GGUF read by the real model manager.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

REPLY = ("Since your sister **Ana** lives in Porto, a train from Lisbon takes about three "
         "hours, so a weekend works well:\n\n1. Friday evening: train to Porto\n"
         "2. Saturday: Ribeira and a Douro river cruise\n3. Sunday: back to Lisbon\n\n"
         "To check the timetable from a script:\n```python\nimport datetime\n"
         "print(datetime.date(2025, 5, 16).strftime('%A'))\n```\nWant hotel ideas near her?")


def build_demo(home: Path, models: Path) -> Path:
    from app.benchmarks.synthetic_gguf import write_tiny_gguf
    from core.base.llm import GenerationStats
    from core.importers import run_import
    from core.services.engine import Engram
    from tests.ui.sample_export import write_chatgpt_export

    eng = Engram.open(home)
    export = write_chatgpt_export(home.parent / "demo-export", n=4)
    run_import(eng, export)
    conv = eng.conversations.create("")
    eng.memories.create("fact", "The user's sister Ana lives in Porto.", actor="assistant",
                        conversation_id=conv.id)
    eng.memories.create("portrait", "Plans trips carefully; likes trains; allergic to cats; "
                        "bakes sourdough.", actor="assistant")
    eng.index_sync.sync()

    class ScriptedFakeLLM:   # a FAKE model: a fixed, readable answer for the picture
        name = "SCRIPTED DEMO ANSWER (no model)"

        def count_tokens(self, text: str) -> int:
            return len(text.split())

        def context_size(self) -> int:
            return 8192

        def chat(self, messages, params=None, *, on_token=None, session=None):
            return REPLY, GenerationStats(completion_tokens=90, tokens_per_second=0.0)

    from core.services.chat import ChatService

    ChatService(eng, ScriptedFakeLLM()).send(
        conv.id, "I'd like to visit my sister in May. Any ideas for a weekend?")
    eng.settings.first_run_done = True
    eng.save_settings()
    eng.close()
    return write_tiny_gguf(models / "tiny-demo.gguf")


def wait(app, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.005)


def main(out_dir: str) -> int:
    if not os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="engram-shots-"))
    home = tmp / "home"
    gguf = build_demo(home, tmp)

    from app.gui import build_window

    app, window = build_window(str(home), autoload_model=False)
    window.resize(1440, 860)
    window.show()

    # Welcome (shown on first run; here opened from the View menu).
    window.show_welcome()
    wait(app, lambda: True, 1)
    window.grab().save(str(out / "welcome.png"))

    # Chat with the "memories used" chips, with the status bar as a loaded model shows it.
    window.services.model_label = "SCRIPTED DEMO ANSWER (no model)"
    window.services.llm = object()
    window.status.refresh()
    from core.runtime.stats import RuntimeStats

    window.status.show_runtime(RuntimeStats(n_ctx=8192, context_used=1312, type_k="f16",
                                            type_v="q8_0", kv_bytes=50_331_648,
                                            tokens_per_second=0.0))
    window.chat._update_composer_state()
    wait(app, lambda: len(window.conversations.conversations) >= 5)
    first = window.conversations.conversations[0]
    window.conversations.select(first.id)
    wait(app, lambda: len(window.chat.widgets) == 2)
    window.grab().save(str(out / "chat.png"))

    # The inspector with the provenance of the first memory used.
    chips = window.chat.widgets[1].chip_buttons()
    if chips:
        chips[0].click()
    wait(app, lambda: window.inspector.detail.memory is not None)
    window.inspector.detail.tabs.setCurrentIndex(1)
    wait(app, lambda: True, 1)
    window.grab().save(str(out / "inspector.png"))
    window.inspector.detail.tabs.setCurrentIndex(3)
    wait(app, lambda: True, 0.5)
    window.grab().save(str(out / "inspector-retention.png"))

    # Import wizard with a dry-run preview.
    from tests.ui.sample_export import write_chatgpt_export

    window.open_import()
    wizard = window._dialogs["import"]
    wizard.set_path(str(write_chatgpt_export(tmp / "another-export", n=4)))
    wait(app, lambda: wizard.import_button.isEnabled())
    wizard.grab().save(str(out / "import.png"))
    wizard.close()

    # Settings: the model manager reading a GGUF header.
    window.open_settings("model")
    dlg = window._dialogs["settings"]
    dlg.model_manager.set_current(str(gguf))
    wait(app, lambda: dlg.model_manager.info_labels["architecture"].text() == "llama")
    dlg.grab().save(str(out / "settings.png"))
    dlg.show_page("memory")
    wait(app, lambda: True, 0.3)
    dlg.grab().save(str(out / "settings-memory.png"))
    dlg.close()

    window.services.llm = None
    window.shutdown()
    print("\n".join(sorted(str(p) for p in out.glob("*.png"))))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: make_screenshots.py OUT_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
