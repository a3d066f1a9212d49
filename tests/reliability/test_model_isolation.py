"""A model that misbehaves never takes the app or the conversation down with it.

Each case goes through the chat service and the real llama.cpp worker: the error is clear (an
EngramError with a sentence for a person), the user's message is kept, nothing half-written is
stored, and the next request works.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from core.base.errors import EngramError
from core.base.llm import GenerationParams
from core.runtime.errors import ModelFileError, ModelLoadError, WorkerCrashedError
from core.runtime.kv_config import RuntimeConfig
from core.runtime.local_llm import LocalLLM
from core.services.chat import ChatService

PARAMS = GenerationParams(max_tokens=6, temperature=0.0)


def roles(engram, conv_id: str) -> list[str]:
    return [m.role for m in engram.conversations.thread(conv_id)]


def test_worker_killed_mid_reply(engram, tiny_gguf: Path) -> None:
    with LocalLLM(tiny_gguf, RuntimeConfig("", n_ctx=512)) as llm:
        chat = ChatService(engram, llm, params=GenerationParams(max_tokens=100_000,
                                                                 ignore_eos=True))
        conv = engram.conversations.create("crashy")

        def kill_worker(_piece: str) -> None:
            os.kill(llm.pid, signal.SIGKILL)

        with pytest.raises(WorkerCrashedError, match="killed"):
            chat.send(conv.id, "first question", on_token=kill_worker)
        assert roles(engram, conv.id) == ["user"]
        chat.params = PARAMS
        turn = chat.send(conv.id, "second question")
        assert roles(engram, conv.id) == ["user", "user", "assistant"]
        assert turn.assistant_message.role == "assistant" and llm.restarts == 1


def test_segfault_in_the_worker(engram, tiny_gguf: Path) -> None:
    with LocalLLM(tiny_gguf, RuntimeConfig("", n_ctx=512)) as llm:
        llm.count_tokens("warm up")
        with pytest.raises(WorkerCrashedError, match="segmentation fault"):
            llm._call("crash")   # a real SIGSEGV inside the worker process
        conv = engram.conversations.create("after a segfault")
        ChatService(engram, llm, params=PARAMS).send(conv.id, "still there?")
        assert roles(engram, conv.id) == ["user", "assistant"]


def test_running_out_of_memory_while_loading(engram, tiny_gguf: Path) -> None:
    # a context of 2M tokens needs about 1 GB of KV cache: more than the 200 MB allowed
    greedy = LocalLLM(tiny_gguf, RuntimeConfig("", n_ctx=2_000_000, memory_limit_mb=200))
    conv = engram.conversations.create("too big")
    try:
        with pytest.raises((ModelLoadError, WorkerCrashedError)) as caught:
            ChatService(engram, greedy, params=PARAMS).send(conv.id, "hello")
        assert "memory" in str(caught.value)
    finally:
        greedy.close()
    assert roles(engram, conv.id) == ["user"]
    with LocalLLM(tiny_gguf, RuntimeConfig("", n_ctx=512, memory_limit_mb=2000)) as modest:
        ChatService(engram, modest, params=PARAMS).send(conv.id, "smaller, please")
    assert roles(engram, conv.id) == ["user", "user", "assistant"]


def test_corrupt_model_file_is_refused_before_llama_cpp(tmp_path: Path, tiny_gguf: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_gguf.read_bytes()[: 5000])
    with pytest.raises(ModelFileError) as caught:
        LocalLLM(broken)
    assert isinstance(caught.value, EngramError)
    assert "broken.gguf" in str(caught.value) or "truncated" in str(caught.value).lower()
