"""The import wizard (detect, dry run, import with progress, report, background embedding)
and the settings dialog (values saved and applied) through the real window."""
from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import run_db
from tests.ui.sample_export import write_chatgpt_export


def test_import_wizard_previews_imports_and_embeds(qtbot, window, services, tmp_path: Path) -> None:
    export = write_chatgpt_export(tmp_path / "export", n=4)
    window.open_import()
    wizard = window._dialogs["import"]
    assert wizard.isVisible()
    wizard.set_path(str(export))
    qtbot.waitUntil(lambda: wizard.import_button.isEnabled(), timeout=10000)
    assert "ChatGPT" in wizard.detected.text()
    preview = {wizard.preview.topLevelItem(i).text(0): wizard.preview.topLevelItem(i).text(1)
               for i in range(wizard.preview.topLevelItemCount())}
    assert preview["Conversations"] == "4" and preview["Messages"] == "8"
    assert run_db(qtbot, services, lambda e: e.conversations.count()) == 0   # dry run wrote nothing

    with qtbot.waitSignal(wizard.imported, timeout=20000) as imported, \
            qtbot.waitSignal(wizard.embedding_done, timeout=60000) as embedded:
        wizard.import_button.click()
    report = imported.args[0]
    assert report.status == "completed" and report.new_conversations == 4
    assert wizard.report_title.text() == "Import complete"
    assert embedded.args[0] == report.memories_created > 0
    qtbot.waitUntil(lambda: len(window.conversations.conversations) == 4)
    assert all(c.source == "chatgpt" for c in window.conversations.conversations)
    pending = run_db(qtbot, services, lambda e: e.index_sync.pending_count())
    assert pending == 0
    # The inspector lists the imported turns (under Conversations: nothing is known as a fact
    # until the memory worker writes facts), counts the windows, and filters by import.
    window.show_inspector()
    insp = window.inspector
    turns = run_db(qtbot, services, lambda e: e.views.count("turns"))
    windows = run_db(qtbot, services, lambda e: e.views.tally().get("window", 0))
    assert turns + windows == report.memories_created and turns == 8     # one per message
    insp.show_view("turns")
    qtbot.waitUntil(lambda: insp.model.filter.view == "turns" and insp.model.total == turns)
    qtbot.waitUntil(lambda: f"{windows} index entries" in insp.tally.text())
    qtbot.waitUntil(lambda: insp.source.count() == 2)
    insp.source.setCurrentIndex(1)
    qtbot.waitUntil(lambda: insp.model.filter.import_id == report.import_id, timeout=3000)
    qtbot.waitUntil(lambda: insp.model.total == turns)
    wizard.close()


def test_import_wizard_reports_a_bad_file(qtbot, window, tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": ', "utf-8")
    window.open_import()
    wizard = window._dialogs["import"]
    wizard.set_path(str(bad))
    qtbot.waitUntil(lambda: "color:#b3261e" in wizard.detected.text(), timeout=10000)
    assert not wizard.import_button.isEnabled()
    wizard.close()


def test_settings_are_saved_and_applied(qtbot, window, services) -> None:
    from core.base.settings import load_settings

    window.open_settings("memory")
    dlg = window._dialogs["settings"]
    assert dlg.stack.currentIndex() == 1
    dlg.forget_threshold.setValue(0.2)
    dlg.tim.setChecked(False)
    dlg.n_ctx.setValue(8192)
    dlg.type_k.setCurrentText("q4_0")
    dlg.temperature.setValue(0.35)
    dlg.seed.setValue(7)
    dlg.memory_limit.setValue(4096)
    assert dlg.kind.currentData() == "auto"             # decided from the file by default
    dlg.kind.setCurrentIndex(dlg.kind.findData("base"))
    with qtbot.waitSignal(dlg.applied, timeout=5000) as applied:
        dlg.apply()
    changed = applied.args[0]
    assert {"memory.forget_threshold", "memory.tim_enabled", "model.n_ctx",
            "model.type_k", "generation.temperature", "generation.seed",
            "model.memory_limit_mb", "model.kind"} <= set(changed)
    saved = load_settings(services.layout.settings_path)
    assert saved.memory.forget_threshold == 0.2 and not saved.memory.tim_enabled
    assert saved.model.n_ctx == 8192 and saved.model.type_k == "q4_0"
    assert (saved.generation.temperature, saved.generation.seed) == (0.35, 7)
    assert saved.model.memory_limit_mb == 4096 and saved.model.kind == "base"
    assert services.engram.settings.generation.params().seed == 7   # the next reply uses it
    assert services.settings.model.n_ctx == 8192        # applied in place, no restart
    dlg.gpu.setCurrentText("lots")
    dlg.apply()
    assert "GPU layers" in dlg.note.text()
    dlg.close()


def test_model_manager_reads_a_gguf_header(qtbot, window, tiny_gguf: Path) -> None:
    window.open_settings("model")
    mm = window._dialogs["settings"].model_manager
    mm.set_current(str(tiny_gguf))
    qtbot.waitUntil(lambda: mm.info_labels["architecture"].text() == "llama", timeout=10000)
    assert "KB" in mm.info_labels["kv"].text() or "B" in mm.info_labels["kv"].text()
    assert mm.current_path == str(tiny_gguf)
    window._dialogs["settings"].close()


def test_model_manager_downloads_by_url_from_a_local_server(qtbot, window, services,
                                                            tiny_gguf: Path) -> None:
    """A real HTTP download from a server this test starts on 127.0.0.1."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(tiny_gguf.parent))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        window.open_settings("model")
        mm = window._dialogs["settings"].model_manager
        mm.url.setText(f"http://127.0.0.1:{server.server_port}/{tiny_gguf.name}")
        mm.download_button.click()
        qtbot.waitUntil(lambda: mm.download_note.text().startswith("Downloaded"), timeout=30000)
        target = services.layout.models_dir / tiny_gguf.name
        assert target.read_bytes() == tiny_gguf.read_bytes()
        assert mm.current_path == str(target)
        qtbot.waitUntil(lambda: mm.info_labels["architecture"].text() == "llama", timeout=10000)
    finally:
        server.shutdown()
        window._dialogs["settings"].close()
