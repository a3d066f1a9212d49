"""Getting a good model from the app: the welcome page lists the models other apps keep and the
catalogue (what fits first); one click uses a found model or downloads one from a local server
on 127.0.0.1 with pause/resume, cancel and a refused checksum, then loads it."""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from app.benchmarks.synthetic_gguf import ModelShape, write_gguf
from core.runtime.catalogue import assess, load_catalogue
from core.runtime.downloads import partial_path
from core.runtime.machine import GIB, MachineMemory
from tests.runtime.local_http import RangeHandler, serve_folder


@pytest.fixture
def fake_user_home(tmp_path, monkeypatch, tiny_gguf) -> Path:
    """A home where LM Studio keeps one model (a copy of the tiny GGUF)."""
    home = tmp_path / "user"
    lm = home / ".lmstudio/models/lmstudio-community/Tiny-GGUF/tiny-Q8_0.gguf"
    lm.parent.mkdir(parents=True)
    shutil.copyfile(tiny_gguf, lm)
    monkeypatch.setenv("HOME", str(home))
    for key in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE",
                "LLAMA_CACHE"):
        monkeypatch.delenv(key, raising=False)
    return lm


@pytest.fixture
def window(qtbot, home):
    from app.gui import build_window

    _app, win = build_window(str(home), autoload_model=False)
    qtbot.addWidget(win)
    yield win
    qtbot.waitUntil(lambda: not win.services.runner.busy, timeout=30000)
    win.services.runner.shutdown()
    if win.services.llm is not None and hasattr(win.services.llm, "close"):
        win.services.llm.close()
    win.services.engram.close()


def _texts(lst) -> list[str]:
    return [lst.item(i).text() for i in range(lst.count())]


def test_welcome_lists_found_models_and_the_catalogue_and_uses_one(qtbot, window,
                                                                   fake_user_home):
    window.show()
    qtbot.waitExposed(window)
    w = window.welcome
    assert window.stack.currentWidget() is w
    qtbot.waitUntil(lambda: w.found.list.count() > 0 and w.catalogue.list.count() > 0,
                    timeout=60000)
    size = f"{fake_user_home.stat().st_size / 1e6:.0f} MB"
    expected = (f"lmstudio-community/Tiny-GGUF/tiny-Q8_0.gguf\n    LM Studio · {size} · "
                f"llama, F32, instruct")          # its GGUF carries a chat template
    assert _texts(w.found.list) == [expected]
    cat = _texts(w.catalogue.list)
    assert len(cat) == len(load_catalogue())
    marks = [t.split("\n    ")[1].split(":")[0] for t in cat]
    order = ["✓ fits", "⚠ tight", "✗ too big"]
    assert marks == sorted(marks, key=order.index)          # what fits first
    assert "This computer:" in w.catalogue.machine_label.text()
    # the starter card says plainly what the starter model is
    assert "base model" in " ".join(lbl.text() for lbl in w.findChildren(type(w.status)))
    w.found.list.setCurrentRow(0)
    with qtbot.waitSignal(w.use_model, timeout=5000) as sig:
        w.found.use_button.click()
    assert sig.args == [str(fake_user_home)]
    assert window.services.settings.model.path == str(fake_user_home)
    assert window.stack.currentWidget() is window.chat
    qtbot.waitUntil(lambda: window.services.llm is not None, timeout=60000)
    assert Path(window.services.llm.path) == fake_user_home   # loaded in place, not copied


@pytest.fixture
def slow_server(tmp_path):
    root = tmp_path / "served"
    model = write_gguf(root / "ui-test-Q8_0.gguf", ModelShape(
        n_layers=2, n_embd=256, n_head=4, n_head_kv=4, n_ff=512, n_vocab=2000))
    srv = serve_folder(root)
    RangeHandler.delay = 0.02
    yield model, f"http://127.0.0.1:{srv.server_address[1]}/{model.name}"
    RangeHandler.delay = 0.0
    srv.shutdown()
    srv.server_close()


def _fit(model: Path, url: str, **over):
    data = model.read_bytes()
    e = replace(load_catalogue()[0], name="ui-test", display_name="UI test model",
                file_name=model.name, url=url, size=f"{len(data) / 1e6:.3g} MB",
                architecture="llama", n_layers=2, n_head_kv=4, head_dim=64,
                sha256=hashlib.sha256(data).hexdigest())
    e = replace(e, **over)
    machine = MachineMemory(16 * GIB, 12 * GIB, [])
    return assess(e, machine), machine


