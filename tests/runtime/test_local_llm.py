"""LocalLLM: the worker process, streaming, stop, crashes and restarts, saved KV states."""
from __future__ import annotations

import json
import os
import signal

import pytest

from core.base.llm import LLM, ChatMessage, GenerationParams
from core.runtime.errors import ModelFileError, WorkerCrashedError
from core.runtime.kv_config import RuntimeConfig
from core.runtime.local_llm import LocalLLM
from core.runtime.structured import generate_json


@pytest.fixture
def make_llm(tiny_gguf, tmp_path):
    made = []

    def make(path=None, kv_dir=tmp_path / "kv-states", **kw):
        llm = LocalLLM(path or tiny_gguf, RuntimeConfig("", n_ctx=kw.pop("n_ctx", 256), **kw),
                       kv_state_dir=kv_dir)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()


P = GenerationParams(max_tokens=12, seed=1, ignore_eos=True)


def test_streams_tokens_and_reports_stats(make_llm):
    llm = make_llm()
    assert isinstance(llm, LLM)
    pieces: list[str] = []
    text, stats = llm.chat([ChatMessage("user", "hello")], P, on_token=pieces.append)
    assert stats.completion_tokens == 12 and stats.finish_reason == "length"
    assert "".join(pieces) == text and len(pieces) >= 2
    live = llm.live_stats()
    assert live.loaded and live.context_used == stats.prompt_tokens + 12
    assert live.kv_bytes == live.context_used * 2 * 2 * 32 * 2 * 2
    assert live.type_k == "f16" and live.tokens_per_second > 0
    assert llm.count_tokens("hello world") > 0


def test_parent_never_imports_llama_cpp(tiny_gguf):
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\n"
            "from core.base.llm import ChatMessage, GenerationParams\n"
            "from core.runtime.local_llm import LocalLLM\n"
            "llm = LocalLLM(sys.argv[1])\n"
            "llm.chat([ChatMessage('user', 'hi')], GenerationParams(max_tokens=2))\n"
            "llm.close()\n"
            "print('llama_cpp' in sys.modules)\n")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code, str(tiny_gguf)], capture_output=True,
                         text=True, timeout=120, cwd=root, check=False)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "False"


def test_on_token_stop_and_stop_from_another_thread(make_llm):
    llm = make_llm()
    seen: list[str] = []

    def on_token(piece: str) -> bool:
        seen.append(piece)
        return len(seen) == 2

    text, stats = llm.chat([ChatMessage("user", "hi")],
                           GenerationParams(max_tokens=2000, ignore_eos=True), on_token=on_token)
    assert stats.stopped and stats.finish_reason == "cancelled"
    assert text == "".join(seen) and len(seen) == 2
    assert stats.completion_tokens < 2000


def test_corrupt_file_is_refused_before_the_worker(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 20)
    with pytest.raises(ModelFileError):
        LocalLLM(bad)
    with pytest.raises(ModelFileError, match="not found"):
        LocalLLM(tmp_path / "missing.gguf")


def test_killed_worker_gives_clear_error_and_next_request_works(make_llm):
    llm = make_llm()
    llm.chat([ChatMessage("user", "hi")], GenerationParams(max_tokens=2))
    pid = llm.pid

    def kill_on_first(piece: str) -> None:
        os.kill(pid, signal.SIGKILL)

    with pytest.raises(WorkerCrashedError, match="killed"):
        llm.chat([ChatMessage("user", "hi")], GenerationParams(max_tokens=100000,
                                                               ignore_eos=True),
                 on_token=kill_on_first)
    _text, stats = llm.chat([ChatMessage("user", "again")], P)
    assert stats.completion_tokens == 12 and llm.restarts == 1 and llm.pid != pid


def test_segfault_in_worker_is_reported(make_llm):
    llm = make_llm()
    llm.count_tokens("warm up")
    with pytest.raises(WorkerCrashedError, match="segmentation fault"):
        llm._call("crash")
    assert llm.count_tokens("hello") > 0


def test_prefix_reuse_between_turns(make_llm):
    llm = make_llm()
    history = [ChatMessage("system", "You are Engram."), ChatMessage("user", "hello")]
    reply, first = llm.chat(history, P, session="c1")
    history += [ChatMessage("assistant", reply), ChatMessage("user", "and then?")]
    _, second = llm.chat(history, P, session="c1")
    assert first.cached_tokens == 0
    assert second.cached_tokens >= first.prompt_tokens - 1


def test_saved_state_restores_in_a_new_worker(make_llm, tmp_path):
    kv = tmp_path / "kv-states"
    msgs = [ChatMessage("user", "remember the garden " * 5)]
    a = make_llm(kv_dir=kv)
    reply, st = a.chat(msgs, P, session="conv42")
    a.close()
    files = sorted(p.name for p in kv.iterdir())
    assert files == ["conv42.kvstate"]          # core.services.purge deletes <conversation_id>.*
    b = make_llm(kv_dir=kv)
    msgs2 = msgs + [ChatMessage("assistant", reply), ChatMessage("user", "next")]
    _, st2 = b.chat(msgs2, P, session="conv42")
    assert st2.cached_tokens >= st.prompt_tokens - 1
    # other settings -> a different fingerprint: the stale state is cleared at load
    c = make_llm(kv_dir=kv, type_v="q8_0")
    _, st3 = c.chat(msgs2, P, session="conv42")
    assert st3.cached_tokens == 0


def test_kv_state_budget_evicts_least_recently_used(tmp_path):
    from core.runtime.kv_store import KVStateStore

    store = KVStateStore(tmp_path, budget_bytes=10**9)
    for i, cid in enumerate(["a", "b", "c"]):
        store.save(cid, "fp", {"tokens": []}, b"x" * 1000)
        os.utime(store.path(cid), (1000 + i, 1000 + i))
    store.budget = 2500                          # room for two states
    store.load("a", "fp")                       # touch: a becomes the most recent
    store.save("d", "fp", {"tokens": []}, b"x" * 1000)
    names = sorted(p.stem for p in store.files())
    assert names == ["a", "d"]
    assert store.load("a", "other") is None and not store.path("a").exists()
    with pytest.raises(ValueError):
        store.path("../etc")


def test_json_schema_constrained_generation(make_llm):
    llm = make_llm()
    schema = {"type": "object", "properties": {
        "action": {"enum": ["add", "update", "skip"]}, "importance": {"type": "integer"}},
        "required": ["action", "importance"]}
    value = generate_json(llm, [ChatMessage("user", "decide")], schema,
                          GenerationParams(max_tokens=200, temperature=0.7, seed=3))
    assert value["action"] in ("add", "update", "skip") and isinstance(value["importance"], int)
    text, _ = llm.complete("answer: ", GenerationParams(max_tokens=20, grammar='root ::= "yes" | "no"'))
    assert text in ("yes", "no")
    json.dumps(value)
