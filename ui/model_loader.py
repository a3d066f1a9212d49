"""Choosing and loading the chat model, off the GUI thread.

Nothing here imports llama_cpp: the runtime starts llama.cpp in its own worker process.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.base.llm import LLM
from core.runtime.factory import model_path, open_llm
from ui.ops import Op, OpContext
from ui.services import Services

log = logging.getLogger(__name__)


def has_model(services: Services) -> bool:
    """Whether a model can be loaded without asking: a remote server, a chosen GGUF, or the
    starter model already prepared."""
    settings = services.settings.model
    return bool(settings.remote_url or model_path(services.layout, settings, prepare=False))


def load_model(services: Services, path: Path | None = None, *, prepare_starter: bool = False,
               parent: Any = None, on_done: Any = None, on_error: Any = None) -> Op:
    """Load (or replace) the chat model in the background (core.runtime.factory.open_llm: a
    remote server, the chosen GGUF or the starter model, prepared first when
    `prepare_starter`); the status bar follows."""
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

    def work(_ctx: OpContext) -> LLM | None:
        return open_llm(services.layout, services.settings.model, path=path,
                        prepare_starter=prepare_starter, start=True)

    return services.runner.submit(Op(work, lane="background", success=done, failure=failed,
                                      label="Loading the model…", dialog_parent=None))
