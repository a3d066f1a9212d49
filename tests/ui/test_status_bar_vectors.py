"""The status bar while memories wait for their vectors: how many, about how long, and that
word search already finds them; gone when the embedding ends."""
from __future__ import annotations

from pathlib import Path

from tests.ui.sample_export import write_chatgpt_export
from ui import status_bar
from ui.status_bar import MEANWHILE, vector_task_text


def test_vector_task_text() -> None:
    assert vector_task_text("Embedding imported memories", 100, 1000, None) == \
        f"Embedding imported memories… 900 waiting · {MEANWHILE}"
    assert vector_task_text("Indexing memories", 0, 12_000, 50.0) == \
        f"Indexing memories… 12,000 waiting · about 4 min left · {MEANWHILE}"
    assert "under a minute" in vector_task_text("Indexing memories", 900, 1000, 10.0)
    assert "1.7 h left" in vector_task_text("Indexing memories", 0, 60_000, 10.0)


def test_the_bar_estimates_from_the_rate_it_sees(qtbot, window, monkeypatch) -> None:
    clock = [1000.0]                 # the bar's clock, moved by hand: seconds between reports
    monkeypatch.setattr(status_bar.time, "monotonic", lambda: clock[0])
    bar = window.status
    bar.task_progress("Embedding imported memories", 0, 1)
    assert bar.task_label.text() == "Embedding imported memories…"
    bar.task_progress("Embedding imported memories", 0, 6000)
    assert "6,000 waiting" in bar.task_label.text() and "left" not in bar.task_label.text()
    clock[0] += 20
    bar.task_progress("Embedding imported memories", 1000, 6000)     # 50 memories/s
    assert bar.task_label.text() == \
        f"Embedding imported memories… 5,000 waiting · about 2 min left · {MEANWHILE}"
    assert bar.task_bar.maximum() == 6000 and bar.task_bar.value() == 1000
    bar.task_progress("Embedding imported memories", 0, 0)
    assert bar.task_label.isHidden() and bar.task_bar.isHidden()
    bar.task_progress("Loading model", 0, 1)                         # other tasks as before
    assert bar.task_label.text() == "Loading model…"


def test_a_real_import_shows_what_waits(qtbot, window, tmp_path: Path) -> None:
    shown: list[str] = []
    label = window.status.task_label
    real_set = label.setText
    label.setText = lambda text: (shown.append(text), real_set(text))[1]
    export = write_chatgpt_export(tmp_path / "export", n=30)
    window.open_import()
    wizard = window._dialogs["import"]
    wizard.set_path(str(export))
    qtbot.waitUntil(lambda: wizard.import_button.isEnabled(), timeout=10000)
    with qtbot.waitSignal(wizard.embedding_done, timeout=120000) as embedded:
        wizard.import_button.click()
    assert embedded.args[0] > 0
    waiting = [t for t in shown if t.startswith("Embedding imported memories") and "waiting" in t]
    assert waiting and all(MEANWHILE in t for t in waiting)
    qtbot.waitUntil(lambda: label.isHidden(), timeout=5000)
    wizard.close()


def test_a_long_line_is_cut_with_an_ellipsis_not_widening_the_window(qtbot, window) -> None:
    from PySide6.QtWidgets import QApplication

    from ui.fitting import ElidedLabel

    window.resize(900, 600)
    QApplication.processEvents()
    width = window.width()
    bar = window.status
    long = "Background: Summarising an imported conversation (12/40 messages)… · 9 waiting " * 4
    bar.memory_label.setText(long)
    bar.memory_label.show()
    bar.task_progress("Embedding imported memories", 10, 60_000)
    QApplication.processEvents()
    assert window.width() == width                  # the window did not grow
    assert bar.memory_label.width() < bar.memory_label.fontMetrics().horizontalAdvance(long)
    assert bar.memory_label.toolTip().startswith(long)          # all of it, in the tooltip
    assert status_bar.PAUSE_TIP in bar.memory_label.toolTip()
    assert bar.memory_label.minimumSizeHint().width() <= ElidedLabel.MIN_WIDTH
