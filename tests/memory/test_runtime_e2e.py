"""The memory system end to end through the real runtime (llama.cpp in its worker process):
the tiny random-weight GGUF for the mechanics, the starter model for real model steps."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.base.llm import GenerationParams
from core.services.chat import ChatService
from core.services.memory_worker import MemoryWorker


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
    from core.base.errors import EngramError
    from core.runtime.starter_model import ensure_starter_model

    try:
        return ensure_starter_model(tmp_path_factory.mktemp("starter"))
    except EngramError as exc:
        pytest.skip(f"starter model unavailable: {exc}")


LENA = ["Hi! My name is Lena and I live in Ghent. I have a dog named Pixel.",
        "I work as a nurse, mostly night shifts.",
        "What is my dog called?"]


@pytest.mark.model
def test_the_starter_model_converses_and_stores_only_what_is_true(engram, starter_model,
                                                                  tmp_path) -> None:
    """The new user's first minutes, with the real starter model and the app's own sampling
    settings (seeded): short replies that never echo the prompt or loop, a dog's name answered
    from memory in a new chat, and nothing stored that the conversation does not say."""
    from core.base.prompts import frame_text
    from core.memory.gates import copied_run, repetition, words
    from core.runtime.kv_config import RuntimeConfig
    from core.runtime.local_llm import LocalLLM

    llm = LocalLLM(starter_model, RuntimeConfig("", n_ctx=2048), kv_state_dir=tmp_path / "kv")
    try:
        assert llm.kind == "base"
        params = engram.settings.generation.params()
        params.seed = 1
        service = ChatService(engram, llm, params=params)
        worker = MemoryWorker(engram, lambda: llm)
        conv = engram.conversations.create("first chat")
        replies = []
        for text in LENA:
            replies.append(service.send(conv.id, text))
            worker.run_until_idle()
        asked = []
        for seed in (1, 2, 3):
            params.seed = seed
            asked.append(service.send(engram.conversations.create(f"new {seed}").id, LENA[2]))
            worker.run_until_idle()
        frames = [frame_text("chat", "base"), frame_text("system", "instruct")]
        for result in replies + asked:
            text = result.text
            assert text.strip() and len(words(text)) <= 60, text
            assert not copied_run(text, frames, 6), text            # never the prompt
            assert "Engram remembers" not in text and "[20" not in text, text
            assert not repetition(text), text                        # never a loop
        # the dog's name comes back from memory in a new chat
        for result in asked:
            assert any("Pixel" in t.text for t in result.trace)
        assert any("pixel" in r.text.lower() for r in asked), [r.text for r in asked]
        # what was written into memory is true: grounded in the person's own words
        said = " ".join(LENA)
        written = engram.memories.list(kinds=["fact", "thought", "compact", "summary",
                                              "portrait"], limit=None)
        user_ids = {r.user_message.id for r in replies + asked}
        for mem in written:
            for name in {w for w in words(mem.text)[1:] if w[:1].isupper()}:
                assert name.lower().removesuffix("'s") in said.lower() or name in (
                    "User", "Engram", "Assistant"), (mem.kind, mem.text)
            assert not copied_run(mem.text, [frame_text("facts", "base"),
                                             frame_text("hema_update", "base")], 6), mem.text
        facts = [m for m in written if m.kind == "fact"]
        assert facts, "no fact was distilled from a self-introduction"
        for fact in facts:
            [source] = engram.memories.sources(fact.id)
            assert source["message_id"] in user_ids               # the person's message
            assert "Lena" in fact.text or fact.text.startswith("The user")
    finally:
        llm.close()
