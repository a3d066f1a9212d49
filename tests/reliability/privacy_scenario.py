"""A default-configuration session, run by test_privacy under an audit hook that records
every network call. Usage: python privacy_scenario.py HOME"""
from __future__ import annotations

import sys

from core.engine import Engram
from core.memory.episodic import remember_messages


def main() -> None:
    eng = Engram.open(sys.argv[1])
    conv = eng.conversations.create("privacy")
    msg = eng.conversations.add_message(conv.id, "user", "My sister lives in Ghent")
    remember_messages(eng.memories, [msg], actor="user")
    eng.index_sync.sync()
    hits = eng.index.query(eng.embedder.encode_one("where does my sister live"), 3)
    assert hits, "the index answered nothing"
    print("OK", flush=True)


if __name__ == "__main__":
    main()
