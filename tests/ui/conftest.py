"""Fixtures for the desktop UI tests: a real data folder, the real embedder, a real window
(offscreen), and a scripted fake LLM (named as one) for flows that need predictable text."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.base.llm import GenerationStats


class ScriptedFakeLLM:
    """A FAKE core.base.llm.LLM: replies with a fixed script, one word per token, slowly enough to
    be stopped. Used where the UI flow matters more than the text; real llama.cpp runs in
    test_chat_real_model.py."""

    name = "scripted-fake"

    def __init__(self, reply: str = "Here is an answer with code:\n```python\nprint('hi')\n```\nDone.",
                 delay: float = 0.01) -> None:
        self.reply = reply
        self.delay = delay
        self.prompts: list[list] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def context_size(self) -> int:
        return 2048

    def chat(self, messages, params=None, *, on_token=None, session=None):
        self.prompts.append(list(messages))
        out = ""
        for word in self.reply.split(" "):
            piece = word if not out else " " + word
            time.sleep(self.delay)
            out += piece
            if on_token is not None and on_token(piece):
                return out, GenerationStats(completion_tokens=len(out.split()), stopped=True,
                                            finish_reason="cancelled")
        return out, GenerationStats(completion_tokens=len(out.split()), tokens_per_second=42.0,
                                    finish_reason="stop")

    def complete(self, prompt, params=None, *, on_token=None):
        return self.chat([], params, on_token=on_token)


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread():
    """Qt objects must die on the thread that owns them: collect each test's cyclic garbage
    here, not later inside some worker thread."""
    yield
    import gc

    gc.collect()


@pytest.fixture
def services(home: Path, embedder, qapp):
    from app.paths import resolve_layout
    from core.services.engine import Engram
    from ui.services import Services
    from ui.theme import apply_theme

    apply_theme(qapp)
    eng = Engram(resolve_layout().ensure())
    eng._embedder = embedder
    eng.settings.first_run_done = True
    svc = Services(eng.layout, eng)
    yield svc
    svc.close()


@pytest.fixture
def window(services, qtbot):
    from ui.main_window import MainWindow

    win = MainWindow(services=services, autoload_model=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    services.runner.cancel_all()


@pytest.fixture
def fake_llm(services):
    llm = ScriptedFakeLLM()
    services.set_llm(llm, "scripted-fake")
    return llm


def wait_db(qtbot, services, timeout: int = 5000) -> None:
    """Wait until the db lane has run everything queued before now (a no-op round trip)."""
    from ui.ops import Op

    op = Op(lambda ctx: None)
    services.runner.submit(op)
    qtbot.waitUntil(lambda: op.finished, timeout=timeout)


def run_db(qtbot, services, fn, timeout: int = 5000):
    """Run `fn(engram)` on the db lane (the only thread that may use its connection) and
    return its result."""
    from ui.ops import Op

    op = Op(lambda ctx: fn(ctx.engram))
    services.runner.submit(op)
    qtbot.waitUntil(lambda: op.finished, timeout=timeout)
    if op.error is not None:
        raise op.error
    return op.result
