"""The memory system end to end through the real runtime (llama.cpp in its worker process):
the tiny random-weight GGUF for the mechanics, the starter model for real model steps."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.chat import ChatService
from core.llm import GenerationParams
from core.memory.worker import MemoryWorker


@pytest.fixture
def tiny_llm(tiny_gguf, tmp_path):
    from core.runtime.kv_config import RuntimeConfig
    from core.runtime.local_llm import LocalLLM

    llm = LocalLLM(tiny_gguf, RuntimeConfig("", n_ctx=2048), kv_state_dir=tmp_path / "kv")
    yield llm
    llm.close()


def test_a_turn_through_llama_cpp_streams_stops_and_stores_its_trace(engram, tiny_llm) -> None:
    engram.memories.create("fact", "The user's locker number is 4411", actor="user")
    engram.index_sync.sync()
    engram.settings.memory.full_context_tokens = 1      # force retrieval mode
    service = ChatService(engram, tiny_llm, params=GenerationParams(max_tokens=40, seed=3))
    conv = engram.conversations.create("c")
    pieces: list[str] = []
    result = service.send(conv.id, "What is my locker number?", on_token=pieces.append,
                          should_stop=lambda: len(pieces) >= 3)
    assert result.mode == "retrieval" and result.stopped
    assert len(pieces) == 3 and "".join(pieces) == result.text
    stored = engram.conversations.get_message(result.assistant_message.id)
    assert stored.text == result.text and stored.model == tiny_llm.name
    assert any("4411" in t.text for t in service.trace(stored.id))
    # model jobs run against the real runtime and end (done, or failed on an unusable
    # answer from random weights), never stuck
    worker = MemoryWorker(engram, lambda: tiny_llm)
    worker.run_until_idle()
    assert engram.jobs.pending() == 0
    assert {j.kind for j in engram.jobs.list() if j.status in ("done", "failed")} >= {
        "hema_update", "post_think"}


@pytest.fixture(scope="module")
def starter_model(tmp_path_factory) -> Path:
    from core.errors import EngramError
    from core.starter_model import ensure_starter_model

    try:
        return ensure_starter_model(tmp_path_factory.mktemp("starter"))
    except EngramError as exc:
        pytest.skip(f"starter model unavailable: {exc}")


@pytest.mark.model
def test_the_starter_model_writes_summary_portrait_and_thoughts(engram, starter_model,
                                                                tmp_path) -> None:
    from core.runtime.kv_config import RuntimeConfig
    from core.runtime.local_llm import LocalLLM

    llm = LocalLLM(starter_model, RuntimeConfig("", n_ctx=2048), kv_state_dir=tmp_path / "kv")
    try:
        service = ChatService(engram, llm, params=GenerationParams(max_tokens=24, seed=1))
        conv = engram.conversations.create("garden")
        day = datetime(2025, 4, 2, 9, tzinfo=UTC).timestamp()
        engram.conversations.add_message(conv.id, "user", "I planted tomatoes and basil today",
                                         created_at=day)
        from core.memory.episodic import remember_messages
        remember_messages(engram.memories, engram.conversations.thread(conv.id), actor="user")
        result = service.send(conv.id, "My sister Anna lives in Ghent and loves cycling.")
        worker = MemoryWorker(engram, lambda: llm)
        engram.jobs.enqueue("maintenance", {})
        worker.run_until_idle()
        by_kind = {}
        for mem in engram.memories.list(limit=None, statuses=None):
            by_kind.setdefault((mem.kind, mem.granularity), []).append(mem)
        compact = by_kind[("compact", "running")][0]
        assert compact.text.strip()
        assert result.assistant_message.id in {s["message_id"]
                                               for s in engram.memories.sources(compact.id)}
        daily = by_kind[("summary", "day")][0]
        assert daily.text.strip() and daily.meta["date"] == "2025-04-02"
        assert engram.memories.sources(daily.id)[0]["message_id"]
        assert by_kind[("portrait", "overall")][0].text.strip()
        # thoughts: the grammar makes the answer parse; a base model may find none to give
        post = [j for j in engram.jobs.list() if j.kind == "post_think"]
        assert post and post[0].status == "done", post[0].error
        for thought in by_kind.get(("thought", None), []):
            assert thought.text and engram.memories.sources(thought.id)
            assert engram.memories.events(thought.id)[0].actor == "assistant"
    finally:
        llm.close()
