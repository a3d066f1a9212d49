"""Choosing and loading the chat model, off the GUI thread.

Nothing here imports llama_cpp: the runtime starts llama.cpp in its own worker process.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ui.ops import Op
from ui.services import Services

log = logging.getLogger(__name__)


def resolve_model_path(services: Services) -> Path | None:
    """The GGUF the settings name, or the starter model when it is ready."""
    from core.runtime.starter_model import starter_model_status

    path = services.settings.model.path
    if path:
        return Path(path)
    status = starter_model_status(services.layout.models_dir)
    return status.path


def open_llm(services: Services, path: Path | None, *, prepare_starter: bool = False) -> Any:
    """Runs on a worker: build the LLM (remote, the chosen GGUF, or the starter model) and
    start it, so the first message does not wait for the weights."""
    from core.runtime.factory import open_llm as factory_open

    settings = services.settings
    if path is not None and not settings.model.remote_url:
        from core.runtime.local_llm import LocalLLM

        llm = LocalLLM.from_settings(path, settings.model, services.layout)
    elif path is None and not prepare_starter and not settings.model.remote_url:
        return None
    else:
        llm = factory_open(services.layout, settings)
    if not settings.model.remote_url:
        llm.count_tokens("warm up")   # starts the worker process and loads the weights
    return llm


def load_model(services: Services, path: Path | None = None, *, prepare_starter: bool = False,
               parent: Any = None, on_done: Any = None, on_error: Any = None) -> Op:
    """Load (or replace) the chat model in the background; the status bar follows."""
    if path is None and not prepare_starter:
        path = resolve_model_path(services)
    services.events.background_progress.emit("Loading model", 0, 1)
    services.model_loading = True

    def done(llm: Any) -> None:
        services.model_loading = False
        services.events.background_progress.emit("Loading model", 0, 0)
        if llm is not None:
            services.set_llm(llm, getattr(llm, "name", None))
        if on_done:
            on_done(llm)

    def failed(error: BaseException) -> None:
        services.model_loading = False
        services.events.background_progress.emit("Loading model", 0, 0)
        if on_error:
            on_error(error)
        else:
            from ui.dialogs import show_error

            show_error(parent, error)

    return services.runner.submit(Op(lambda ctx: open_llm(services, path,
                                                           prepare_starter=prepare_starter),
                                      lane="background", success=done, failure=failed,
                                      label="Loading the model…", dialog_parent=None))
