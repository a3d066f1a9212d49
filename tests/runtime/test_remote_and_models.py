"""The remote backend against a real llama-cpp-python server on 127.0.0.1, the model manager
(listing, adding, downloading from a local HTTP server) and the chat formats."""
from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading

import pytest

from core.base.llm import ChatMessage, GenerationParams
from core.runtime.chat_format import chat_format_for, layout_messages
from core.runtime.errors import DownloadError, ModelFileError, RemoteModelError
from core.runtime.model_manager import ModelManager, download_file
from core.runtime.remote import RemoteLLM
from core.runtime.structured import generate_json
from tests.conftest import free_port, wait_for_port
from tests.runtime.local_http import RangeHandler


@pytest.fixture(scope="module")
def llama_server(tiny_gguf):
    pytest.importorskip("fastapi")
    pytest.importorskip("sse_starlette")
    pytest.importorskip("starlette_context")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf), "--host",
         "127.0.0.1", "--port", str(port), "--n_ctx", "512", "--model_alias", "tiny"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(proc, port, "llama_cpp.server")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.server
def test_remote_chat_streams_and_counts(llama_server):
    llm = RemoteLLM(llama_server, "tiny")
    assert "tiny" in llm.models()
    pieces: list[str] = []
    text, stats = llm.chat([ChatMessage("user", "hello")],
                           GenerationParams(max_tokens=8, seed=1), on_token=pieces.append)
    assert "".join(pieces) == text and stats.completion_tokens == len(pieces) >= 1
    assert llm.count_tokens("hello world") > 0 and llm._tokenize_path == "/extras/tokenize"
    text, stats = llm.complete("once upon", GenerationParams(max_tokens=30, seed=1),
                               on_token=lambda p: True)
    assert stats.stopped and stats.completion_tokens == 1


@pytest.mark.server
def test_remote_json_schema(llama_server):
    llm = RemoteLLM(llama_server, "tiny")
    schema = {"type": "object", "properties": {"action": {"enum": ["add", "skip"]}},
              "required": ["action"]}
    value = generate_json(llm, [ChatMessage("user", "decide")], schema,
                          GenerationParams(max_tokens=100, seed=2))
    assert value["action"] in ("add", "skip")


def test_remote_errors_are_clear():
    with pytest.raises(RemoteModelError, match="http"):
        RemoteLLM("ftp://x")
    llm = RemoteLLM(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(RemoteModelError, match="Cannot reach"):
        llm.chat([ChatMessage("user", "hi")])


_RangeHandler = RangeHandler        # serves files with Range support; cut_after drops part-way


@pytest.fixture
def file_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()

    def handler(*a, **kw):
        return _RangeHandler(*a, directory=str(root), **kw)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    _RangeHandler.cut_after = None


def test_download_resumes_and_checks_sha256(file_server, tiny_gguf, tmp_path):
    root, url = file_server
    data = tiny_gguf.read_bytes()
    (root / "m.gguf").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "models"
    _RangeHandler.cut_after = 100_000          # the connection drops part-way
    with pytest.raises(DownloadError, match="resume"):
        download_file(f"{url}/m.gguf", dest, sha256=digest, chunk=4096)
    assert (dest / "m.gguf.partial").stat().st_size == 100_000
    _RangeHandler.cut_after = None
    seen: list[tuple[int, int | None]] = []
    path = download_file(f"{url}/m.gguf", dest, sha256=digest,
                         progress=lambda p: seen.append((p.done, p.total)), chunk=65536)
    assert path.read_bytes() == data and not (dest / "m.gguf.partial").exists()
    assert seen[0][0] > 100_000 and seen[-1] == (len(data), len(data))   # resumed, not restarted
    with pytest.raises(DownloadError, match="Checksum"):
        download_file(f"{url}/m.gguf", tmp_path / "other", sha256="0" * 64)
    assert not (tmp_path / "other" / "m.gguf").exists()
    with pytest.raises(DownloadError, match="404"):
        download_file(f"{url}/missing.gguf", dest)


def test_model_manager_lists_folder_and_added(tmp_path, tiny_gguf):
    models = tmp_path / "models"
    models.mkdir()
    (models / "a.gguf").write_bytes(tiny_gguf.read_bytes())
    (models / "broken.gguf").write_bytes(b"nope")
    mm = ModelManager(models, tmp_path / "config")
    entry = mm.add(tiny_gguf)
    assert entry.info.architecture == "llama"
    with pytest.raises(ModelFileError):
        mm.add(tmp_path / "nothing.gguf")
    listed = mm.list_models()
    by_path = {e.path.name: e for e in listed}
    assert by_path["a.gguf"].usable and by_path["a.gguf"].source == "folder"
    assert not by_path["broken.gguf"].usable and "GGUF" in by_path["broken.gguf"].error
    assert by_path[tiny_gguf.name].source == "added"
    if listed[0].source == "starter":             # the starter model, when installed, is first
        assert all(e.source != "starter" for e in listed[1:])
    assert mm.remove(tiny_gguf) and tiny_gguf.name not in {e.path.name for e in mm.list_models()}


def test_chat_formats_and_warm_layout():
    msgs = layout_messages([ChatMessage("system", "S")], [ChatMessage("user", "u1"),
                           ChatMessage("assistant", "a1")], "u2", memories="- likes tea")
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[-1].content.endswith("- likes tea\n\nu2")
    gemma = chat_format_for("gemma3", None).render(msgs)
    assert gemma.startswith("<start_of_turn>user\nS\n\nu1<end_of_turn>\n<start_of_turn>model\na1")
    assert gemma.endswith("<start_of_turn>model\n")
    chatml = chat_format_for("llama", None).render(msgs)
    assert chatml.startswith("<|im_start|>system\nS<|im_end|>\n")
    tmpl = "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
    assert chat_format_for("llama", tmpl).render(msgs[:1]) == "[system]S"
    # the next turn's prompt extends this one up to the previous user message
    nxt = layout_messages(msgs[:1], msgs[1:3] + [ChatMessage("user", "u2"),
                          ChatMessage("assistant", "a2")], "u3")
    a = chat_format_for("llama", None).render(msgs)
    b = chat_format_for("llama", None).render(nxt)
    shared = os.path.commonprefix([a, b])
    assert shared.endswith("a1<|im_end|>\n<|im_start|>user\n")
