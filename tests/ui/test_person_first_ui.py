"""The person's turn first, through the real window: a background job generating with the
(scripted FAKE) model when Send is pressed stops and goes back to the queue, the reply streams
at once; the status bar names the background work and its Pause button holds it."""
from __future__ import annotations

import time

from core.services.memory_worker import MemoryWorker
from core.services.person_first import TurnGate
from core.store import jobs as kinds
from tests.ui.conftest import ScriptedFakeLLM, run_db


def _worker(services, hold_off_s: float = 30.0) -> MemoryWorker:
    from core.services.engine import SiblingEngram

    worker = MemoryWorker(SiblingEngram(services.engram), lambda: services.llm,
                          TurnGate(hold_off_s=hold_off_s))
    services.memory_worker = worker
    return worker


def _queue_summaries(qtbot, services, n: int) -> None:
    def queue(e) -> None:
        for i in range(n):
            conv = e.conversations.create(f"imported {i}")
            e.conversations.add_message(conv.id, "user", f"The plum tree number {i} flowered.")
            e.jobs.enqueue(kinds.SUMMARIZE_CONVERSATION, {"conversation_id": conv.id},
                           needs_model=True)
    run_db(qtbot, services, queue)


def _first_token_s(qtbot, window, text: str) -> float:
    first: list[float] = []
    original = window.chat._on_token
    window.chat._on_token = lambda piece: (first.append(time.perf_counter()), original(piece))
    window.chat.composer.setPlainText(text)
    t0 = time.perf_counter()
    with qtbot.waitSignal(window.chat.turn_finished, timeout=60000) as blocker:
        window.chat.submit()
    window.chat._on_token = original
    assert blocker.args[0].assistant_message.text == "Short answer."
    return first[0] - t0


def test_send_interrupts_a_background_job_and_streams_at_once(qtbot, window, services) -> None:
    llm = ScriptedFakeLLM(reply="Short answer.", delay=0.02)
    services.set_llm(llm, "slow-fake")
    idle = _first_token_s(qtbot, window, "Hello")     # (the first turn also warms retrieval)
    idle = min(idle, _first_token_s(qtbot, window, "Hello again"))
    # a background answer of 300 words takes 6 s; the person's reply is short
    llm.reply = " ".join(f"w{i}" for i in range(300))
    _queue_summaries(qtbot, services, 10)
    worker = _worker(services)
    worker.start(idle_seconds=0.05)
    qtbot.waitUntil(lambda: worker.gate._busy is not None, timeout=20000)
    window.status.poll()
    assert window.status.memory_label.text().startswith("Background: ")   # what runs, in words
    assert "waiting" in window.status.memory_label.text()
    assert window.status.pause_button.isVisible()
    llm.reply = "Short answer."
    busy = _first_token_s(qtbot, window, "And now?")
    # the job had 6 s of answer left: the person waited for one piece of it at most
    assert busy < idle + 1.0, (busy, idle)
    assert worker.yielded >= 1
    window.status.poll()
    assert "Background work waits while you chat" in window.status.memory_label.text()   # the hold-off
    worker.stop(timeout=10)
    jobs = run_db(qtbot, services, lambda e: e.jobs.list())
    assert sum(j.kind == kinds.SUMMARIZE_CONVERSATION and j.status == "queued" for j in jobs) >= 9
    assert not [j for j in jobs if j.status == "failed"]      # a yield is not a failure


def test_pause_button_holds_and_resumes_background_work(qtbot, window, services,
                                                        fake_llm) -> None:
    _queue_summaries(qtbot, services, 3)
    worker = _worker(services, hold_off_s=0.0)
    worker.queued = 3
    window.status.poll()
    assert window.status.memory_label.text() == "Background work: 3 waiting"
    window.status.pause_button.click()
    assert worker.gate.paused and window.status.pause_button.text() == "Resume"
    assert window.status.memory_label.text() == "Background work paused · 3 waiting"
    assert worker.run_once() is None                      # nothing runs while paused
    window.status.pause_button.click()
    assert not worker.gate.paused and window.status.pause_button.text() == "Pause"
    assert worker.run_once() is not None
