"""Models other apps already keep, found in the folder layouts those apps use, built in a
temporary home; split GGUFs count as one model; nothing is copied."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from app.benchmarks.synthetic_gguf import TINY, write_gguf
from core.runtime.discovery import discover
from core.runtime.model_manager import ModelManager

ENV_KEYS = ("XDG_DATA_HOME", "XDG_CACHE_HOME", "OLLAMA_MODELS", "HF_HOME", "HF_HUB_CACHE",
            "LLAMA_CACHE")


@pytest.fixture
def fake_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    return home


def _put(tiny: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tiny, dest)
    return dest


def _ollama(home: Path, model_file: Path, registry: str, namespace: str, model: str,
            tag: str) -> Path:
    root = home / ".ollama" / "models"
    data = model_file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    blob = root / "blobs" / f"sha256-{digest}"
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    cfg = root / "blobs" / "sha256-config"
    cfg.write_text("{}")
    manifest = root / "manifests" / registry / namespace / model / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"schemaVersion": 2, "layers": [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:config"},
        {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}",
         "size": len(data)}]}))
    return blob


def test_every_app_layout_is_found_with_its_name(fake_home, tiny_gguf):
    h = fake_home
    _put(tiny_gguf, h / ".lmstudio/models/lmstudio-community/Qwen2.5-GGUF/qwen-q4.gguf")
    _put(tiny_gguf, h / ".cache/lm-studio/models/TheBloke/Old-GGUF/old.Q4_K_M.gguf")
    _put(tiny_gguf, h / ".local/share/nomic.ai/GPT4All/Phi-3-mini-4k-instruct.Q4_0.gguf")
    _put(tiny_gguf, h / "jan/models/llama3.2-1b-instruct/model.gguf")
    _put(tiny_gguf, h / ".local/share/Jan/data/llamacpp/models/qwen3-4b/model.gguf")
    snap = h / ".cache/huggingface/hub/models--bartowski--Llama-3.2-1B-Instruct-GGUF"
    blob = _put(tiny_gguf, snap / "blobs" / "abc123")
    link = snap / "snapshots" / "d52af37" / "Llama-3.2-1B-Instruct-Q4_K_M.gguf"
    link.parent.mkdir(parents=True)
    link.symlink_to(blob)
    _put(tiny_gguf, h / ".cache/llama.cpp/ggml-org_gemma-3-1b-it-GGUF_gemma-3-1b-it-Q4_K_M.gguf")
    _put(tiny_gguf, h / ".cache/llama.cpp/mmproj-model-f16.gguf")        # a vision projector
    _ollama(h, tiny_gguf, "registry.ollama.ai", "library", "llama3.2", "3b")
    other = write_gguf(h / "elsewhere" / "other.gguf", TINY, seed=1)
    _ollama(h, other, "registry.ollama.ai", "someone", "custom", "latest")

    found = {(f.source, f.name) for f in discover()}
    assert found == {
        ("LM Studio", "lmstudio-community/Qwen2.5-GGUF/qwen-q4.gguf"),
        ("LM Studio", "TheBloke/Old-GGUF/old.Q4_K_M.gguf"),
        ("GPT4All", "Phi-3-mini-4k-instruct.Q4_0.gguf"),
        ("Jan", "llama3.2-1b-instruct/model.gguf"),
        ("Jan", "qwen3-4b/model.gguf"),
        ("Hugging Face cache",
         "bartowski/Llama-3.2-1B-Instruct-GGUF: Llama-3.2-1B-Instruct-Q4_K_M.gguf"),
        ("llama.cpp cache", "ggml-org_gemma-3-1b-it-GGUF_gemma-3-1b-it-Q4_K_M.gguf"),
        ("Ollama", "llama3.2:3b"),
        ("Ollama", "someone/custom:latest"),
    }
    ollama = [f for f in discover() if f.source == "Ollama"]
    assert all(f.path.parent.name == "blobs" and f.path.name.startswith("sha256-")
               for f in ollama)                       # used in place: the blob itself


def test_two_ollama_tags_of_one_blob_are_one_model_with_both_names(fake_home, tiny_gguf):
    _ollama(fake_home, tiny_gguf, "registry.ollama.ai", "library", "qwen2.5", "0.5b")
    _ollama(fake_home, tiny_gguf, "registry.ollama.ai", "library", "qwen2.5", "latest")
    found = discover()
    assert [(f.source, f.name) for f in found] == [("Ollama", "qwen2.5:0.5b, qwen2.5:latest")]


def test_environment_overrides_are_followed(fake_home, tiny_gguf, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LLAMA_CACHE", str(tmp_path / "lcache"))
    _put(tiny_gguf, tmp_path / "hub/models--org--repo/snapshots/r1/m.gguf")
    _put(tiny_gguf, tmp_path / "lcache/n.gguf")
    assert {f.name for f in discover()} == {"org/repo: m.gguf", "n.gguf"}


def test_split_gguf_is_one_model_and_loads_from_its_first_part(fake_home, tmp_path):
    first = write_gguf(fake_home / ".lmstudio/models/pub/Split-GGUF/split.gguf", TINY,
                       split_max_tensors=8)
    assert first.name == "split-00001-of-00003.gguf"
    found = discover()
    assert len(found) == 1 and found[0].path == first and found[0].parts == 3
    assert found[0].size_bytes == sum(p.stat().st_size for p in first.parent.iterdir())
    (first.parent / "split-00003-of-00003.gguf").unlink()
    broken = discover()[0]
    assert broken.missing_parts == 1
    mm = ModelManager(tmp_path / "models", tmp_path / "config")
    entry = next(e for e in mm.list_models() if e.source == "LM Studio")
    assert not entry.usable and "1 of 3 parts are missing" in entry.error


def test_model_manager_lists_found_models_in_place_and_added_folders(fake_home, tiny_gguf,
                                                                     tmp_path):
    lm = _put(tiny_gguf, fake_home / ".lmstudio/models/pub/repo/model-Q4.gguf")
    blob = _ollama(fake_home, tiny_gguf, "registry.ollama.ai", "library", "qwen2.5", "0.5b")
    mine = _put(tiny_gguf, tmp_path / "my models" / "deep" / "mine.gguf")
    mm = ModelManager(tmp_path / "models", tmp_path / "config")
    assert [f.name for f in mm.add_folder(tmp_path / "my models")] == ["mine.gguf"]
    listed = {e.display_name: e for e in mm.list_models()}
    assert listed["pub/repo/model-Q4.gguf"].path == lm and listed["qwen2.5:0.5b"].path == blob
    assert listed["mine.gguf"].source == "Added folder" and listed["mine.gguf"].path == mine
    assert all(e.usable and e.found_elsewhere for e in listed.values()
               if e.source != "starter")
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
    assert mm.remove_folder(tmp_path / "my models")
    assert "mine.gguf" not in {e.display_name for e in mm.list_models()}


def test_a_file_already_in_the_models_folder_is_not_listed_twice(fake_home, tiny_gguf,
                                                                 tmp_path):
    models = tmp_path / "models"
    target = _put(tiny_gguf, models / "m.gguf")
    link = fake_home / ".lmstudio/models/pub/repo/m.gguf"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    entries = ModelManager(models, tmp_path / "config").list_models()
    assert [e.source for e in entries if e.path.name == "m.gguf"] == ["folder"]
