from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.paths import resolve_layout
from core.base.errors import SettingsError
from core.base.settings import Settings, load_settings, save_settings


def test_settings_round_trip_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert load_settings(path) == Settings()
    s = Settings()
    s.model.type_k = "q8_0"
    s.memory.full_context_tokens = 1234
    save_settings(path, s)
    assert load_settings(path) == s
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temp file left


def test_generation_settings_become_sampling_params(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1}))           # a file from before the section
    s = load_settings(path)
    assert s.generation.params().seed is None             # -1: a fresh seed every reply
    s.generation.temperature, s.generation.seed, s.generation.max_tokens = 0.2, 42, 64
    save_settings(path, s)
    params = load_settings(path).generation.params()
    assert (params.temperature, params.seed, params.max_tokens) == (0.2, 42, 64)


def test_settings_tolerate_unknown_and_wrongly_typed_keys(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "surprise": 1,
                                "model": {"n_ctx": "big", "type_v": "q4_0", "sirllm_decay": 1}}))
    s = load_settings(path)
    assert s.model.n_ctx == Settings().model.n_ctx
    assert s.model.type_v == "q4_0"
    assert s.model.sirllm_decay == 1.0


def test_settings_from_newer_version_and_garbage_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(SettingsError, match="newer"):
        load_settings(path)
    path.write_text("{not json")
    with pytest.raises(SettingsError, match="Cannot read settings"):
        load_settings(path)


def test_engram_home_puts_everything_in_one_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "h"))
    layout = resolve_layout()
    assert layout.data_dir == (tmp_path / "h").resolve()
    assert layout.settings_path.is_relative_to(layout.data_dir)
    assert layout.db_path.parent == layout.data_dir


def test_without_engram_home_platform_dirs_are_used(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENGRAM_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    layout = resolve_layout()
    assert layout.data_dir == tmp_path / "data" / "Engram"
    assert layout.config_dir == tmp_path / "config" / "Engram"
