"""A real desktop session in its own process, for test_gui_process_imports.py.

Opens the window exactly as `engram-gui` does (Services' default: the index worker process),
imports an archive through the import wizard, waits for the embedding, rebuilds the index,
searches by meaning (the inspector's path) and through the chat's retriever, purges a memory
through the inspector, shuts down, and prints one JSON line: which heavy modules this process
imported and what the session saw.
"""
from __future__ import annotations

import json
import sys
import time

HEAVY = ("torch", "sentence_transformers", "chromadb", "transformers")


def wait(app, predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.005)


def run_op(app, services, fn, timeout: float = 120):
    from ui.ops import Op

    op = Op(fn, lane="background")
    services.runner.submit(op)
    wait(app, lambda: op.finished, timeout, "an op")
    if op.error is not None:
        raise op.error
    return op.result


def main(home: str, archive: str) -> int:
    from app.gui import build_window

    app, window = build_window(home, autoload_model=False)
    services = window.services
    services.settings.first_run_done = True
    window.finish_welcome()
    window.show()
    app.processEvents()
    out: dict = {"index_process": services.engram.index_process}

    window.open_import()
    wizard = window._dialogs["import"]
    done: dict = {}
    wizard.imported.connect(lambda r: done.setdefault("report", r))
    wizard.embedding_done.connect(lambda n: done.setdefault("embedded", n))
    wizard.set_path(archive)
    wait(app, lambda: wizard.import_button.isEnabled(), 120, "the import preview")
    wizard.import_button.click()
    wait(app, lambda: "embedded" in done, 300, "import and embedding")
    wizard.close()
    out["memories_created"] = done["report"].memories_created

    op = window.reindex()
    wait(app, lambda: not op.running, 300, "the reindex")
    out["reindexed"] = op.error is None

    def counts(ctx):
        eng = ctx.engram
        return eng.memories.count_indexable(), eng.index.count()

    out["indexable"], out["index_count"] = run_op(app, services, counts)

    from ui.memory_table_model import MemoryFilter, search_by_meaning

    hits = run_op(app, services, lambda ctx: search_by_meaning(
        ctx.engram, MemoryFilter(text="weather", semantic=True), k=5))
    out["semantic_hits"] = len(hits)

    def retrieve(ctx):
        from core.memory.retrieval import Retriever

        eng = ctx.engram
        result = Retriever(eng.memories, eng.index, eng.embedder).retrieve(
            "what did we talk about", budget_tokens=10**6, include_pinned=False)
        return [c.memory.id for c in result.ranked]

    ranked = run_op(app, services, retrieve)
    out["retrieved"] = len(ranked)

    window.show_inspector()
    target = ranked[0]
    window.inspector.purge([target])     # the inspector's own path (the db lane)

    def purged(ctx):
        return (ctx.engram.memories.get(target).status == "purged"
                and not ctx.engram.index.existing_ids([target]))

    deadline = time.monotonic() + 60
    while not run_op(app, services, purged):
        if time.monotonic() > deadline:
            raise TimeoutError("the purge did not reach the index")
    out["purged"] = True
    out["worker_pid"] = services.engram._index_worker.pid

    window.shutdown()
    window.close()
    app.processEvents()
    out["heavy_modules"] = sorted(m for m in HEAVY if m in sys.modules)
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
