"""`engram models list|download NAME|use` as a user runs them: catalogue names, what fits,
models found in other apps, a download from a local server on 127.0.0.1."""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace

import pytest

from app.benchmarks.synthetic_gguf import ModelShape, write_gguf
from app.cli import main
from core.runtime import catalogue as catalogue_mod
from tests.runtime.local_http import serve_folder


@pytest.fixture
def user(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".lmstudio/models/pub/repo").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for key in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE",
                "LLAMA_CACHE"):
        monkeypatch.delenv(key, raising=False)
    engram_home = tmp_path / "engram"
    return home, ["--home", str(engram_home)], engram_home


def test_list_shows_found_models_and_the_catalogue_fitting_first(user, tiny_gguf, capsys):
    home, opts, _ = user
    shutil.copyfile(tiny_gguf, home / ".lmstudio/models/pub/repo/tiny-Q8_0.gguf")
    assert main([*opts, "models", "list"]) == 0
    out = capsys.readouterr().out
    assert "[LM Studio] pub/repo/tiny-Q8_0.gguf (used in place)" in out
    assert "Recommended downloads" in out and "what fits first" in out
    for name in ("qwen2.5-0.5b-instruct", "llama-3.1-8b-instruct", "gemma-3-1b-it"):
        assert name in out
    assert main([*opts, "models", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any(m["source"] == "LM Studio" for m in data["models"])
    statuses = [c["fit"]["status"] for c in data["catalogue"]]
    order = ["fits", "tight", "too big"]
    assert statuses == sorted(statuses, key=order.index)
    assert all(c["fit"]["reason"] for c in data["catalogue"])


def test_download_by_catalogue_name_then_use(user, tmp_path, monkeypatch, capsys):
    _, opts, engram_home = user
    served = tmp_path / "served"
    model = write_gguf(served / "cli-test-Q8_0.gguf", ModelShape(
        n_layers=2, n_embd=128, n_head=2, n_head_kv=2, n_ff=128, n_vocab=512))
    data = model.read_bytes()
    srv = serve_folder(served)
    try:
        real = catalogue_mod.load_catalogue()
        entry = replace(real[0], name="cli-test", file_name=model.name, n_layers=2,
                        size=f"{len(data) / 1e6:.3g} MB",
                        url=f"http://127.0.0.1:{srv.server_address[1]}/{model.name}",
                        sha256=hashlib.sha256(data).hexdigest(), architecture="llama")
        monkeypatch.setattr(catalogue_mod, "load_catalogue", lambda path=None: [entry])
        assert main([*opts, "models", "download", "cli-test"]) == 0
        captured = capsys.readouterr()
        assert "verified by sha256" in captured.err and "licence:" in captured.err
        saved = engram_home / "models" / model.name
        assert saved.read_bytes() == data and f"saved {saved}" in captured.out
        assert main([*opts, "models", "use", "cli-test"]) == 0
        settings = json.loads((engram_home / "config" / "settings.json").read_text())
        assert settings["model"]["path"] == str(saved.resolve())
        assert main([*opts, "models", "download", "no-such-model"]) == 1
        assert "No model called 'no-such-model'" in capsys.readouterr().err
    finally:
        srv.shutdown()
        srv.server_close()
