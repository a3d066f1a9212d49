"""Chat with the real llama.cpp runtime (a worker process) on the generated tiny GGUF: load it
in the background, stream a reply, stop it mid-stream; the status bar shows live figures."""
from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import run_db


def test_load_tiny_gguf_stream_and_stop(qtbot, window, services, tiny_gguf: Path) -> None:
    from ui.model_loader import load_model

    services.settings.model.path = str(tiny_gguf)
    services.settings.model.n_ctx = 512
    # a fixed seed: random weights sampled with a time-based seed could end the reply on
    # their own before Stop arrives
    services.settings.generation.seed = 11
    with qtbot.waitSignal(services.events.model_changed, timeout=60000):
        load_model(services, parent=window)
    assert services.llm is not None and services.llm.pid is not None
    assert window.status.model_label.text().startswith("Model: ")
    qtbot.waitUntil(lambda: window.status.context_label.text().endswith("512"), timeout=5000)

    pieces: list[str] = []
    orig = window.chat._on_token
    window.chat._on_token = lambda piece: (pieces.append(piece), orig(piece))
    window.chat.composer.setPlainText("Hello tiny model")
    with qtbot.waitSignal(window.chat.turn_finished, timeout=60000) as blocker:
        window.chat.submit()
        qtbot.waitUntil(lambda: len(pieces) >= 3, timeout=30000)
        window.chat.stop()
    result = blocker.args[0]
    assert result.stopped
    stored = run_db(qtbot, services,
                    lambda e: e.conversations.get_message(result.assistant_message.id))
    assert stored.role == "assistant"
    assert stored.text.startswith("".join(pieces[:3]))
    qtbot.waitUntil(lambda: window.status.kv_label.text().startswith("KV "), timeout=5000)
