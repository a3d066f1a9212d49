"""Two lists shared by the welcome page and the model manager: the models on this computer
(including those other apps keep, used in place) and the catalogue of recommended downloads,
what fits this machine first, with one-click download, pause/resume, cancel and verification.

Reading headers, looking at the machine (the GPU probe starts a child process) and downloading
all run on worker threads; nothing is contacted until the user presses Download.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.base.progress import OnProgress, ShouldStop
from ui.ops import Op, OpContext
from ui.services import Services

ROLE = Qt.ItemDataRole.UserRole
_ACTIVE: dict[str, Op] = {}          # catalogue downloads under way, by entry name (one each)
_MARK = {"fits": "✓ fits", "tight": "⚠ tight", "too big": "✗ too big"}


def mb(n: float) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def download_work(fetch: Callable[[OnProgress, ShouldStop], Path]
                  ) -> Callable[[OpContext], Path | None]:
    """An op's work function for `fetch(progress, should_stop)` (a resumable download):
    progress goes to the GUI, the op's cancel stops it and returns None (the partial file
    stays: "pause")."""
    def work(ctx: OpContext) -> Path | None:
        try:
            return fetch(ctx.progress, ctx.cancelled)
        except Exception:
            if ctx.cancelled():
                return None          # paused or cancelled: the GUI decides what stays
            raise
    return work


def load_model_lists(layout, model_settings) -> dict[str, Any]:
    """Runs on a worker: local and found models (headers read), the machine, the catalogue."""
    from core.runtime.catalogue import assess_all, load_catalogue
    from core.runtime.downloads import partial_path
    from core.runtime.machine import machine_memory
    from core.runtime.model_manager import ModelManager

    entries = ModelManager(layout.models_dir, layout.config_dir).list_models()
    machine = machine_memory()
    fits = assess_all(load_catalogue(), machine, n_ctx=model_settings.n_ctx,
                      type_k=model_settings.type_k, type_v=model_settings.type_v)
    partial = {}
    for f in fits:
        p = partial_path(layout.models_dir, f.entry.file_name)
        partial[f.entry.name] = p.stat().st_size if p.exists() else 0
    return {"entries": entries, "machine": machine, "fits": fits, "partial": partial}


def _kind(info) -> str:
    """"instruct" or "base" (a base model continues text rather than following requests)."""
    from core.runtime.model_kind import kind_of_gguf

    return kind_of_gguf(info).kind


class FoundModelsList(QWidget):
    """Models on this computer: the models folder, added files and folders, other apps."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, button_text: str = "Use") -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("foundModels")
        self.list.itemDoubleClicked.connect(lambda _item: self._use())
        self.list.currentItemChanged.connect(lambda *_: self._selection_changed())
        box.addWidget(self.list)
        row = self.buttons = QHBoxLayout()
        self.detail = QLabel("")
        self.detail.setObjectName("mutedLabel")
        self.detail.setWordWrap(True)
        row.addWidget(self.detail, 1)
        self.use_button = QPushButton(button_text)
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use)
        row.addWidget(self.use_button)
        box.addLayout(row)

    def show_entries(self, entries: list, *, skip_starter: bool = False) -> int:
        self.list.clear()
        for e in entries:
            if skip_starter and e.source == "starter":
                continue
            size = mb(e.info.size_bytes) if e.info else ""
            kind = (f"{e.info.architecture}, {e.info.quantization}, {_kind(e.info)}" if e.info
                    else e.error)
            where = e.source if e.found_elsewhere else {"folder": "models folder",
                                                        "added": "added",
                                                        "starter": "starter"}[e.source]
            parts = f"{e.parts} parts" if e.parts > 1 else ""
            line = " · ".join(x for x in (where, size, parts, kind) if x)
            item = QListWidgetItem(f"{e.display_name}\n    {line}")
            item.setData(ROLE, str(e.path))
            item.setToolTip(str(e.path) + (" (used in place, not copied)"
                                           if e.found_elsewhere else ""))
            if not e.usable:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                item.setForeground(QColor("#9aa1ad"))
            self.list.addItem(item)
        self.detail.setText("" if self.list.count() else "No GGUF models found on this "
                            "computer yet.")
        return self.list.count()

    def _selection_changed(self) -> None:
        item = self.list.currentItem()
        self.use_button.setEnabled(item is not None and bool(item.flags()
                                                            & Qt.ItemFlag.ItemIsSelectable))
        if item is not None:
            self.detail.setText(item.toolTip())

    def _use(self) -> None:
        item = self.list.currentItem()
        if item is not None and item.flags() & Qt.ItemFlag.ItemIsSelectable:
            self.chosen.emit(item.data(ROLE))


