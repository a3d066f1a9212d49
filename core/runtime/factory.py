"""Choosing the model backend from the settings: a remote server when one is configured,
else the local model file (or the starter model when no file is chosen)."""
from __future__ import annotations

from pathlib import Path

from core.base.errors import EngramError
from core.base.paths import DataLayout


def model_path_from_settings(layout: DataLayout, model_settings) -> Path:
    if model_settings.path:
        return Path(model_settings.path).expanduser()
    from core.runtime.starter_model import ensure_starter_model

    try:
        return ensure_starter_model(layout.models_dir)
    except EngramError as exc:
        raise EngramError(f"No model is chosen and the starter model is unavailable: {exc}") \
            from exc


def open_llm(layout: DataLayout, settings):
    """A `core.base.llm.LLM` for these settings (LocalLLM or RemoteLLM); the local worker starts on
    the first request."""
    ms = settings.model
    if ms.remote_url:
        from core.runtime.remote import RemoteLLM

        return RemoteLLM(ms.remote_url, ms.remote_model, ms.remote_api_key, n_ctx=ms.n_ctx,
                         kind=ms.kind)
    from core.runtime.local_llm import LocalLLM

    return LocalLLM.from_settings(model_path_from_settings(layout, ms), ms, layout)
