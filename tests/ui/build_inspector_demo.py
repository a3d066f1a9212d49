"""Fill a data folder the way a new person would, for tests/ui/make_inspector_screenshots.py:
`python tests/ui/build_inspector_demo.py HOME MODEL.gguf [SAVED_LIST.txt]`.

A real ChatGPT export from the shared archives is imported, three messages go to the real
(starter) model through the chat service with its memory worker run after each, a fourth asks
from a new chat, and a pasted list of saved memories is imported. Takes about 2 minutes on two
busy cores. Nothing is scripted: what the model answers and writes is what the pictures show.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = Path("/work/shared/data/archives/chatgpt/owi-importer_gpt_example_2025.json")
LENA = ["Hi! My name is Lena and I live in Ghent. I have a dog named Pixel.",
        "I work as a nurse, mostly night shifts.", "What is my dog called?"]


def main(home: Path, model: Path, saved: Path | None) -> int:
    sys.path.insert(0, str(ROOT))
    from core.importers.api import run_import
    from core.importers.memories import import_pasted
    from core.runtime.kv_config import RuntimeConfig
    from core.runtime.local_llm import LocalLLM
    from core.services.chat import ChatService
    from core.services.engine import Engram
    from core.services.memory_worker import MemoryWorker

    t0 = time.time()
    eng = Engram.open(home)
    if ARCHIVE.exists():
        print("imported", run_import(eng, ARCHIVE).memories_created, "memories", flush=True)
    llm = LocalLLM(model, RuntimeConfig("", n_ctx=2048), kv_state_dir=eng.layout.kv_state_dir)
    try:
        params = eng.settings.generation.params()
        params.seed = 1
        service = ChatService(eng, llm, params=params)
        worker = MemoryWorker(eng, lambda: llm)
        conv = eng.conversations.create("")
        for text in LENA:
            print("reply:", service.send(conv.id, text).text[:100], flush=True)
            worker.run_until_idle(max_jobs=40)
        print("reply:", service.send(eng.conversations.create("").id, LENA[2]).text, flush=True)
        worker.run_until_idle(max_jobs=40)
    finally:
        llm.close()
    if saved is not None:
        print(import_pasted(eng, saved.read_text("utf-8")).summary())
    eng.index_sync.sync()
    eng.settings.first_run_done = True
    eng.save_settings()
    eng.close()
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        print("usage: build_inspector_demo.py HOME MODEL.gguf [SAVED_LIST.txt]", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]),
                  Path(sys.argv[3]) if len(sys.argv) == 4 else None))
