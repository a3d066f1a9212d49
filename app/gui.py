"""Desktop entry point (`engram-gui`, `engram gui`, ./run.sh).

Only Qt and the SQLite side of core load in this process. torch, sentence-transformers and
chromadb live in the index worker process (core.index.worker), llama.cpp in the model's worker
process; both start in the background after the window shows.
"""
from __future__ import annotations

import sys
import time

_T0 = time.perf_counter()


def build_window(home: str | None = None, argv: list[str] | None = None, *,
                 autoload_model: bool = True):
    """Create the QApplication (if needed) and the main window, not yet shown."""
    from PySide6.QtWidgets import QApplication

    from app.logging_setup import setup_logging
    from app.paths import resolve_layout
    from core.base.private_files import use_private_umask

    use_private_umask()      # everything the app writes is owner-only
    layout = resolve_layout(home).ensure()
    setup_logging(layout.logs_dir)
    app = QApplication.instance() or QApplication(list(argv or sys.argv))
    app.setApplicationName("Engram")
    app.setOrganizationName("Engram")
    from ui.theme import apply_theme

    apply_theme(app)
    from ui.main_window import MainWindow

    return app, MainWindow(layout, autoload_model=autoload_model)


def main(argv: list[str] | None = None, home: str | None = None) -> int:
    from app.single_instance import claim_for_launch, raise_window

    instance = claim_for_launch(home, argv)   # one Engram per data folder
    if instance is None:
        return 0   # the running Engram raised its window
    app, window = build_window(home, argv)
    instance.activated.connect(lambda _argv: raise_window(window))
    window.show()
    try:
        return app.exec()
    finally:
        window.shutdown()


if __name__ == "__main__":
    sys.exit(main())
