"""A default-configuration session, run by test_privacy under an audit hook that records
every network call: import an archive, embed, search, and chat through the real local runtime
(a worker process) with memory retrieval.

Usage: python privacy_scenario.py HOME ARCHIVE GGUF [app|cli]: "app" embeds and indexes in the
index worker process as the desktop app does, "cli" in this process as the command line does."""
from __future__ import annotations

import sys

from core.base.llm import GenerationParams
from core.base.paths import DataLayout
from core.importers import run_import
from core.runtime.local_llm import LocalLLM
from core.services.chat import ChatService
from core.services.engine import Engram


def main() -> None:
    home, archive, gguf = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "cli"
    eng = Engram(DataLayout.single(home), index_process=mode == "app")
    report = run_import(eng, archive)
    assert report.messages > 0 and report.embedded > 0, report.to_dict()
    hits = eng.index.query(eng.embedder.encode_one("what did we talk about"), 3)
    assert hits, "the index answered nothing"
    llm = LocalLLM(gguf, kv_state_dir=eng.layout.kv_state_dir)
    try:
        conv = eng.conversations.create("privacy")
        turn = ChatService(eng, llm, params=GenerationParams(max_tokens=8)).send(
            conv.id, "Remind me what I imported")
        assert turn.assistant_message.id
    finally:
        llm.close()
    eng.close()
    print("OK", flush=True)


if __name__ == "__main__":
    main()
