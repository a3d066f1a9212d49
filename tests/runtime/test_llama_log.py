"""llama.cpp's own log lines reach the log file, not the terminal (`engram chat` was noisy)."""
from __future__ import annotations

import logging

from core.runtime import llama_log
from core.runtime.kv_config import RuntimeConfig
from core.runtime.local_llm import LocalLLM

SWA_LINE = "llama_kv_cache_iswa: using full-size SWA cache"


def test_levels_and_partial_lines_are_mapped(caplog):
    caplog.set_level(logging.DEBUG, logger="llama.cpp")
    llama_log._on_log(3, b"load: a warning\n", None)
    llama_log._on_log(2, b"loading", None)          # a line written in pieces
    llama_log._on_log(5, b" ... done\n", None)
    llama_log._on_log(4, b"bad thing\n", None)
    got = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "llama.cpp"]
    assert got == [(logging.WARNING, "load: a warning"), (logging.DEBUG, "loading ... done"),
                   (logging.ERROR, "bad thing")]


def test_worker_sends_llama_cpp_lines_to_its_log_file(starter_gguf, tmp_path, capfd):
    """The starter model's load prints the SWA line; with the worker's log file set it lands
    there and nothing of llama.cpp reaches this process's stdout/stderr (the child inherits
    them)."""
    log_file = tmp_path / "logs" / "model-worker.log"
    cfg = RuntimeConfig(str(starter_gguf), n_ctx=512, type_k="q8_0", type_v="q8_0")
    with LocalLLM(starter_gguf, cfg, log_path=log_file) as llm:
        assert llm.count_tokens("hello there") > 0
    out, err = capfd.readouterr()
    assert "llama_" not in out + err and "SWA" not in out + err
    text = log_file.read_text("utf-8")
    assert SWA_LINE in text and "WARNING llama.cpp[worker]" in text


def test_without_a_log_file_the_terminal_stays_quiet(starter_gguf, capfd):
    cfg = RuntimeConfig(str(starter_gguf), n_ctx=512)
    with LocalLLM(starter_gguf, cfg) as llm:
        assert llm.count_tokens("hello") > 0
    out, err = capfd.readouterr()
    assert SWA_LINE not in out + err and "llama_model_loader" not in out + err
