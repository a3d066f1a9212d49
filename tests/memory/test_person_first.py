"""The person's turn goes first: a background job holding the model stops at a safe point, goes
back to the queue (its attempt not counted) and finishes after the turn; a pause holds all
background work. The model is a scripted fake that streams slowly and honours `stop()` as the
llama.cpp runtime does (one request at a time, a lock around it)."""
from __future__ import annotations

import threading
import time

from core.base.llm import ChatMessage
from core.services.memory_worker import MemoryWorker
from core.services.person_first import TurnGate
from core.store import jobs as kinds
from tests.memory.conftest import default_script
from tests.memory.fake_llm import ScriptedFakeLLM


class SlowFakeLLM(ScriptedFakeLLM):
    """A fake that takes `piece_s` per word, serialises requests and stops on `stop()`."""

    def __init__(self, piece_s: float = 0.15, **kw) -> None:
        super().__init__(self._script, **kw)
        self.piece_s = piece_s
        self._lock = threading.Lock()
        self._stop = False
        self.stops = 0

    @staticmethod
    def _script(messages, params) -> str:
        answer = default_script(messages, params)
        return answer

    def stop(self) -> None:
        self._stop = True
        self.stops += 1

    def chat(self, messages, params=None, *, on_token=None, session=None):
        with self._lock:
            self._stop = False

            def slow(piece: str) -> bool:
                time.sleep(self.piece_s)
                return bool(self._stop or (on_token is not None and on_token(piece)))

            text, stats = super().chat(messages, params, on_token=slow, session=session)
            return text, stats


def _conversation(engram, n: int = 8) -> str:
    conv = engram.conversations.create("imported")
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        engram.conversations.add_message(conv.id, role, f"Tomato bed number {i} got planted today.")
    return conv.id


def _wait(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_running_job_yields_to_the_person_and_finishes_after(engram) -> None:
    llm = SlowFakeLLM()
    cid = _conversation(engram)
    engram.jobs.enqueue(kinds.SUMMARIZE_CONVERSATION, {"conversation_id": cid}, needs_model=True)
    worker = MemoryWorker(engram, lambda: llm, TurnGate(hold_off_s=0.3))
    worker.start(idle_seconds=0.05)
    try:
        _wait(lambda: worker.gate._busy is not None)         # the job is generating
        assert worker.activity().running == "Summarising an imported conversation"
        t0 = time.monotonic()
        with worker.gate.person_turn():
            waited = time.monotonic() - t0
            text, _ = llm.chat([ChatMessage("user", "PERSON: hello")])
            assert text == "Happy to help."
            [job] = [j for j in engram.jobs.list() if j.kind == kinds.SUMMARIZE_CONVERSATION]
            assert job.status == "queued" and job.attempts == 0    # back, attempt not counted
            assert worker.activity().person_first
        # the person waited for one piece of the job, not for the job
        assert waited < 1.0, waited
        assert llm.stops >= 1 and worker.yielded == 1
        _wait(lambda: all(j.status not in ("queued", "running") for j in engram.jobs.list()
                          if j.kind == kinds.SUMMARIZE_CONVERSATION), 60)
        [job] = [j for j in engram.jobs.list() if j.kind == kinds.SUMMARIZE_CONVERSATION]
        assert job.status == "done", job.error
    finally:
        worker.stop()
    summary = [m for m in engram.memories.list(kinds=["compact"]) if m.conversation_id == cid]
    assert summary, "the job that yielded finished its work afterwards"


def test_a_cut_generation_is_never_stored(engram) -> None:
    """What a job had generated before it yielded is thrown away, not stored as its answer."""
    llm = SlowFakeLLM()
    cid = _conversation(engram, 2)
    engram.jobs.enqueue(kinds.SUMMARIZE_CONVERSATION, {"conversation_id": cid}, needs_model=True)
    gate = TurnGate(hold_off_s=60)                 # after the turn, nothing runs again
    worker = MemoryWorker(engram, lambda: llm, gate)
    done: list = []
    runner = threading.Thread(target=lambda: done.append(worker.run_once()))
    runner.start()
    _wait(lambda: gate._busy is not None)
    with gate.person_turn():
        pass
    runner.join(10)
    assert done[0].status == "queued"
    assert not [m for m in engram.memories.list(kinds=["compact"]) if m.conversation_id == cid]
    assert worker.run_once() is None               # the hold-off keeps model jobs waiting


def test_pause_holds_background_work_until_resumed(engram) -> None:
    llm = SlowFakeLLM(piece_s=0.0)
    cid = _conversation(engram, 2)
    engram.jobs.enqueue(kinds.SUMMARIZE_CONVERSATION, {"conversation_id": cid}, needs_model=True)
    engram.jobs.enqueue(kinds.INDEX_SYNC, {})
    worker = MemoryWorker(engram, lambda: llm, TurnGate(hold_off_s=0.0))
    worker.gate.pause()
    assert worker.run_once() is None and worker.activity().paused
    assert engram.jobs.queued() == 2
    worker.gate.resume()
    assert worker.run_until_idle() >= 2
    assert engram.jobs.queued() == 0


def test_a_facts_job_yields_at_its_cursor(engram) -> None:
    llm = SlowFakeLLM(piece_s=0.01)
    cid = _conversation(engram, 14)
    engram.jobs.enqueue(kinds.EXTRACT_FACTS, {"conversation_id": cid}, needs_model=True)
    gate = TurnGate(hold_off_s=60)
    worker = MemoryWorker(engram, lambda: llm, gate)
    result: list = []
    runner = threading.Thread(target=lambda: result.append(worker.run_once()))
    runner.start()
    # a first chunk done (its cursor saved), the next one generating
    _wait(lambda: worker._job is not None and worker._job.payload.get("cursor")
          and gate._busy is not None)
    with gate.person_turn():
        pass
    runner.join(10)
    [job] = engram.jobs.list(status="queued")
    assert result[0].status == "queued" and job.attempts == 0
    assert job.payload["total"] == 14 and 0 < job.payload["cursor"] < 14   # goes on from there
