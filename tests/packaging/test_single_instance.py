"""Single instance, with real processes: a second launch on the same data folder hands over to
the first (which raises its window); a killed owner's lock and socket never block a new start;
a hung owner gives a clear error instead of a second app on the same database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget

from app.single_instance import InstanceBusyError, claim, raise_window, server_name

ROOT = Path(__file__).resolve().parents[2]


def launch(mode: str, data_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.packaging.instance_child", mode, str(data_dir), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def first_line(proc: subprocess.Popen) -> str:
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(f"child said nothing: {proc.communicate()[1][-2000:]}")
    return line


@pytest.fixture
def owned(qapp, tmp_path: Path):
    inst = claim(tmp_path / "data")
    assert inst is not None
    yield inst
    inst.release()


def test_second_launch_hands_over_and_raises_the_window(qtbot, owned, tmp_path: Path) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.setWindowTitle("Engram")
    window.showMinimized()
    owned.activated.connect(lambda _argv: raise_window(window))
    with qtbot.waitSignal(owned.activated, timeout=30_000) as blocker:
        second = launch("claim", tmp_path / "data", "--from", "menu")
    # The event loop ran while waiting, so the child got its "ok" and is exiting.
    out, err = second.communicate(timeout=30)
    assert second.returncode == 0, err
    assert out.strip() == "handed-over"
    assert blocker.args == [["--from", "menu"]]
    assert not window.windowState() & window.windowState().WindowMinimized
    assert window.isVisible()
    with qtbot.waitSignal(owned.activated, timeout=30_000) as blocker:   # and again
        third = launch("claim", tmp_path / "data")
    assert third.communicate(timeout=30)[0].strip() == "handed-over"
    assert blocker.args == [[]]


def test_another_data_folder_gets_its_own_instance(qtbot, owned, tmp_path: Path) -> None:
    other = launch("claim", tmp_path / "other")
    try:
        assert first_line(other) == "primary"
    finally:
        other.kill()
        other.wait()
    assert server_name(tmp_path / "data") != server_name(tmp_path / "other")


def test_a_killed_owner_never_blocks_the_next_start(qapp, qtbot, tmp_path: Path) -> None:
    data = tmp_path / "data"
    owner = launch("claim", data)
    assert first_line(owner) == "primary"
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    assert (data / ".engram-instance.lock").exists()      # left behind by the killed process
    inst = claim(data, timeout_ms=2000)
    assert inst is not None                                # stale lock and socket taken over
    try:
        with qtbot.waitSignal(inst.activated, timeout=30_000):
            second = launch("claim", data)
        assert second.communicate(timeout=30)[0].strip() == "handed-over"
    finally:
        inst.release()


def test_a_hung_owner_is_reported_not_joined(qapp, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    hung = launch("lock", data)
    try:
        assert first_line(hung) == "locked"
        with pytest.raises(InstanceBusyError, match="already running"):
            claim(data, timeout_ms=300)
    finally:
        hung.kill()
        hung.wait()


def test_the_socket_name_depends_on_the_folder_not_its_spelling(tmp_path: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    assert server_name("d") == server_name(tmp_path / "d") == server_name(f"{tmp_path}/d/")
    assert server_name(tmp_path / "d") != server_name(tmp_path / "e")
