"""In the default configuration Engram opens no network connection.

Every Python process of the scenario (and its children, which inherit PYTHONPATH) runs with a
`sitecustomize` that installs an audit hook recording socket connects and DNS look-ups to a file.
Unix-domain sockets (used between processes on one machine) are allowed; anything else fails the
test, loopback included: the default configuration has no server to talk to.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HOOK = '''
import os, socket, sys
_log = os.environ["ENGRAM_NET_AUDIT"]
def _hook(event, args):
    if event == "socket.connect":
        sock, addr = args
        if sock.family == socket.AF_UNIX:
            return
        with open(_log, "a") as f:
            f.write(f"{os.getpid()} connect {addr!r}\\n")
    elif event == "socket.getaddrinfo":
        with open(_log, "a") as f:
            f.write(f"{os.getpid()} getaddrinfo {args[0]!r}\\n")
sys.addaudithook(_hook)
'''


def run_audited(tmp_path: Path, args: list[str]) -> tuple[subprocess.CompletedProcess, str]:
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ANONYMIZED_TELEMETRY")}
    env.update(PYTHONPATH=os.pathsep.join([str(hook_dir), str(ROOT)]),
               ENGRAM_NET_AUDIT=str(log), ENGRAM_HOME=str(tmp_path / "home"))
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    return out, log.read_text() if log.exists() else ""


def test_the_hook_does_see_network_calls(tmp_path: Path) -> None:
    out, log = run_audited(tmp_path, ["-c", ("import socket; socket.getaddrinfo('example.org', 80)"
                                      " if False else None; s = socket.socket();"
                                      " s.settimeout(0.2);\ntry: s.connect(('127.0.0.1', 9))\n"
                                      "except OSError: pass")])
    assert out.returncode == 0, out.stderr
    assert "connect ('127.0.0.1', 9)" in log


@pytest.mark.parametrize("mode", ["app", "cli"])
def test_default_session_opens_no_network_connection(tmp_path: Path, tiny_gguf, mode) -> None:
    scenario = Path(__file__).with_name("privacy_scenario.py")
    archive = ROOT / "tests" / "fixtures" / "archives" / "chatgpt_conversations.json"
    out, log = run_audited(tmp_path, [str(scenario), str(tmp_path / "home"), str(archive),
                                      str(tiny_gguf), mode])
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stderr[-3000:]
    assert log == ""


def test_cli_commands_open_no_network_connection(tmp_path: Path) -> None:
    for args in (["info"], ["doctor"], ["reindex"]):
        out, log = run_audited(tmp_path, ["-m", "app.cli", *args])
        assert out.returncode == 0, out.stderr[-2000:]
        assert log == "", (args, log)