def test_download_pause_resume_then_load(qtbot, window, slow_server):
    from ui.model_lists import CatalogueList

    model, url = slow_server
    fit, machine = _fit(model, url)
    cl = CatalogueList(window.services)
    qtbot.addWidget(cl)
    cl.show_fits([fit], machine, {})
    assert cl.download_button.text().startswith("Download (")
    dest = window.services.layout.models_dir
    cl.download_button.click()
    qtbot.waitUntil(lambda: cl.progress.value() > 0, timeout=20000)
    cl.pause_button.click()
    qtbot.waitUntil(lambda: cl.op is None, timeout=20000)
    assert "Paused" in cl.status.text()
    part = partial_path(dest, model.name)
    assert part.exists() and 0 < part.stat().st_size < model.stat().st_size
    assert cl.download_button.text().startswith("Resume (")
    RangeHandler.delay = 0.0
    with qtbot.waitSignal(cl.downloaded, timeout=30000) as sig:
        cl.download_button.click()
    assert Path(sig.args[0]) == dest / model.name
    assert (dest / model.name).read_bytes() == model.read_bytes() and not part.exists()
    assert "verified" in cl.status.text() and cl.download_button.text() == "Use this model"


def test_cancel_deletes_the_partial_and_a_bad_checksum_is_refused(qtbot, window, slow_server):
    from ui.model_lists import CatalogueList

    model, url = slow_server
    dest = window.services.layout.models_dir
    fit, machine = _fit(model, url)
    cl = CatalogueList(window.services)
    qtbot.addWidget(cl)
    cl.show_fits([fit], machine, {})
    cl.download_button.click()
    qtbot.waitUntil(lambda: cl.progress.value() > 0, timeout=20000)
    cl.cancel_button.click()
    qtbot.waitUntil(lambda: cl.op is None, timeout=20000)
    assert "Cancelled" in cl.status.text() and not partial_path(dest, model.name).exists()

    RangeHandler.delay = 0.0
    bad, machine = _fit(model, url, sha256="f" * 64)
    cl.show_fits([bad], machine, {})
    cl.download_button.click()
    qtbot.waitUntil(lambda: cl.op is None and "failed" in cl.status.text(), timeout=20000)
    assert "Checksum mismatch" in cl.status.text() and "deleted" in cl.status.text()
    assert not (dest / model.name).exists() and not partial_path(dest, model.name).exists()


def test_a_model_too_big_for_the_machine_cannot_be_downloaded(qtbot, window):
    from ui.model_lists import CatalogueList

    big = next(e for e in load_catalogue() if e.name == "llama-3.1-8b-instruct")
    machine = MachineMemory(4 * GIB, 3 * GIB, [])
    cl = CatalogueList(window.services)
    qtbot.addWidget(cl)
    cl.show_fits([assess(big, machine)], machine, {})
    assert not cl.download_button.isEnabled()
    assert "too big" in cl.download_button.toolTip()
    assert "✗ too big" in cl.list.item(0).text()


def test_a_model_picked_in_settings_loads_at_once(qtbot, window, fake_user_home):
    window.show()
    window.open_settings("model")
    dlg = window._dialogs["settings"]
    mm = dlg.model_manager
    qtbot.waitUntil(lambda: mm.found.list.count() > 0 and mm.catalogue.list.count() > 0,
                    timeout=60000)
    assert [mm.tabs.tabText(i) for i in range(mm.tabs.count())] == [
        "On this computer", "Recommended downloads", "Download by URL"]
    names = _texts(mm.found.list)
    assert not any("starter" in n.split("\n")[1] for n in names)   # it has its own button
    row = next(i for i, n in enumerate(names) if "LM Studio" in n)
    mm.found.list.setCurrentRow(row)
    mm.found.use_button.click()
    assert window.services.settings.model.path == str(fake_user_home)
    assert mm.current_path == str(fake_user_home)
    qtbot.waitUntil(lambda: window.services.llm is not None, timeout=60000)
    dlg.close()
