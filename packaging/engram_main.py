"""Entry point of the frozen app (PyInstaller builds the `engram` executable from this file).

No arguments (a double-click, the menu entry): the desktop app. A subcommand (`engram info`,
`engram doctor`, ...): the command line, so the bundle is also the CLI. `--selftest`: check
that the bundle's heavy parts work (packaging/engram_selftest.py).

`multiprocessing.freeze_support()` comes first: the model runs llama.cpp in a spawned child
process, and in a frozen app that child is this same executable started with multiprocessing's
arguments; freeze_support runs the child's work and exits before any app code below runs.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

APP_ID = "app.engram.Engram"   # the .desktop file, icon and AppStream id


def bundle_root() -> Path:
    """Where bundled files live: PyInstaller's folder when frozen, the repository otherwise."""
    return Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[1]))


def prepare_desktop_app(argv: list[str]) -> None:
    """Create the QApplication early with the icon and desktop id, so that the window, the
    task bar and Wayland compositors match it with the installed menu entry."""
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv)
    QGuiApplication.setDesktopFileName(APP_ID)
    icon = QIcon()
    hicolor = bundle_root() / "assets" / "icons" / "hicolor"
    for png in sorted(hicolor.glob("*/apps/*.png")):
        icon.addFile(str(png))
    if not icon.isNull():
        app.setWindowIcon(icon)


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")         # never reach a model hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = sys.argv[1:]
    if args == ["--selftest"]:
        from engram_selftest import main as selftest

        return selftest()
    if args and not args[0].startswith("-psn_"):          # macOS Finder adds -psn_...
        from app.cli import main as cli_main

        return cli_main(args)
    prepare_desktop_app(sys.argv[:1])
    from app.gui import main as gui_main

    return gui_main(sys.argv[:1])


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
