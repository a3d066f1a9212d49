"""llama.cpp's own log lines go to Python logging (the log file), never to the terminal.

llama-cpp-python 0.3.36 installs a callback that prints to stderr whatever it maps to ERROR,
but its table predates ggml's current levels (DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5), so
llama.cpp's warnings ("llama_kv_cache_iswa: using full-size SWA cache ...") reach the terminal
of `engram chat`. `route_llama_logs` replaces that callback with one that hands each complete
line to the `llama.cpp` logger: ggml DEBUG and INFO at DEBUG (a model load writes about 1,400
such lines), WARN at WARNING, ERROR at ERROR. Where the log goes is the process's logging
configuration: the model worker writes `logs/model-worker.log`.
"""
from __future__ import annotations

import ctypes
import logging
from typing import Any

log = logging.getLogger("llama.cpp")
_GGML_LEVELS = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}
_CONTINUE = 5
_state: dict[str, Any] = {"callback": None, "level": logging.DEBUG, "buffer": ""}


def _on_log(level: int, text: bytes | None, _user_data: Any) -> None:
    if level != _CONTINUE:
        _state["level"] = _GGML_LEVELS.get(level, logging.DEBUG)
    py_level = _state["level"]
    if not log.isEnabledFor(py_level):
        _state["buffer"] = ""
        return
    buffered = _state["buffer"] + (text or b"").decode("utf-8", errors="replace")
    *lines, rest = buffered.split("\n")
    _state["buffer"] = rest[-4000:]          # a partial line (progress dots) waits for "\n"
    for line in lines:
        if line.strip():
            log.log(py_level, "%s", line.rstrip())


def route_llama_logs(llama_cpp: Any) -> None:
    """Install the callback once per process (safe to call again)."""
    if _state["callback"] is not None:
        return
    callback = llama_cpp.llama_log_callback(_on_log)
    _state["callback"] = callback            # keep a reference: llama.cpp holds a raw pointer
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
