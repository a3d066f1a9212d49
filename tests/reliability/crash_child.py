"""Run by the crash tests in a child process that the test kills with SIGKILL mid-work.

Usage: python crash_child.py HOME ACTION [ARG]
    ACTION: edit | reindex | import ARCHIVE | reply GGUF
Prints READY once work is under way.
"""
from __future__ import annotations

import sys
import time

from core.services.engine import Engram


def main() -> None:
    home, action = sys.argv[1], sys.argv[2]
    eng = Engram.open(home)
    ids = [r[0] for r in eng.db.execute("SELECT id FROM memories ORDER BY rowid")]
    if action == "reindex":
        eng.embedder.encode(["load the model before saying READY"])
    if action != "reply":
        print("READY", flush=True)
    if action == "edit":
        n = 0
        while True:
            for mid in ids:
                n += 1
                eng.memories.edit(mid, f"edit number {n}", actor="user")
    elif action == "reindex":
        while True:
            eng.index_sync.reindex()
    elif action == "reply":
        from core.base.llm import GenerationParams
        from core.runtime.local_llm import LocalLLM
        from core.services.chat import ChatService

        llm = LocalLLM(sys.argv[3], kv_state_dir=eng.layout.kv_state_dir)
        service = ChatService(eng, llm, params=GenerationParams(
            max_tokens=100_000, ignore_eos=True, temperature=0.0), sync_index=False)
        conv_id = eng.db.execute("SELECT id FROM conversations").fetchone()[0]
        streamed = []

        def on_token(piece: str) -> None:
            if not streamed:
                print("STREAMING", flush=True)
            streamed.append(piece)
            # a reply the runtime cuts short (a random-weight model loops) must still be
            # under way when the test kills: stream slowly, as a large model on a CPU does
            time.sleep(0.05)

        service.send(conv_id, "Tell me a very long story", on_token=on_token)
    elif action == "import":
        from core.importers import run_import

        run_import(eng, sys.argv[3], embed=False)
        print("FINISHED", flush=True)


if __name__ == "__main__":
    main()
