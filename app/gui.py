"""Desktop entry point (`engram-gui`, `engram gui`, ./run.sh)."""
from __future__ import annotations

import sys
import time

_T0 = time.perf_counter()


def main(argv: list[str] | None = None, home: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from app.logging_setup import setup_logging
    from app.paths import resolve_layout

    layout = resolve_layout(home).ensure()
    setup_logging(layout.logs_dir)
    app = QApplication.instance() or QApplication(list(argv or sys.argv))
    app.setApplicationName("Engram")
    app.setOrganizationName("Engram")

    from ui.main_window import MainWindow

    window = MainWindow(layout)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
