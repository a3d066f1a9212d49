"""The person's turn first on the real llama.cpp runtime (a generated tiny GGUF): a long
background generation holding the model is stopped through the runtime's own stop, the
background side gets JobYielded (nothing of its text is used), and the person's request is
served by the same model right after."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from core.base.llm import ChatMessage, GenerationParams
from core.runtime.local_llm import LocalLLM
from core.services.person_first import JobYielded, TurnGate, YieldingLLM


def test_a_real_background_generation_yields_to_the_person(tiny_gguf: Path) -> None:
    llm = LocalLLM(tiny_gguf)
    try:
        llm.count_tokens("start the worker")
        gate = TurnGate(hold_off_s=0.0)
        background = YieldingLLM(llm, gate)
        outcome: list[object] = []

        def job() -> None:
            try:
                outcome.append(background.complete(
                    "Once upon a time", GenerationParams(max_tokens=20000, ignore_eos=True,
                                                         temperature=0.8)))
            except JobYielded as exc:
                outcome.append(exc)

        worker = threading.Thread(target=job)
        worker.start()
        deadline = time.monotonic() + 30
        while gate._busy is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.3)                      # well into its tokens
        t0 = time.perf_counter()
        with gate.person_turn():
            waited = time.perf_counter() - t0
            _text, stats = llm.chat([ChatMessage("user", "Hello")],
                                   GenerationParams(max_tokens=8))
        worker.join(30)
        assert isinstance(outcome[0], JobYielded)     # the cut generation is not used
        assert waited < 2.0, waited                   # not the 20,000 tokens
        assert stats.completion_tokens > 0 and not stats.stopped   # the person's own reply
        assert gate.yields == 1
    finally:
        llm.close()
