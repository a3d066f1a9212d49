"""The model manager: the current model and its header; the models on this computer (other
apps' too, used in place); the recommended downloads, what fits first, one click each; any
GGUF by URL. Reading headers, looking at the machine and downloading run on worker threads."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.base.progress import Progress
from ui.model_lists import (
    CatalogueList,
    FoundModelsList,
    download_error_text,
    download_work,
    load_model_lists,
)
from ui.ops import Op
from ui.services import Services
from ui.status_bar import human_bytes

STARTER_LABEL = "Starter model (Gemma 3 270M base)"


def read_model_info(path: str) -> dict[str, Any]:
    """Runs on a worker: the GGUF header as a dict plus KV bytes per token (f16)."""
    from core.runtime.gguf_quick import quick_gguf_info

    info = quick_gguf_info(path)
    out = info.to_dict()
    out["kv_bytes_per_token_f16"] = info.kv_bytes_per_token("f16", "f16")
    out["kv_elements_per_token"] = info.n_layers * info.n_head_kv * info.head_dim
    out["summary"] = info.describe()
    from core.runtime.model_kind import kind_of_gguf

    out["kind_auto"] = kind_of_gguf(info).describe()    # what "automatic" decides for it
    return out


_capabilities: dict[str, Any] | None = None     # what this build can offload (asked once)


def build_capabilities() -> dict[str, Any] | None:
    """{"gpus": [names]} once known (ask with `ModelManager.ask_capabilities`), else None."""
    return _capabilities


class _Reader(QObject):
    """Results of the reads below, delivered on the GUI thread (queued signals)."""
    header = Signal(str, object)       # path, info dict or the exception
    capabilities = Signal(object)


class ModelManager(QWidget):
    use_file = Signal(str)
    model_ready = Signal(str)        # a model to load now (found, or downloaded and verified)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.current_path = ""
        self.info: dict[str, Any] = {}
        # who follows the header and the build's abilities (the settings dialog's figures)
        self.on_info: list[Callable[[dict[str, Any]], object]] = []
        self.on_capabilities: list[Callable[[], object]] = []
        self._reading = ""
        self._reader = _Reader(self)
        self._reader.header.connect(self._header_read)
        self._reader.capabilities.connect(self._capabilities_read)
        self.download_op: Op | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)

        pick = QGroupBox("Model file")
        pl = QVBoxLayout(pick)
        row = QHBoxLayout()
        self.path_label = QLabel()
        self.path_label.setWordWrap(True)
        row.addWidget(self.path_label, 1)
        self.choose_button = QPushButton("Choose GGUF…")
        self.choose_button.clicked.connect(self.choose)
        self.starter_button = QPushButton("Use starter model")
        self.starter_button.clicked.connect(lambda: self.set_current(""))
        row.addWidget(self.starter_button)
        row.addWidget(self.choose_button)
        pl.addLayout(row)
        info = QFormLayout()
        self.info_labels: dict[str, QLabel] = {}
        summary = QLabel("—")
        summary.setWordWrap(True)
        summary.setObjectName("mutedLabel")
        self.info_labels["summary"] = summary
        pl.addWidget(summary)
        for key, title in (("architecture", "Architecture"),
                           ("quantization", "Quantization"), ("context_length", "Trained context"),
                           ("layers", "Layers / heads"), ("kv", "KV cache per token"),
                           ("template", "Chat template"), ("kind", "Kind (automatic)")):
            label = QLabel("—")
            label.setWordWrap(True)
            self.info_labels[key] = label
            info.addRow(f"{title}:", label)
        pl.addLayout(info)
        box.addWidget(pick)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("modelSources")
        here = QWidget()
        hl = QVBoxLayout(here)
        where = QLabel("GGUF files in the models folder, in folders you added, and those that "
                       "LM Studio, Ollama, GPT4All, Jan, the Hugging Face and llama.cpp caches "
                       "keep (used where they are, not copied).")
        where.setObjectName("mutedLabel")
        where.setWordWrap(True)
        hl.addWidget(where)
        self.found = FoundModelsList(button_text="Use this model")
        self.found.list.setMinimumHeight(80)
        self.found.chosen.connect(self._use_found)
        hl.addWidget(self.found)
        add_folder = QPushButton("Add a folder…")
        add_folder.clicked.connect(self.add_folder)
        self.found.buttons.insertWidget(1, add_folder)
        self.tabs.addTab(here, "On this computer")

        cat = QWidget()
        cl = QVBoxLayout(cat)
        self.catalogue = CatalogueList(services)
        self.catalogue.list.setMinimumHeight(120)
        self.catalogue.downloaded.connect(self._use_found)
        cl.addWidget(self.catalogue)
        self.tabs.addTab(cat, "Recommended downloads")

        dl = QWidget()
        dlay = QVBoxLayout(dl)
        drow = QHBoxLayout()
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://…/model.Q4_K_M.gguf")
        drow.addWidget(self.url, 1)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.download)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_download)
        self.cancel_button.hide()
        drow.addWidget(self.download_button)
        drow.addWidget(self.cancel_button)
        dlay.addLayout(drow)
        self.progress = QProgressBar()
        self.progress.hide()
        dlay.addWidget(self.progress)
        self.download_note = QLabel("Files go to the models folder; an interrupted download "
                                    "resumes where it stopped.")
        self.download_note.setObjectName("mutedLabel")
        self.download_note.setWordWrap(True)
        dlay.addWidget(self.download_note)
        dlay.addStretch(1)
        self.tabs.addTab(dl, "Download by URL")
        box.addWidget(self.tabs)

    # -- current file ----------------------------------------------------------------------
    def set_current(self, path: str) -> None:
        self.current_path = path or ""
        self.path_label.setText(path or STARTER_LABEL)
        self._list_local()
        target = path
        if not target:
            from core.runtime.starter_model import starter_model_status

            st = starter_model_status(self.services.layout.models_dir)
            target = str(st.path) if st.path else ""
        if not target:
            for label in self.info_labels.values():
                label.setText("—")
            self.info_labels["summary"].setText(
                "The starter model is prepared on first use." if not path else "—")
            return
        self.info_labels["summary"].setText("Reading the file header…")
        # Its own short thread: the shared background lane may be busy for a long time (an
        # import, the model lists probing the GPU), and a header takes a fraction of a second.
        self._reading = target

        def read() -> None:
            try:
                result: object = read_model_info(target)
            except Exception as exc:  # noqa: BLE001 - shown as one line
                result = exc
            self._reader.header.emit(target, result)

        threading.Thread(target=read, name="engram-gguf-header", daemon=True).start()
        self.ask_capabilities()

    def _header_read(self, path: str, result: object) -> None:
        if path != self._reading:
            return                       # another file was chosen meanwhile
        if isinstance(result, BaseException):
            self.info = {}
            self.info_labels["summary"].setText(f"Not usable: {result}")
            return
        self._show_info(result)

    def kv_text(self, info: dict[str, Any], type_k: str | None = None,
                type_v: str | None = None) -> str:
        """The cache per token for the K/V types in use (the saved ones unless given)."""
        from core.runtime.kv_config import bytes_per_element

        ms = self.services.settings.model
        k, v = type_k or ms.type_k, type_v or ms.type_v
        try:
            per = info["kv_elements_per_token"] * (bytes_per_element(k) + bytes_per_element(v))
        except Exception:  # noqa: BLE001 - an unknown type name: the f16 figure
            k = v = "f16"
            per = info["kv_bytes_per_token_f16"]
        return f"{human_bytes(per)} per token at {k}/{v} · {human_bytes(per * 4096)} for 4,096"

    def ask_capabilities(self) -> None:
        """Which GPUs this build of llama.cpp can use (a short-lived child process, once)."""
        if _capabilities is not None or getattr(ModelManager, "_asking", False):
            return
        ModelManager._asking = True

        def probe() -> None:
            global _capabilities
            try:
                from core.runtime.machine import probe_gpus

                gpus = [g.name for g in probe_gpus()]
            except Exception:  # noqa: BLE001 - no probe: say CPU only
                gpus = []
            _capabilities = {"gpus": gpus}
            ModelManager._asking = False
            self._reader.capabilities.emit(_capabilities)

        threading.Thread(target=probe, name="engram-gpu-probe", daemon=True).start()

    def _capabilities_read(self, _caps: object) -> None:
        waiting, self.on_capabilities = self.on_capabilities, []
        for follow in waiting:
            follow()

    def _show_info(self, info: dict[str, Any]) -> None:
        self.info = info
        lab = self.info_labels
        lab["summary"].setText(info["summary"])
        lab["architecture"].setText(info["architecture"])
        lab["quantization"].setText(info["quantization"])
        lab["context_length"].setText(f"{info['context_length']:,} tokens"
                                      + (f" (sliding window {info['sliding_window']})"
                                         if info.get("sliding_window") else ""))
        lab["layers"].setText(f"{info['n_layers']} layers · {info['n_head']} heads "
                              f"({info['n_head_kv']} KV) · head size {info['head_dim']}")
        lab["kv"].setText(self.kv_text(info))
        lab["template"].setText("included" if info.get("chat_template") else
                                "none (Engram uses the architecture's usual format)")
        lab["kind"].setText(info.get("kind_auto", "—"))
        for follow in self.on_info:
            follow(info)

    def _list_local(self) -> None:
        """Refresh both lists on a worker (headers, machine, catalogue)."""
        layout, ms = self.services.layout, self.services.settings.model
        self.services.runner.background(lambda ctx: load_model_lists(layout, ms),
                                        success=self._show_lists,
                                        failure=lambda e: self.found.detail.setText(
                                            f"Could not list the models: {e}"))

    def _show_lists(self, data: dict) -> None:
        self.found.show_entries(data["entries"], skip_starter=True)   # it has its own button
        self.catalogue.show_fits(data["fits"], data["machine"], data["partial"])

    def _use_found(self, path: str) -> None:
        self.set_current(path)
        self.model_ready.emit(path)

    def add_folder(self) -> None:
        from core.runtime.model_manager import ModelManager as Core

        folder = QFileDialog.getExistingDirectory(self, "A folder with GGUF models")
        if folder:
            core = Core(self.services.layout.models_dir, self.services.layout.config_dir)
            self.services.runner.background(lambda ctx: core.add_folder(folder),
                                            success=lambda _f: self._list_local(),
                                            failure=lambda e: self.found.detail.setText(str(e)))

    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model",
                                              str(self.services.layout.models_dir),
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self.set_current(path)

    # -- download --------------------------------------------------------------------------
    def download(self) -> None:
        url = self.url.text().strip()
        if not url:
            return
        from core.runtime.model_manager import download_file

        dest = self.services.layout.models_dir
        work = download_work(lambda progress, stop: download_file(
            url, dest, progress=progress, should_stop=stop))
        op = Op(work, lane="background", success=self._downloaded, failure=self._download_failed,
                label="Downloading the model")
        op.progressed.connect(self._download_progress)
        self.download_op = op
        self.progress.setRange(0, 0)
        self.progress.show()
        self.download_button.hide()
        self.cancel_button.show()
        self.download_note.setText("Starting…")
        self.services.runner.submit(op)

    def _download_progress(self, p: Progress) -> None:
        done, total = p.done, p.total
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.download_note.setText(f"{human_bytes(done)} of {human_bytes(total)}")
        else:
            self.download_note.setText(f"{human_bytes(done)}")

    def cancel_download(self) -> None:
        if self.download_op is not None:
            self.download_op.cancel()

    def _download_end(self) -> None:
        self.download_op = None
        self.progress.hide()
        self.cancel_button.hide()
        self.download_button.show()

    def _downloaded(self, result: Any) -> None:
        cancelled = self.download_op is not None and self.download_op.is_cancelled
        self._download_end()
        path = getattr(result, "path", result)
        if cancelled or not path:
            self.download_note.setText("Paused. Press Download again to resume.")
            return
        self.download_note.setText(f"Downloaded {Path(str(path)).name}.")
        self.set_current(str(path))

    def _download_failed(self, error: BaseException) -> None:
        self._download_end()
        self.download_note.setText(download_error_text(error))
