from __future__ import annotations

from core.services.chat import ChatService
from core.services.engine import Engram
from core.services.memory_worker import MemoryWorker


def test_model_jobs_wait_for_a_model_and_survive_a_restart(home, embedder, fake_llm) -> None:
    eng = Engram.open(home)
    eng._embedder = embedder
    conv = eng.conversations.create("c")
    ChatService(eng, fake_llm, sync_index=False).send(conv.id, "I water the plants on Sunday")
    eng.jobs.enqueue("summarize_conversation", {"conversation_id": conv.id}, needs_model=True)
    no_model = MemoryWorker(eng, lambda: None)
    assert no_model.run_until_idle() == 1                 # only the index sync can run
    assert eng.index_sync.pending_count() == 0
    assert eng.jobs.pending(needs_model=True) == 3
    job = eng.jobs.claim(model_available=True)            # a process dies mid-job...
    eng.close()

    again = Engram.open(home)                              # ...and Engram starts again
    again._embedder = embedder
    assert again.jobs.recover() == 1
    worker = MemoryWorker(again, lambda: fake_llm)
    assert worker.run_until_idle() >= 3
    assert again.jobs.pending() == 0
    assert {j.kind for j in again.jobs.list(status="done")} >= {
        job.kind, "hema_update", "post_think", "summarize_conversation"}
    compact = [m for m in again.memories.list(kinds=["compact"]) if m.conversation_id == conv.id]
    assert compact and compact[0].granularity == "running"
    again.close()


def test_a_failing_job_is_retried_then_marked_failed(engram, fake_llm) -> None:
    worker = MemoryWorker(engram, lambda: fake_llm)
    engram.jobs.enqueue("hema_update", {"conversation_id": "nope", "message_id": "nope"},
                        needs_model=True)
    statuses = [worker.run_once().status for _ in range(3)]
    assert statuses == ["queued", "queued", "failed"]
    assert "No conversation" in engram.jobs.list(status="failed")[0].error


def test_the_worker_thread_runs_jobs_and_stops(engram, fake_llm) -> None:
    import time

    conv = engram.conversations.create("c")
    ChatService(engram, fake_llm, sync_index=False).send(conv.id, "Remember the blue door")
    worker = MemoryWorker(engram, lambda: fake_llm)
    worker.start(idle_seconds=0.05)
    deadline = time.monotonic() + 120
    while engram.jobs.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.stop()
    assert engram.jobs.pending() == 0
    assert engram.index_sync.pending_count() == 0


def _chat_beside_the_worker(engram, fake_llm, worker_engram, turns: int = 25) -> list[str]:
    """Chat turns on this thread while the worker runs the memory jobs they queue on its own
    thread, as `engram chat` does. Returns what the worker logged as failed steps."""
    import logging

    failures: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            failures.append(record.getMessage() + repr(record.exc_info and record.exc_info[1]))

    catch = Catch(level=logging.WARNING)
    logging.getLogger("core.services.memory_worker").addHandler(catch)
    worker = MemoryWorker(worker_engram, lambda: fake_llm)
    worker.start(idle_seconds=0.01)
    try:
        chat = ChatService(engram, fake_llm)
        conv = engram.conversations.create("beside the worker")
        for i in range(turns):
            chat.send(conv.id, f"I planted {i} tulips by the blue door today.")
    finally:
        worker.stop()
        logging.getLogger("core.services.memory_worker").removeHandler(catch)
    roles = [m.role for m in engram.conversations.thread(conv.id)]
    assert roles == ["user", "assistant"] * turns          # every message has its answer
    return failures


def test_the_chats_worker_on_its_own_connection_never_breaks_a_turn(engram, fake_llm) -> None:
    """`engram chat` ran its worker on the chat's own connection: their transactions mixed
    ("no such savepoint: sqlite_utils_query") and a turn died with its question unanswered.
    On a second connection (SiblingEngram) nothing of the kind happens."""
    from core.services.engine import SiblingEngram

    background = SiblingEngram(engram)
    try:
        failures = _chat_beside_the_worker(engram, fake_llm, background)
    finally:
        background.close()
    assert not failures
    done = engram.db.execute(
        "SELECT count(*) FROM jobs WHERE status IN ('done', 'failed')").fetchone()[0]
    assert done > 0                                          # the worker really ran beside it
