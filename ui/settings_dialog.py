"""Settings: the model (with the model manager), memory mechanisms, storage and remote backends.

Changes are saved with `Engram.save_settings` and applied at once where possible: model
parameters reload the model in the background; memory thresholds are read by core on each
turn. The data folder and the Chroma location take effect on the next start (said on screen).
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ui.model_manager import ModelManager, build_capabilities
from ui.services import Services
from ui.settings_text import add_row

KV_TYPES = ["f16", "q8_0", "q4_0"]
MODEL_RELOAD_FIELDS = ("path", "n_ctx", "n_gpu_layers", "n_threads", "type_k", "type_v",
                       "overflow_policy", "sink_tokens", "sirllm_decay", "remote_url",
                       "remote_model", "remote_api_key", "memory_limit_mb", "kind")


class _PageScroll(QScrollArea):
    """A settings page: taller than the dialog it scrolls down, never sideways; the dialog
    cannot become narrower than the page's widest control, so nothing is cut at the edge."""

    def __init__(self, page: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(page)

    def minimumSizeHint(self) -> QSize:
        page = self.widget().minimumSizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(page.width() + bar, min(page.height(), 200))


def _narrow_combo(combo: QComboBox, chars: int = 22) -> QComboBox:
    """A combo whose long choices do not widen the page (the open list shows them whole, the
    tooltip names the current one)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    explain = combo.toolTip()

    def name_choice(_index: int = 0) -> None:
        combo.setToolTip(f"{combo.currentText()}\n\n{explain}" if explain
                         else combo.currentText())

    combo.currentIndexChanged.connect(name_choice)
    name_choice()
    return combo


class SettingsDialog(QDialog):
    model_file_chosen = Signal(str)
    applied = Signal(list)      # names of the changed settings

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setWindowTitle("Settings")
        outer = QVBoxLayout(self)
        body = QHBoxLayout()
        self.pages = QListWidget()
        self.pages.setObjectName("settingsPages")
        self.pages.setFixedWidth(170)
        self.stack = QStackedWidget()
        self._page_names: list[str] = []
        self.model_manager = ModelManager(services)
        self.model_manager.use_file.connect(self._use_model_file)
        self.model_manager.model_ready.connect(self.model_file_chosen.emit)   # load it now
        self._add_page("model", "Model", self._model_page())
        self._add_page("memory", "Memory", self._memory_page())
        self._add_page("storage", "Storage", self._storage_page())
        self._add_page("remote", "Remote model", self._remote_page())
        self.pages.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.pages.setCurrentRow(0)
        body.addWidget(self.pages)
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.note = QLabel("")
        self.note.setObjectName("mutedLabel")
        self.note.setWordWrap(True)
        outer.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply
                                   | QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        buttons.rejected.connect(self.close)
        outer.addWidget(buttons)
        self.load()
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        """Open at a comfortable size that fits the screen (its wrapped texts then wrap at
        the page's width: no horizontal scrolling)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        width, height = 900, 680
        if room is not None:
            width, height = min(width, room.width() - 40), min(height, room.height() - 60)
        hint = self.minimumSizeHint()
        self.resize(max(width, hint.width()), max(height, hint.height()))

    def _add_page(self, key: str, title: str, widget: QWidget) -> None:
        self._page_names.append(key)
        self.pages.addItem(title)
        self.stack.addWidget(_PageScroll(widget))

    def show_page(self, key: str) -> None:
        if key in self._page_names:
            self.pages.setCurrentRow(self._page_names.index(key))

    # -- pages ---------------------------------------------------------------------------------
    def _model_page(self) -> QWidget:
        w = QWidget()
        box = QVBoxLayout(w)
        box.addWidget(self.model_manager, 1)
        group = QGroupBox("Runtime")
        form = QFormLayout(group)
        self.n_ctx = QSpinBox()
        self.n_ctx.setRange(256, 262144)
        self.n_ctx.setSingleStep(1024)
        self.n_ctx.setSuffix(" tokens")
        self.gpu = QComboBox()
        self.gpu.setEditable(True)
        self.gpu.addItems(["auto", "all", "none"])
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.type_k = QComboBox()
        self.type_k.addItems(KV_TYPES)
        self.type_v = QComboBox()
        self.type_v.addItems(KV_TYPES)
        kv = QHBoxLayout()
        kv.addWidget(QLabel("K"))
        kv.addWidget(self.type_k)
        kv.addWidget(QLabel("V"))
        kv.addWidget(self.type_v)
        kv.addStretch(1)
        self.overflow = QComboBox()
        self.overflow.addItem("Keep the start and the most recent part", "streaming")
        self.overflow.addItem("Keep the words that carry the most meaning", "sirllm")
        self.kind = QComboBox()
        self.kind.addItem("Automatic (from the file: its name and chat template)", "auto")
        self.kind.addItem("Base model: talk to it through example dialogues", "base")
        self.kind.addItem("Instruction-tuned: give it instructions in its chat format",
                          "instruct")
        add_row(form, "kind", self.kind)
        self.ctx_note = add_row(form, "n_ctx", self.n_ctx)
        self.gpu_note = add_row(form, "gpu", self.gpu)
        add_row(form, "threads", self.threads)
        self.kv_size = QLabel("")
        self.kv_size.setObjectName("kvSize")
        self.kv_size.setWordWrap(True)
        kv.insertWidget(kv.count() - 1, self.kv_size)
        add_row(form, "kv", kv)
        add_row(form, "overflow", self.overflow)
        for combo in (self.kind, self.overflow):
            _narrow_combo(combo)
        for combo in (self.type_k, self.type_v):
            combo.currentTextChanged.connect(self.show_kv_size)
        self.n_ctx.valueChanged.connect(self.show_kv_size)
        self.model_manager.on_info.append(self.show_kv_size)
        self.memory_limit = QSpinBox()
        self.memory_limit.setRange(0, 1_048_576)
        self.memory_limit.setSingleStep(1024)
        self.memory_limit.setSuffix(" MB")
        self.memory_limit.setSpecialValueText("no limit")
        add_row(form, "memory_limit", self.memory_limit)
        box.addWidget(group)
        box.addWidget(self._replies_group())
        return w

    def _replies_group(self) -> QGroupBox:
        group = QGroupBox("Replies")
        form = QFormLayout(group)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(16, 32768)
        self.max_tokens.setSingleStep(128)
        self.max_tokens.setSuffix(" tokens")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(-0.05, 2.0)     # the lowest value reads "automatic"
        self.temperature.setSingleStep(0.05)
        self.temperature.setSpecialValueText("automatic")
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.05, 1.0)
        self.top_p.setSingleStep(0.05)
        self.repeat_penalty = QDoubleSpinBox()
        self.repeat_penalty.setRange(1.0, 2.0)
        self.repeat_penalty.setSingleStep(0.05)
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setObjectName("systemPrompt")
        self.system_prompt.setPlaceholderText("None: Engram's own way of answering")
        self.system_prompt.setFixedHeight(64)
        add_row(form, "system_prompt", self.system_prompt)
        add_row(form, "max_tokens", self.max_tokens)
        add_row(form, "temperature", self.temperature)
        add_row(form, "top_p", self.top_p)
        add_row(form, "repeat_penalty", self.repeat_penalty)
        add_row(form, "seed", self.seed)
        return group

    def _memory_page(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.memory_enabled = QCheckBox()
        self.full_context = QSpinBox()
        self.full_context.setRange(0, 1_000_000)
        self.full_context.setSuffix(" tokens")
        self.retrieval_budget = QSpinBox()
        self.retrieval_budget.setRange(0, 100_000)
        self.retrieval_budget.setSuffix(" tokens")
        self.hema = QCheckBox()
        self.hema_every = QSpinBox()
        self.hema_every.setRange(2, 10_000)
        self.hema_every.setPrefix("a summary of summaries every ")
        self.hema_every.setSuffix(" messages")
        self.memorybank = QCheckBox()
        self.forgetting_sweep = QCheckBox()
        self.forget_threshold = QDoubleSpinBox()
        self.forget_threshold.setRange(0.0, 1.0)
        self.forget_threshold.setSingleStep(0.01)
        self.forget_threshold.setDecimals(3)
        self.tim = QCheckBox()
        self.embedding_model = QLineEdit()
        self.embedding_model.setPlaceholderText("bundled all-MiniLM-L6-v2")
        for key, widget in (("memory_enabled", self.memory_enabled),
                            ("full_context", self.full_context),
                            ("retrieval_budget", self.retrieval_budget), ("hema", self.hema),
                            ("hema_every", self.hema_every), ("memorybank", self.memorybank),
                            ("forgetting_sweep", self.forgetting_sweep),
                            ("forget_threshold", self.forget_threshold), ("tim", self.tim),
                            ("embedding_model", self.embedding_model)):
            add_row(form, key, widget)
        self.theme = QComboBox()
        for label, value in (("Follow the system", "system"), ("Light", "light"),
                             ("Dark", "dark")):
            self.theme.addItem(label, value)
        add_row(form, "theme", self.theme)
        return w

    def _storage_page(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        layout = self.services.layout
        folder = QHBoxLayout()
        path = QLabel(str(layout.data_dir))
        path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder.addWidget(path, 1)
        open_button = QPushButton("Open")
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(layout.data_dir))))
        folder.addWidget(open_button)
        form.addRow("Data folder:", folder)
        hint = QLabel("To use another folder, start Engram with ENGRAM_HOME=/that/folder "
                      "(or `engram --home /that/folder gui`).")
        hint.setObjectName("mutedLabel")
        hint.setWordWrap(True)
        form.addRow("", hint)
        self.chroma_url = QLineEdit()
        self.chroma_url.setPlaceholderText("empty: embedded index in the data folder")
        form.addRow("Chroma server URL:", self.chroma_url)
        self.collection = QLineEdit()
        form.addRow("Collection:", self.collection)
        chroma_hint = QLabel("A change of index location applies on the next start; then run "
                             "`engram reindex` to fill it from the database.")
        chroma_hint.setObjectName("mutedLabel")
        chroma_hint.setWordWrap(True)
        form.addRow("", chroma_hint)
        self.kv_budget = QSpinBox()
        self.kv_budget.setRange(0, 1_000_000)
        self.kv_budget.setSuffix(" MB")
        form.addRow("Saved model states budget:", self.kv_budget)
        return w

    def _remote_page(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.remote_url = QLineEdit()
        self.remote_url.setPlaceholderText("e.g. http://127.0.0.1:8080/v1 (empty: the local model)")
        self.remote_model = QLineEdit()
        self.remote_key = QLineEdit()
        self.remote_key.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("OpenAI-compatible endpoint:", self.remote_url)
        form.addRow("Model name:", self.remote_model)
        form.addRow("API key:", self.remote_key)
        note = QLabel("With an endpoint set, your messages and the memories retrieved for them "
                      "are sent to that server. Leave it empty to stay fully local.")
        note.setObjectName("mutedLabel")
        note.setWordWrap(True)
        form.addRow("", note)
        return w

    # -- load / apply ----------------------------------------------------------------------
    def load(self) -> None:
        s = self.services.settings
        m, mem, ch = s.model, s.memory, s.chroma
        self.model_manager.set_current(m.path)
        self.n_ctx.setValue(m.n_ctx)
        self.kind.setCurrentIndex(max(0, self.kind.findData(m.kind)))
        self.gpu.setCurrentText(str(m.n_gpu_layers))
        self.threads.setValue(m.n_threads)
        self.type_k.setCurrentText(m.type_k)
        self.type_v.setCurrentText(m.type_v)
        self.overflow.setCurrentIndex(max(0, self.overflow.findData(m.overflow_policy)))
        self.memory_limit.setValue(m.memory_limit_mb)
        g = s.generation
        self.max_tokens.setValue(g.max_tokens)
        self.temperature.setValue(g.temperature if g.temperature >= 0 else -0.05)
        self.top_p.setValue(g.top_p)
        self.repeat_penalty.setValue(g.repeat_penalty)
        self.seed.setValue(g.seed)
        self.system_prompt.setPlainText(g.system_prompt)
        from ui.theme import chosen_theme

        self.theme.setCurrentIndex(max(0, self.theme.findData(chosen_theme())))
        self.show_kv_size()
        self.show_gpu_support()
        self.memory_enabled.setChecked(mem.enabled)
        self.full_context.setValue(mem.full_context_tokens)
        self.retrieval_budget.setValue(mem.retrieval_budget_tokens)
        self.hema.setChecked(mem.hema_enabled)
        self.hema_every.setValue(mem.hema_second_level_every)
        self.memorybank.setChecked(mem.memorybank_enabled)
        self.forgetting_sweep.setChecked(mem.forgetting_sweep)
        self.forget_threshold.setValue(mem.forget_threshold)
        self.tim.setChecked(mem.tim_enabled)
        self.embedding_model.setText(mem.embedding_model)
        self.chroma_url.setText(ch.server_url)
        self.collection.setText(ch.collection)
        self.kv_budget.setValue(m.kv_state_budget_mb)
        self.remote_url.setText(m.remote_url)
        self.remote_model.setText(m.remote_model)
        self.remote_key.setText(m.remote_api_key)

    def collect(self) -> Any:
        """A copy of the settings with the form's values."""
        s = copy.deepcopy(self.services.settings)
        m, mem, ch = s.model, s.memory, s.chroma
        m.path = self.model_manager.current_path
        m.n_ctx = self.n_ctx.value()
        m.kind = self.kind.currentData()
        m.n_gpu_layers = self.gpu.currentText().strip() or "auto"
        m.n_threads = self.threads.value()
        m.type_k, m.type_v = self.type_k.currentText(), self.type_v.currentText()
        m.overflow_policy = self.overflow.currentData()
        m.kv_state_budget_mb = self.kv_budget.value()
        m.memory_limit_mb = self.memory_limit.value()
        g = s.generation
        g.max_tokens = self.max_tokens.value()
        g.temperature = (-1.0 if self.temperature.value() < 0
                         else round(self.temperature.value(), 2))
        g.top_p = round(self.top_p.value(), 2)
        g.repeat_penalty = round(self.repeat_penalty.value(), 2)
        g.seed = self.seed.value()
        g.system_prompt = self.system_prompt.toPlainText().strip()
        m.remote_url = self.remote_url.text().strip()
        m.remote_model = self.remote_model.text().strip()
        m.remote_api_key = self.remote_key.text()
        mem.enabled = self.memory_enabled.isChecked()
        mem.full_context_tokens = self.full_context.value()
        mem.retrieval_budget_tokens = self.retrieval_budget.value()
        mem.hema_enabled = self.hema.isChecked()
        mem.hema_second_level_every = self.hema_every.value()
        mem.memorybank_enabled = self.memorybank.isChecked()
        mem.forgetting_sweep = self.forgetting_sweep.isChecked()
        mem.forget_threshold = self.forget_threshold.value()
        mem.tim_enabled = self.tim.isChecked()
        mem.embedding_model = self.embedding_model.text().strip()
        ch.server_url = self.chroma_url.text().strip()
        ch.collection = self.collection.text().strip() or "memories"
        return s

    def apply(self) -> None:
        new = self.collect()
        old = self.services.settings
        changed = [f"model.{k}" for k in vars(new.model) if getattr(new.model, k) != getattr(old.model, k)]
        changed += [f"memory.{k}" for k in vars(new.memory) if getattr(new.memory, k) != getattr(old.memory, k)]
        changed += [f"chroma.{k}" for k in vars(new.chroma) if getattr(new.chroma, k) != getattr(old.chroma, k)]
        changed += [f"generation.{k}" for k in vars(new.generation)
                    if getattr(new.generation, k) != getattr(old.generation, k)]
        if (new.model.n_gpu_layers not in ("auto", "all", "none")
                and not new.model.n_gpu_layers.isdigit()):
            self.note.setText("GPU layers must be auto, all, none or a number.")
            return
        # Mutate in place: every service holds the same Settings object.
        for section in ("model", "memory", "chroma", "generation"):
            target, source = getattr(old, section), getattr(new, section)
            for key, value in vars(source).items():
                setattr(target, key, value)
        notes = []
        self._apply_theme()
        if any(c.startswith("chroma.") for c in changed) or "memory.embedding_model" in changed:
            notes.append("The index location and embedding model change on the next start.")
        reload_model = any(c.split(".", 1)[1] in MODEL_RELOAD_FIELDS for c in changed
                           if c.startswith("model."))

        def saved(_):
            self.services.events.settings_changed.emit()
            if reload_model and (old.model.path or old.model.remote_url
                                 or self.services.llm is not None):
                from ui.model_loader import load_model

                load_model(self.services, parent=self)
                notes.append("Reloading the model with the new settings…")
            self.note.setText(" ".join(notes) or ("Saved." if changed else "Nothing changed."))
            self.applied.emit(changed)

        self.services.runner.db(lambda ctx: ctx.engram.save_settings(), success=saved,
                                failure=lambda e: self.note.setText(f"Could not save: {e}"))

    # -- live figures ------------------------------------------------------------------------
    def show_kv_size(self, *_changed: object) -> None:
        """The conversation cache's size for the chosen K/V types and context size."""
        from ui.status_bar import human_bytes

        info = self.model_manager.info
        if not info or not info.get("kv_elements_per_token"):
            self.kv_size.setText("")
            return
        from core.runtime.kv_config import bytes_per_element

        per = info["kv_elements_per_token"] * (bytes_per_element(self.type_k.currentText())
                                               + bytes_per_element(self.type_v.currentText()))
        n = self.n_ctx.value()
        self.kv_size.setText(f"= {human_bytes(per * n)} for {n:,} tokens "
                             f"({human_bytes(per * 1000)} per 1,000)")
        self.model_manager.info_labels["kv"].setText(self.model_manager.kv_text(
            info, self.type_k.currentText(), self.type_v.currentText()))

    def show_gpu_support(self) -> None:
        """What this build of llama.cpp can offload (asked once, off the GUI thread)."""
        caps = build_capabilities()
        if caps is None:
            self.gpu_note.setText("Checking what this build supports…")
            self.model_manager.on_capabilities.append(self.show_gpu_support)
            return
        if caps["gpus"]:
            names = ", ".join(caps["gpus"])
            self.gpu_note.setText(f"This build can use: {names}. Auto fills what fits.")
            self.gpu.setEnabled(True)
        else:
            self.gpu_note.setText("This build runs on the CPU only (no GPU it can use was "
                                  "found), so this setting has no effect.")
            self.gpu.setCurrentText("none")
            self.gpu.setEnabled(False)

    def _apply_theme(self) -> None:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from ui.theme import apply_theme, chosen_theme

        value = self.theme.currentData()
        if value != chosen_theme():
            QSettings().setValue("ui/theme", value)
            apply_theme(QApplication.instance(), value)

    def _use_model_file(self, path: str) -> None:
        self.model_manager.set_current(path)
