"""Run by the purge journal tests in a child process that the test kills with SIGKILL.

Usage: python purge_child.py HOME MEMORY_ID STOP_AT
    STOP_AT: where the purge stops and waits to be killed (test instrumentation, which only
    waits; every step runs the real code):
      planned      the plan is journalled, nothing erased yet
      database     the rows are purged (committed), the files not yet
      rebuild      the index rebuild has dropped the old collection, not yet renamed the new
      backup-copy  a fresh backup is half written (its .tmp and .tmp-journal on disk)
      none         no stop: the test kills it at a random moment
Prints "AT <step>" when it gets there (and "STARTED" once the purge begins).
"""
from __future__ import annotations

import sqlite3
import sys
import time

import core.services.purge
import core.store.backup
from core.base.private_files import create_private_file
from core.services.engine import Engram


def wait_here(step: str) -> None:
    print(f"AT {step}", flush=True)
    time.sleep(3600)


def main() -> None:
    home, memory_id, stop_at = sys.argv[1], sys.argv[2], sys.argv[3]
    eng = Engram.open(home)
    eng.index.count()          # Chroma loaded before the purge starts
    if stop_at == "planned":
        core.services.purge.scrub_logs = lambda *a, **k: wait_here("planned")
    elif stop_at == "database":
        index = eng.index
        real_erase = index.erase
        index.erase = lambda *a, **k: (wait_here("database"), real_erase(*a, **k))[1]
    elif stop_at == "rebuild":
        from chromadb.api.models.Collection import Collection

        real_modify = Collection.modify

        def modify(self, name=None, **kwargs):
            if name is not None:
                wait_here("rebuild")
            return real_modify(self, name=name, **kwargs)

        Collection.modify = modify
    elif stop_at == "backup-copy":
        def half_copy(conn: sqlite3.Connection, dest) -> None:
            tmp = dest.with_name(dest.name + ".tmp")
            create_private_file(tmp)
            target = sqlite3.connect(str(tmp))
            conn.backup(target, pages=1, progress=lambda *_: wait_here("backup-copy"))

        core.store.backup.backup_copy = half_copy
    print("STARTED", flush=True)
    core.services.purge.purge_memories(eng, [memory_id])
    print("FINISHED", flush=True)


if __name__ == "__main__":
    main()
