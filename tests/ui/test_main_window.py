from __future__ import annotations

from pathlib import Path

from app.paths import resolve_layout


def test_main_window_opens_and_names_the_starter_model(qtbot, home: Path) -> None:
    from ui.main_window import MainWindow

    window = MainWindow(resolve_layout())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Engram"
    assert "Gemma 3 270M" in window.model_label.text()
