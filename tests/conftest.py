"""Shared fixtures. Every test gets its own data folder through ENGRAM_HOME; nothing is
downloaded; Qt runs offscreen."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "engram-home"
    monkeypatch.setenv("ENGRAM_HOME", str(h))
    return h


@pytest.fixture(scope="session")
def embedder():
    """One real all-MiniLM-L6-v2 for the whole session (loading costs seconds)."""
    from core.index.embedder import Embedder

    return Embedder()


@pytest.fixture
def engram(home: Path, embedder):
    from core.services.engine import Engram

    eng = Engram.open(home)
    eng._embedder = embedder
    yield eng
    eng.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(proc: subprocess.Popen, port: int, name: str, timeout: float = 60) -> None:
    """Wait until a server the test started listens on 127.0.0.1:port (fail if it exits)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited at start")
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{name} did not start within {timeout:.0f} s")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` server on 127.0.0.1, for the contract tests."""
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        pytest.skip("the chroma command is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_for_port(proc, port, "chroma server")
    url = f"http://127.0.0.1:{port}"
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight GGUF (llama architecture, 2 layers, hidden 64, SentencePiece-style
    vocab with byte fallback, ChatML template) that the real llama.cpp loads in milliseconds."""
    from app.benchmarks.synthetic_gguf import write_tiny_gguf

    return write_tiny_gguf(tmp_path_factory.mktemp("models") / "tiny.gguf")