class CatalogueList(QWidget):
    """Recommended downloads, what fits first; Download / Pause / Resume / Cancel."""

    downloaded = Signal(str)          # a verified file in the models folder, ready to load

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.fits: list = []
        self.machine = None
        self.partial: dict[str, int] = {}
        self.op: Op | None = None
        self._discard = False
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.machine_label = QLabel("Looking at this computer…")
        self.machine_label.setObjectName("mutedLabel")
        self.machine_label.setWordWrap(True)
        box.addWidget(self.machine_label)
        self.list = QListWidget()
        self.list.setObjectName("catalogueList")
        self.list.currentItemChanged.connect(lambda *_: self._selection_changed())
        box.addWidget(self.list)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setOpenExternalLinks(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.detail)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        row.addWidget(self.progress, 1)
        self.status = QLabel("")
        self.status.setObjectName("mutedLabel")
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("primaryButton")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self._primary)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for b in (self.pause_button, self.cancel_button):
            b.hide()
            row.addWidget(b)
        row.addWidget(self.download_button)
        box.addLayout(row)

    # -- showing -----------------------------------------------------------------------------
    def show_fits(self, fits: list, machine, partial: dict[str, int]) -> None:
        self.fits, self.machine, self.partial = fits, machine, dict(partial)
        gpu = (f"GPU {machine.gpus[0].name}, {mb(machine.free_vram)} free" if machine.gpus
               else "no GPU in use by this build")
        free = f", {mb(machine.available_ram)} free" if machine.available_ram else ""
        self.machine_label.setText(f"This computer: {mb(machine.total_ram)} of RAM{free}; "
                                   f"{gpu}. Models that fit are listed first.")
        current = self.current_entry()
        self.list.clear()
        models = self.services.layout.models_dir
        for f in fits:
            e = f.entry
            have = (models / e.file_name).exists()
            mark = "✓ downloaded" if have else _MARK[f.status]
            item = QListWidgetItem(f"{e.display_name} · {e.quantization} · {e.size} · "
                                   f"{e.licence}\n    {mark}: {f.reason}")
            item.setData(ROLE, e.name)
            if f.status == "too big" and not have:
                item.setForeground(QColor("#9aa1ad"))
            self.list.addItem(item)
            if current is not None and current.name == e.name:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)

    def current_fit(self):
        item = self.list.currentItem()
        name = item.data(ROLE) if item is not None else None
        return next((f for f in self.fits if f.entry.name == name), None)

    def current_entry(self):
        f = self.current_fit()
        return f.entry if f is not None else None

    def _selection_changed(self) -> None:
        f = self.current_fit()
        if f is None:
            self.detail.setText("")
            self.download_button.setEnabled(False)
            return
        e = f.entry
        check = ("Checked against its sha256 after download" if e.sha256 else
                 "No checksum was found for it: checked by its size and GGUF header")
        source = next(iter(e.sources.values()), "")
        link = source.split(" ")[0] if source.startswith("http") else ""
        src = f' · <a href="{html.escape(link)}">source</a>' if link else ""
        self.detail.setText(
            f'<span style="color:#39414f">{html.escape(e.family)} {html.escape(e.parameters)}'
            f', instruction-tuned, trained context {e.trained_context:,} tokens. Licence: '
            f'<a href="{html.escape(e.licence_url)}">{html.escape(e.licence)}</a>{src}. '
            f'{html.escape(check)}.'
            + (f" {html.escape(e.notes)}" if e.notes else "") + "</span>")
        self._update_buttons()

    def _update_buttons(self) -> None:
        f = self.current_fit()
        busy = self.op is not None
        self.pause_button.setVisible(busy)
        self.cancel_button.setVisible(busy or bool(f and self.partial.get(f.entry.name)))
        self.progress.setVisible(busy)
        if f is None:
            self.download_button.setEnabled(False)
            return
        e = f.entry
        have = (self.services.layout.models_dir / e.file_name).exists()
        part = self.partial.get(e.name, 0)
        if have:
            self.download_button.setText("Use this model")
        elif part:
            self.download_button.setText(f"Resume ({mb(part)} of {e.size})")
        else:
            self.download_button.setText(f"Download ({e.size})")
        self.download_button.setVisible(not busy)
        self.download_button.setEnabled(have or f.status != "too big")
        self.download_button.setToolTip("" if have or f.status != "too big" else f.reason)

    # -- downloading ---------------------------------------------------------------------------
    def _primary(self) -> None:
        e = self.current_entry()
        if e is None:
            return
        path = self.services.layout.models_dir / e.file_name
        if path.exists():
            self.downloaded.emit(str(path))
            return
        self.start_download(e)

    def start_download(self, entry) -> Op | None:
        from core.runtime.downloads import download_entry

        if entry.name in _ACTIVE:
            self.status.setText("This model is already downloading in another window.")
            return None
        dest = self.services.layout.models_dir
        work = download_work(lambda progress, stop: download_entry(
            entry, dest, progress=progress, should_stop=stop))
        op = Op(work, lane="background", label=f"Downloading {entry.display_name}",
                success=lambda path: self._finished(entry, path),
                failure=lambda error: self._failed(entry, error))
        op.progressed.connect(lambda p: self._progress(entry, p.done, p.total))
        self.op, self._discard = op, False
        _ACTIVE[entry.name] = op
        self.progress.setValue(0)
        self.status.setText("Connecting…")
        self._update_buttons()
        return self.services.runner.submit(op)

    def _progress(self, entry, done: int, total: int) -> None:
        if total > 0:
            self.progress.setValue(int(1000 * done / total))
            self.status.setText(f"{mb(done)} of {mb(total)}")
        self.partial[entry.name] = done

    def pause(self) -> None:
        if self.op is not None:
            self.status.setText("Pausing…")
            self.op.cancel()

    def cancel(self) -> None:
        """Stop and delete what was downloaded so far."""
        from core.runtime.downloads import cancel_download

        e = self.current_entry()
        if self.op is not None:
            self._discard = True
            self.op.cancel()
        elif e is not None:
            cancel_download(self.services.layout.models_dir, e.file_name)
            self.partial[e.name] = 0
            self.status.setText("Cancelled; the partial file was deleted.")
            self._update_buttons()

    def _end(self, entry) -> None:
        _ACTIVE.pop(entry.name, None)
        self.op = None

    def _finished(self, entry, path: Path | None) -> None:
        from core.runtime.downloads import cancel_download, partial_path

        self._end(entry)
        if path is None:
            if self._discard:
                cancel_download(self.services.layout.models_dir, entry.file_name)
                self.partial[entry.name] = 0
                self.status.setText("Cancelled; the partial file was deleted.")
            else:
                p = partial_path(self.services.layout.models_dir, entry.file_name)
                self.partial[entry.name] = p.stat().st_size if p.exists() else 0
                self.status.setText("Paused. Resume continues where it stopped.")
            self._update_buttons()
            return
        self.partial[entry.name] = 0
        self.status.setText(f"Downloaded and verified: {Path(path).name}. Loading it…")
        self.show_fits(self.fits, self.machine, self.partial)
        self._update_buttons()
        self.downloaded.emit(str(path))

    def _failed(self, entry, error: BaseException) -> None:
        from core.runtime.downloads import partial_path

        self._end(entry)
        p = partial_path(self.services.layout.models_dir, entry.file_name)
        self.partial[entry.name] = p.stat().st_size if p.exists() else 0
        self.progress.hide()
        self.status.setText(download_error_text(error))
        self._update_buttons()


# What a failed connection says, in words a person can act on (the OS's text after them).
_NO_NAME = "the server's name could not be found: no internet connection, or a wrong address"
_NETWORK_WORDS = (
    ("Name or service not known", _NO_NAME),
    ("Temporary failure in name resolution", _NO_NAME),
    ("Connection refused", "the server refused the connection"),
    ("timed out", "the server did not answer in time"),
    ("Network is unreachable", "there is no network connection"),
    ("CERTIFICATE_VERIFY_FAILED", "the server's certificate could not be verified"),
)


def download_error_text(error: BaseException | str) -> str:
    """One clear line for a failed download: "Download failed: <why>. Press Download to
    resume." (never "Download failed: Download failed: [Errno -2] ...")."""
    text = str(error).strip()
    while text.lower().startswith("download failed:"):
        text = text[len("download failed:"):].strip()
    for needle, words in _NETWORK_WORDS:
        if needle.lower() in text.lower():
            text = words
            break
    return f"Download failed: {text.rstrip('.')}. Press Download to resume."
