"""`LocalLLM`: the `core.base.llm.LLM` interface over a llama.cpp worker process.

The model file is checked with `gguf` in this process first (a corrupt file never reaches
llama.cpp). The worker starts on first use and again after it dies; `stop()` may be called from
any thread and takes effect within one token, or mid-prompt through llama.cpp's abort callback.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import multiprocessing as mp
import threading
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Self

from core.base.llm import ChatMessage, GenerationParams, GenerationStats, StreamCallback
from core.base.worker_client import WorkerClient
from core.runtime.chat_format import chat_format_for
from core.runtime.errors import GenerationError, WorkerCrashedError
from core.runtime.gguf_info import GGUFInfo, file_fingerprint
from core.runtime.gguf_quick import quick_gguf_info as read_gguf_info  # same checks, fast
from core.runtime.kv_config import RuntimeConfig, config_from_settings, resolve_config
from core.runtime.model_kind import KindDecision, kind_of_gguf
from core.runtime.stats import RuntimeStats

log = logging.getLogger(__name__)


class LocalLLM:
    def __init__(self, model_path: Path | str, config: RuntimeConfig | None = None, *,
                 kv_state_dir: Path | str | None = None, kv_budget_bytes: int = 2 << 30,
                 load_timeout: float = 300.0, log_path: Path | str | None = None,
                 kind: str = "auto") -> None:
        self.info: GGUFInfo = read_gguf_info(model_path)
        self.kind_decision: KindDecision = kind_of_gguf(self.info, kind)
        self.path = Path(self.info.path)
        cfg = config or RuntimeConfig(model_path=str(self.path))
        self.config = resolve_config(replace(cfg, model_path=str(self.path),
                                             head_dim=cfg.head_dim or self.info.head_dim))
        self.format = chat_format_for(self.info.architecture, self.info.chat_template)
        self.kv_state_dir = str(kv_state_dir) if kv_state_dir else None
        self.kv_budget_bytes = kv_budget_bytes
        self.load_timeout = load_timeout
        self.log_path = str(log_path) if log_path else None   # the worker's log file
        self._fingerprint = hashlib.sha256(
            (file_fingerprint(self.path) + json.dumps(self.config.settings_key(), sort_keys=True)
             ).encode()).hexdigest()[:32]
        self._lock = threading.RLock()
        self._live: RuntimeStats | None = None
        # one shared byte the worker's token loop and llama.cpp's abort callback both read
        self._stop_flag = mp.get_context("spawn").RawValue(ctypes.c_byte, 0)
        from core.runtime.worker import worker_main

        self._worker = WorkerClient(
            worker_main, "engram-model-worker", self._stop_flag, self.kv_state_dir,
            self.kv_budget_bytes, self.log_path, what="The model worker",
            died=WorkerCrashedError, unknown=lambda _name, message: GenerationError(message),
            startup=self._load)

    @classmethod
    def from_settings(cls, model_path: Path | str, model_settings, layout=None) -> LocalLLM:
        cfg = config_from_settings(str(model_path), model_settings)
        return cls(model_path, cfg, kv_state_dir=layout.kv_state_dir if layout else None,
                   kv_budget_bytes=int(model_settings.kv_state_budget_mb) << 20,
                   log_path=layout.logs_dir / "model-worker.log" if layout else None,
                   kind=getattr(model_settings, "kind", "auto"))

    # -- the LLM protocol ----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.info.name or self.path.stem

    @property
    def kind(self) -> str:
        return self.kind_decision.kind

    def context_size(self) -> int:
        return self.config.n_ctx

    def count_tokens(self, text: str) -> int:
        return int(self._call("tokenize", text))

    def render(self, messages: list[ChatMessage]) -> str:
        return self.format.render(messages, add_generation_prompt=True)

    def chat(self, messages: list[ChatMessage], params: GenerationParams | None = None, *,
             on_token: StreamCallback | None = None,
             session: str | None = None) -> tuple[str, GenerationStats]:
        params = params or GenerationParams()
        stops = list(dict.fromkeys([*params.stop, *self.format.stop_strings]))
        return self._generate(self.render(messages), replace(params, stop=stops), on_token,
                              session)

    def complete(self, prompt: str, params: GenerationParams | None = None, *,
                 on_token: StreamCallback | None = None,
                 session: str | None = None) -> tuple[str, GenerationStats]:
        return self._generate(prompt, params or GenerationParams(), on_token, session)

    # -- control -------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the current generation to stop (any thread)."""
        self._stop_flag.value = 1

    def live_stats(self) -> RuntimeStats:
        if self._live is not None and self._live.loaded:
            return replace(self._live, model=self.name, backend="local",
                           notes=list(self._live.notes))
        cfg = self.config
        return RuntimeStats(model=self.name, backend="local", n_ctx=cfg.n_ctx, type_k=cfg.type_k,
                            type_v=cfg.type_v, flash_attn=cfg.flash_attn,
                            overflow_policy=cfg.overflow_policy, notes=list(cfg.notes))

    def kv_state_size(self) -> int:
        """llama.cpp's own size of the cached sequence state, in bytes (benchmarks)."""
        return int(self._call("kv_size"))

    def forget_cache(self) -> None:
        self._call("forget")

    @property
    def pid(self) -> int | None:
        return self._worker.pid

    @property
    def restarts(self) -> int:
        return self._worker.restarts

    def close(self) -> None:
        with self._lock:
            self._worker.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------
    def _load(self, worker: WorkerClient) -> None:
        """Each new worker loads the model before anything else (within `load_timeout`)."""
        self._live = worker.request(*worker.lane(), "load", (asdict(self.config),
                                                              self._fingerprint), {},
                                    timeout=self.load_timeout)

    def _call(self, op: str, *args: Any) -> Any:
        with self._lock:
            return self._worker.call(op, *args, timeout=self.load_timeout)

    def _generate(self, prompt: str, params: GenerationParams, on_token: StreamCallback | None,
                  session: str | None) -> tuple[str, GenerationStats]:
        with self._lock:
            self._worker.start()
            self._stop_flag.value = 0
            stop_requested = False
            delivered: list[str] = []

            def on_event(event: tuple[str, Any]) -> None:
                nonlocal stop_requested
                kind, value = event
                if kind == "stats":
                    self._live = value
                elif kind == "piece" and not stop_requested:
                    delivered.append(value)
                    if on_token is not None and on_token(value):
                        stop_requested = True
                        self._stop_flag.value = 1

            text, stats, self._live = self._worker.call("generate", prompt, asdict(params),
                                                        session, on_event=on_event)
            if stop_requested:   # the reply is what the caller saw before stopping
                return "".join(delivered), replace(stats, stopped=True,
                                                   finish_reason="cancelled")
            return text, stats
