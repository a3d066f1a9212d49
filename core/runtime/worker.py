"""The model worker: a child process (multiprocessing, spawn) that owns llama.cpp.

The app's process never imports llama_cpp; a segfault or an out-of-memory kill here ends only
this process, and `LocalLLM` starts a new one on the next request. It is a
`core.base.worker_client` worker with one lane. Requests: load, generate (which streams
`("piece", text)` and `("stats", RuntimeStats)` events before its answer), tokenize, stats,
kv_size, forget. Stopping uses a shared byte that the token loop and llama.cpp's abort callback
(during prompt processing) both read.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from core.base.errors import EngramError
from core.base.llm import GenerationStats
from core.base.worker_client import run_child
from core.runtime.errors import GenerationError
from core.runtime.stats import RuntimeStats

log = logging.getLogger(__name__)
STATS_EVERY = 8   # tokens between live-stats messages
_STATS_FIELDS = set(GenerationStats.__dataclass_fields__)


class _Worker:
    def __init__(self, stop_flag, kv_dir: str | None, kv_budget: int) -> None:
        self.stop_flag = stop_flag
        self.session = None          # LlamaSession
        self.cfg = None
        self.fingerprint = ""
        self.current: str | None = None   # conversation whose tokens are in the cache
        self.bytes_per_token = 0.0
        self.gpu = False
        self.store = None
        if kv_dir:
            from core.runtime.kv_store import KVStateStore

            self.store = KVStateStore(kv_dir, kv_budget)

    def live(self) -> RuntimeStats:
        s, c = self.session, self.cfg
        if s is None:
            return RuntimeStats(loaded=False)
        used = len(s.tokens)
        return RuntimeStats(
            loaded=True, n_ctx=s.n_ctx, context_used=used,
            kv_bytes=int(used * self.bytes_per_token),
            kv_bytes_capacity=int(s.n_ctx * self.bytes_per_token), type_k=c.type_k,
            type_v=c.type_v, flash_attn=c.flash_attn, overflow_policy=c.overflow_policy,
            tokens_evicted=s.evicted_total, evictions=s.evictions,
            tokens_per_second=s.last_decode_tps, gpu_offload_supported=self.gpu,
            notes=list(c.notes))

    def op_load(self, config: dict[str, Any], fingerprint: str) -> RuntimeStats:
        import llama_cpp

        from core.runtime.gguf_quick import quick_gguf_info as read_gguf_info
        from core.runtime.kv_config import RuntimeConfig
        from core.runtime.llama_session import LlamaSession

        cfg = RuntimeConfig(**config)
        info = read_gguf_info(cfg.model_path)
        limit_memory(cfg.memory_limit_mb)
        self.session = LlamaSession(cfg, should_stop=lambda: self.stop_flag.value != 0)
        self.cfg = cfg
        self.bytes_per_token = info.kv_bytes_per_token(cfg.type_k, cfg.type_v)
        self.gpu = bool(llama_cpp.llama_supports_gpu_offload())
        self.fingerprint = fingerprint
        if self.store:
            self.store.clear_except(self.fingerprint)
        return self.live()

    def _switch_to(self, conversation: str | None) -> bool:
        """Bring `conversation`'s saved cache in when another one is loaded; True if restored."""
        if conversation is None or conversation == self.current or self.store is None:
            return False
        self.current = conversation
        saved = self.store.load(conversation, self.fingerprint)
        if saved is None:
            return False
        return self.session.restore(saved.header["book"], saved.data)

    def op_generate(self, prompt: str, params: dict[str, Any], session: str | None,
                    emit: Any) -> tuple[str, GenerationStats, RuntimeStats]:
        """The reply, streamed as ("piece", text) events with a ("stats", live) event every
        few tokens; answered with (text, stats, live)."""
        s = self.session
        t0 = time.perf_counter()
        self._switch_to(session)
        if session is None:
            self.current = None
        tokens = s.tokenize(prompt, add_bos=True)
        count = 0

        def on_piece(text: str) -> None:
            nonlocal count
            count += 1
            emit(("piece", text))
            if count % STATS_EVERY == 0:
                emit(("stats", self.live()))

        t_gen = time.perf_counter()
        text, figures = s.generate(tokens, params or {}, on_piece)
        figures["seconds_to_first_token"] += t_gen - t0   # includes restoring a saved state
        stats = GenerationStats(**{k: v for k, v in figures.items() if k in _STATS_FIELDS})
        if session is not None and self.store is not None and not stats.stopped:
            try:
                self.store.save(session, self.fingerprint, s.bookkeeping(), s.state_bytes())
            except (OSError, ValueError) as exc:
                log.warning("could not save the KV state: %s", exc)
        return text, stats, self.live()

    def handle(self, op: str, args: tuple, kwargs: dict, emit: Any) -> Any:
        """One request; a failure that is not Engram's own becomes a GenerationError."""
        try:
            return self._handle(op, args, kwargs, emit)
        except EngramError:
            raise
        except Exception as exc:
            log.exception("worker request failed")
            raise GenerationError(f"The model failed: {type(exc).__name__}: {exc}") from exc

    def _handle(self, op: str, args: tuple, kwargs: dict, emit: Any) -> Any:
        if op == "load":
            return self.op_load(*args, **kwargs)
        if self.session is None:
            raise EngramError("No model is loaded.")
        if op == "generate":
            return self.op_generate(*args, emit=emit, **kwargs)
        if op == "tokenize":
            return len(self.session.tokenize(args[0], add_bos=False, special=False))
        if op == "stats":
            return self.live()
        if op == "kv_size":
            return self.session.kv_state_size()
        if op == "forget":
            self.current = None
            self.session.reset()
            return True
        if op == "crash":   # for tests: a real segfault in this process
            import ctypes

            ctypes.string_at(0)
        raise EngramError(f"unknown worker request {op!r}")


def limit_memory(limit_mb: int) -> None:
    """Cap this process's address space at what it uses now plus `limit_mb` (Linux), so that a
    model too big for the machine fails to load here, cleanly, instead of dragging the whole
    system into swap or the OOM killer."""
    if limit_mb <= 0:
        return
    try:
        import os
        import resource

        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = current + limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (OSError, ValueError, ImportError) as exc:
        log.warning("could not limit the worker's memory: %s", exc)


def configure_worker_logging(log_path: str | None) -> None:
    """The worker's log (and llama.cpp's own lines) go to `log_path`; with none, only errors
    reach stderr. Either way nothing of llama.cpp's chatter reaches the user's terminal."""
    root = logging.getLogger()
    if log_path:
        from logging.handlers import RotatingFileHandler
        from pathlib import Path

        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(log_path, maxBytes=2_000_000, backupCount=2,
                                      encoding="utf-8")
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s[worker]: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    else:
        logging.basicConfig(level=logging.WARNING)
        logging.getLogger("llama.cpp").setLevel(logging.ERROR)


def worker_main(lanes: tuple, stop_flag, kv_dir: str | None, kv_budget: int,
                log_path: str | None = None) -> None:
    configure_worker_logging(log_path)
    run_child(lanes, _Worker(stop_flag, kv_dir, kv_budget).handle)
