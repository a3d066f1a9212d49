"""core/ must be usable with no Qt at all (the CLI, scripts, CI without a display)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_core_module_imports_with_qt_blocked() -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        "for name in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6'):\n"
        "    sys.modules[name] = None\n"
        "import core\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'core.')]\n"
        "for n in names:\n"
        "    importlib.import_module(n)\n"
        "assert not any(k.startswith('PySide6.') for k in sys.modules), 'Qt leaked in'\n"
        "print(len(names))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 10


def test_no_qt_import_statement_in_core_sources() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py")
        if any(line.lstrip().startswith(("import PySide6", "from PySide6"))
               for line in p.read_text("utf-8").splitlines())
    ]
    assert offenders == []
