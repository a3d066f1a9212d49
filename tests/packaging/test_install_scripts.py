"""install.sh and uninstall.sh against a temporary HOME, with a stand-in for the built folder
(a real build takes minutes; the scripts only copy files and rewrite the menu entry)."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "app.engram.Engram"


def stand_in_bundle(where: Path) -> Path:
    """dist/engram as PyInstaller lays it out: the executable and _internal/assets."""
    bundle = where / "dist" / "engram"
    (bundle / "_internal").mkdir(parents=True)
    shutil.copytree(ROOT / "assets", bundle / "_internal" / "assets")
    exe = bundle / "engram"
    exe.write_text("#!/bin/sh\necho engram-stand-in\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    for script in ("install.sh", "uninstall.sh"):
        shutil.copy(ROOT / "packaging" / script, bundle / script)
    return bundle


def run(script: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"HOME": str(home), "PATH": os.environ["PATH"], **env}
    return subprocess.run(["bash", str(script), *args], check=False, capture_output=True, text=True,
                          env=environ, timeout=60)


def all_files(top: Path) -> set[Path]:
    return {p for p in top.rglob("*") if p.is_file()}


@pytest.fixture
def setup(tmp_path: Path):
    home = tmp_path / "home"
    (home / ".local" / "share" / "Engram").mkdir(parents=True)
    (home / ".local" / "share" / "Engram" / "engram.db").write_text("the user's data")
    return home, stand_in_bundle(tmp_path)


def test_install_puts_everything_in_xdg_places_and_uninstall_removes_exactly_that(setup) -> None:
    home, bundle = setup
    before = all_files(home)
    result = run(bundle / "install.sh", home)
    assert result.returncode == 0, result.stderr
    prefix = home / ".local" / "opt" / "engram"
    share = home / ".local" / "share"
    assert (prefix / "engram").exists() and os.access(prefix / "engram", os.X_OK)
    desktop = (share / "applications" / f"{APP_ID}.desktop").read_text()
    assert f'Exec="{prefix}/engram"' in desktop
    assert f"TryExec={prefix}/engram" in desktop
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").exists()
    for size in ("16x16", "48x48", "256x256", "512x512"):
        assert (share / "icons" / "hicolor" / size / "apps" / f"{APP_ID}.png").exists()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").exists()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate",
                                str(share / "applications" / f"{APP_ID}.desktop")],
                               check=False, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout

    again = run(prefix / "install.sh", home)          # upgrade in place from the installed copy
    assert again.returncode == 0, again.stderr

    result = run(prefix / "uninstall.sh", home)
    assert result.returncode == 0, result.stderr
    assert not prefix.exists()
    leftovers = {p for p in all_files(home) - before
                 if "icon-theme.cache" not in p.name and "mimeinfo.cache" not in p.name}
    assert leftovers == set()
    assert (share / "Engram" / "engram.db").read_text() == "the user's data"


def test_a_custom_prefix_and_xdg_data_home(setup, tmp_path: Path) -> None:
    home, bundle = setup
    prefix, data_home = tmp_path / "apps" / "engram", tmp_path / "xdg"
    env = {"PREFIX": str(prefix), "XDG_DATA_HOME": str(data_home)}
    assert run(ROOT / "packaging" / "install.sh", home, str(bundle), **env).returncode == 0
    assert (data_home / "applications" / f"{APP_ID}.desktop").exists()
    assert subprocess.run([str(prefix / "engram")], check=False, capture_output=True,
                          text=True).stdout.strip() == "engram-stand-in"
    result = run(ROOT / "packaging" / "uninstall.sh", home, **env)
    assert result.returncode == 0, result.stderr
    assert not prefix.exists()
    assert not (data_home / "applications" / f"{APP_ID}.desktop").exists()


def test_install_refuses_a_folder_that_is_not_an_engram_install(setup, tmp_path: Path) -> None:
    home, bundle = setup
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    result = run(bundle / "install.sh", home, PREFIX=str(precious))
    assert result.returncode != 0 and "not an Engram install" in result.stderr
    assert (precious / "keep.txt").read_text() == "keep"
    result = run(ROOT / "packaging" / "uninstall.sh", home, PREFIX=str(precious))
    assert result.returncode != 0 and (precious / "keep.txt").exists()
    assert run(bundle / "install.sh", home, PREFIX=str(home)).returncode != 0
