"""The one way to open the chat model, for the desktop app, `engram chat`, `engram jobs run`
and the benchmarks: a GGUF file named for this call, else a remote server when the settings
name one, else the settings' GGUF file, else the starter model."""
from __future__ import annotations

from pathlib import Path

from core.base.errors import EngramError
from core.base.llm import LLM
from core.base.paths import DataLayout
from core.base.settings import ModelSettings
from core.runtime.starter_model import ensure_starter_model, starter_model_status


def model_path(layout: DataLayout, model: ModelSettings, *, prepare: bool = True) -> Path | None:
    """The local GGUF the settings choose: their file, else the starter model (assembled
    first when `prepare`; None when it is not ready and may not be prepared)."""
    if model.path:
        return Path(model.path).expanduser()
    if not prepare:
        return starter_model_status(layout.models_dir).path
    try:
        return ensure_starter_model(layout.models_dir)
    except EngramError as exc:
        raise EngramError(f"No model is chosen and the starter model is unavailable: {exc}") \
            from exc


def open_llm(layout: DataLayout, model: ModelSettings, *, path: Path | None = None,
             prepare_starter: bool = True, start: bool = False) -> LLM | None:
    """A `core.base.llm.LLM` (LocalLLM or RemoteLLM). `path` overrides the settings' model and
    any remote server. None only when no model is chosen and the starter model is not ready
    and may not be prepared (`prepare_starter=False`). `start` starts the local worker and
    loads the weights now, so that the first message does not wait for them."""
    if path is None and model.remote_url:
        from core.runtime.remote import RemoteLLM

        return RemoteLLM(model.remote_url, model.remote_model, model.remote_api_key,
                         n_ctx=model.n_ctx, kind=model.kind)
    if path is not None and not Path(path).exists():
        raise EngramError(f"No model file at {path}")
    chosen = path if path is not None else model_path(layout, model, prepare=prepare_starter)
    if chosen is None:
        return None
    from core.runtime.local_llm import LocalLLM

    llm = LocalLLM.from_settings(chosen, model, layout)
    if start:
        llm.count_tokens("warm up")     # starts the worker process and loads the weights
    return llm
