"""Settings a person understands (real dialog, a generated tiny GGUF): plain names with an
explanation and the research name on a details line, the KV size for the chosen K/V types,
the GPU line from the build's real probe, the header off the GUI thread; one line for a failed
download; the context figure is the chat's, not a background job's."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel

from core.runtime.stats import RuntimeStats


def test_settings_speak_plainly_and_show_the_kv_size(qtbot, window, tiny_gguf: Path) -> None:
    window.open_settings("memory")
    dlg = window._dialogs["settings"]
    texts = [w.text() for w in dlg.findChildren(QLabel)]
    assert any(t.startswith("Short running summaries") and "<i>HEMA" in t for t in texts)
    assert "HEMA" not in dlg.hema.text() and dlg.hema.text() == (
        "Summarise each conversation as it goes")
    assert "MemoryBank" not in dlg.memorybank.text() and "TiM" not in dlg.tim.text()
    assert dlg.forget_threshold.toolTip().startswith("A memory is forgotten when")
    # the KV size follows the chosen types, for the file's own shape
    dlg.model_manager.set_current(str(tiny_gguf))
    qtbot.waitUntil(lambda: bool(dlg.kv_size.text()), timeout=10000)
    dlg.n_ctx.setValue(4096)
    dlg.type_k.setCurrentText("f16")
    dlg.type_v.setCurrentText("f16")
    f16 = dlg.kv_size.text()
    dlg.type_k.setCurrentText("q8_0")
    dlg.type_v.setCurrentText("q8_0")
    q8 = dlg.kv_size.text()
    assert f16 != q8 and "for 4,096 tokens" in q8
    assert " at q8_0/q8_0 · " in dlg.model_manager.info_labels["kv"].text()   # not "at f16"
    info = dlg.model_manager.info
    from core.runtime.kv_config import bytes_per_element
    from ui.status_bar import human_bytes

    expected = info["kv_elements_per_token"] * 2 * bytes_per_element("q8_0") * 4096
    assert q8.startswith(f"= {human_bytes(expected)} ")


def test_gpu_layers_says_what_the_build_supports(qtbot, window) -> None:
    from ui.model_manager import build_capabilities

    window.open_settings("model")
    dlg = window._dialogs["settings"]
    qtbot.waitUntil(lambda: build_capabilities() is not None, timeout=120000)
    dlg.show_gpu_support()
    if build_capabilities()["gpus"]:
        assert dlg.gpu.isEnabled() and "This build can use" in dlg.gpu_note.text()
    else:       # this machine: no GPU
        assert not dlg.gpu.isEnabled() and dlg.gpu.currentText() == "none"
        assert "CPU only" in dlg.gpu_note.text()


def test_a_failed_download_says_one_thing_once() -> None:
    from ui.model_lists import download_error_text

    raw = "Download failed: [Errno -2] Name or service not known"
    text = download_error_text(RuntimeError(raw))
    assert text.count("Download failed") == 1 and "Errno" not in text
    assert text == ("Download failed: the server's name could not be found: no internet "
                    "connection, or a wrong address. Press Download to resume.")
    assert download_error_text("the server answered 404.") == (
        "Download failed: the server answered 404. Press Download to resume.")


def test_the_context_figure_is_the_chats(qtbot, window, services) -> None:
    bar = window.status
    services.person_turns = 1                  # a chat turn streams
    bar.show_runtime(RuntimeStats(n_ctx=4096, context_used=321, type_k="f16", type_v="f16"))
    assert bar.context_label.text() == "Context 321 / 4,096"
    services.person_turns = 0                  # a background job fills the model meanwhile
    bar.show_runtime(RuntimeStats(n_ctx=4096, context_used=2950, type_k="f16", type_v="f16"))
    assert bar.context_label.text() == "Context 321 / 4,096"
