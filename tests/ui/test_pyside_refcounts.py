"""PySide6 6.12.0 drops a reference to True on every Signal.emit() and to None on every static
call returning nothing; on Python 3.11 a lean GUI process (no torch) aborts after a few
thousand. `ui.services.pin_singletons` makes them immortal, as Python 3.12 does."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import ui.services
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
app = QCoreApplication([])
class Emitter(QObject):
    ping = Signal(str)
e = Emitter()
seen = []
e.ping.connect(seen.append)
for i in range(20000):
    e.ping.emit("x")
    app.processEvents()
for i in range(2000):
    QTimer.singleShot(0, lambda: None)
app.processEvents()
assert "torch" not in sys.modules and len(seen) == 20000
print("OK", flush=True)
"""


def test_a_lean_qt_process_survives_many_emits_and_static_calls(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "OK"


def test_services_module_pins_true_false_and_none() -> None:
    import ui.services  # noqa: F401 - pins on import

    if sys.version_info < (3, 12):
        assert min(sys.getrefcount(o) for o in (True, False, None)) > 1 << 40
