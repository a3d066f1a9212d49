"""Failing environments, made for real: a small tmpfs that fills up, permissions a process
cannot override, and the `engram` command run in them.

- `small_disk`: a tmpfs of a few MB mounted for the test (needs root; the test is skipped
  where mounting is not permitted). Writing past its size fails with a real ENOSPC.
- `run_engram(..., without_dac=True)`: as root, the child drops CAP_DAC_OVERRIDE and
  CAP_DAC_READ_SEARCH from its capability bounding set before exec (prctl), so file modes
  apply to it as to any user (root otherwise reads a 000 folder). As another user, modes
  apply anyway.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _drop_dac() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def run_engram(home: Path, *args: str, without_dac: bool = False,
               timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENGRAM_HOME": str(home), "PYTHONPATH": str(ROOT)}
    preexec = _drop_dac if without_dac and os.geteuid() == 0 else None
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          preexec_fn=preexec)


def require_enforced_permissions(tmp_path: Path) -> None:
    """Skip unless a child run as `run_engram(without_dac=True)` runs is refused a 000 file."""
    probe = tmp_path / "permission-probe"
    probe.write_text("x")
    probe.chmod(0)
    preexec = _drop_dac if os.geteuid() == 0 else None
    try:
        out = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}).read()"],
                             capture_output=True, check=False, preexec_fn=preexec, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot drop file capabilities here: {exc}")
    finally:
        probe.chmod(0o600)
    if out.returncode == 0:
        pytest.skip("file permissions are not enforced for this process (capabilities)")


@contextlib.contextmanager
def small_disk(where: Path, size_mb: int) -> Iterator[Path]:
    """A real tmpfs of `size_mb` MB at `where` (skipped where mounting is not permitted)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs",
                              str(where)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def grow_disk(where: Path, size_mb: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_mb}m", str(where)], check=True,
                   capture_output=True)


def fill_disk(where: Path) -> None:
    """Write a filler file until the disk refuses (ENOSPC)."""
    with contextlib.suppress(OSError), (where / "filler.bin").open("wb") as f:
        while True:
            f.write(b"\0" * (1 << 20))
            f.flush()


def one_error_line(out: subprocess.CompletedProcess) -> str:
    """The failure's one line on stderr; fails the test on a traceback, several lines, or a
    zero exit code."""
    assert out.returncode != 0, (out.returncode, out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in out.stderr, out.stderr
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("engram: error: "), lines[0]
    return lines[0]


def logged_detail(line: str) -> str:
    """The last failure entry of the log file the line points to: it must hold the
    traceback."""
    match = re.search(r"\(details in (.+?)\)$", line)
    assert match, f"the line names no log file: {line}"
    text = Path(match.group(1)).read_text(encoding="utf-8")
    entry = text.rsplit(" ERROR engram.cli: ", 1)[-1]
    assert "Traceback (most recent call last)" in entry, entry[-2000:]
    return entry
