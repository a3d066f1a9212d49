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
import signal
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Self

from core.base.llm import ChatMessage, GenerationParams, GenerationStats, StreamCallback
from core.base.worker_client import discard_child, start_child
from core.runtime import errors as rt_errors
from core.runtime.chat_format import chat_format_for
from core.runtime.errors import GenerationError, WorkerCrashedError
from core.runtime.gguf_info import GGUFInfo, file_fingerprint
from core.runtime.gguf_quick import quick_gguf_info as read_gguf_info  # same checks, fast
from core.runtime.kv_config import RuntimeConfig, config_from_settings, resolve_config
from core.runtime.model_kind import KindDecision, kind_of_gguf
from core.runtime.stats import RuntimeStats

log = logging.getLogger(__name__)
_STATS_FIELDS = set(GenerationStats.__dataclass_fields__)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGSEGV:
            return f"crashed ({name}, a segmentation fault in llama.cpp)"
        if -code == signal.SIGKILL:
            return f"was killed ({name}; often the system running out of memory)"
        return f"was terminated by {name}"
    return f"exited with code {code}"


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
        self._ctx = mp.get_context("spawn")
        self._stop_flag = self._ctx.RawValue(ctypes.c_byte, 0)
        self._lock = threading.RLock()
        self._proc = None
        self._conn = None
        self._live: dict[str, Any] = {}
        self.restarts = 0          # workers started again after one died
        self._started = False

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
        with self._lock:
            return int(self._call({"op": "tokenize", "text": text}))

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
        live = dict(self._live)
        stats = RuntimeStats(model=self.name, backend="local",
                             **{k: v for k, v in live.items()
                                if k in RuntimeStats.__dataclass_fields__})
        if not live:
            stats.n_ctx, stats.type_k, stats.type_v = (self.config.n_ctx, self.config.type_k,
                                                       self.config.type_v)
            stats.flash_attn, stats.notes = self.config.flash_attn, list(self.config.notes)
            stats.overflow_policy = self.config.overflow_policy
        return stats

    def kv_state_size(self) -> int:
        """llama.cpp's own size of the cached sequence state, in bytes (benchmarks)."""
        with self._lock:
            return int(self._call({"op": "kv_size"}))

    def forget_cache(self) -> None:
        with self._lock:
            self._call({"op": "forget"})

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def close(self) -> None:
        with self._lock:
            if self._proc is None:
                return
            try:
                self._conn.send({"op": "shutdown"})
                self._proc.join(5)
            except (OSError, BrokenPipeError):
                pass
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
            self._conn.close()
            self._proc = self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        if self._proc is not None:
            self._discard_worker()
        if self._started:
            self.restarts += 1
        self._started = True
        from core.runtime.worker import worker_main

        self._proc, self._conn = start_child(self._ctx, worker_main, "engram-model-worker",
                                             self._stop_flag, self.kv_state_dir,
                                             self.kv_budget_bytes, self.log_path)
        try:
            reply = self._wait({"op": "load", "config": asdict(self.config),
                                "fingerprint": self._fingerprint}, timeout=self.load_timeout)
        except BaseException:
            self._discard_worker()
            raise
        self._live = reply.get("live", {})

    def _discard_worker(self) -> None:
        discard_child(self._proc, self._conn)
        self._proc = self._conn = None

    def _recv(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                if self._conn.poll(0.05):
                    return self._conn.recv()
            except (EOFError, OSError):
                pass
            if not self._proc.is_alive():
                code = self._proc.exitcode
                self._discard_worker()
                raise WorkerCrashedError(
                    f"The model worker {describe_exit(code)}. The next request starts it again.")
            if deadline is not None and time.monotonic() > deadline:
                self._discard_worker()
                raise WorkerCrashedError("The model worker did not answer in time; it was "
                                         "stopped and will be started again.")

    def _wait(self, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        self._conn.send(request)
        while True:
            msg = self._recv(timeout)
            if msg["type"] == "error":
                raise _error(msg)
            if msg["type"] in ("loaded", "result", "done"):
                return msg

    def _call(self, request: dict[str, Any]) -> Any:
        self._ensure_worker()
        return self._wait(request, timeout=self.load_timeout)["value"]

    def _generate(self, prompt: str, params: GenerationParams, on_token: StreamCallback | None,
                  session: str | None) -> tuple[str, GenerationStats]:
        with self._lock:
            self._ensure_worker()
            self._stop_flag.value = 0
            p = asdict(params)
            self._conn.send({"op": "generate", "prompt": prompt, "params": p, "session": session,
                             "add_bos": True})
            stop_requested = False
            delivered: list[str] = []
            while True:
                msg = self._recv()
                kind = msg["type"]
                if kind == "piece":
                    if stop_requested:
                        continue
                    delivered.append(msg["text"])
                    if on_token is not None and on_token(msg["text"]):
                        stop_requested = True
                        self._stop_flag.value = 1
                elif kind == "stats":
                    self._live = msg["live"]
                elif kind == "error":
                    raise _error(msg)
                elif kind == "done":
                    self._live = msg["live"]
                    st = msg["stats"]
                    if stop_requested:   # the reply is what the caller saw before stopping
                        st.update(stopped=True, finish_reason="cancelled")
                    text = "".join(delivered) if stop_requested else msg["text"]
                    return text, GenerationStats(
                        **{k: v for k, v in st.items() if k in _STATS_FIELDS})


def _error(msg: dict[str, Any]) -> Exception:
    cls = getattr(rt_errors, msg.get("kind", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = GenerationError
    return cls(msg["message"])
