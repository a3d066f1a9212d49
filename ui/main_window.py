"""The main window: conversations on the left, the chat (or the welcome page) in the middle,
the memory inspector as a dock on the right, live model figures in the status bar."""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
)

from core.base.paths import DataLayout
from core.index.sync import SyncReport
from core.runtime.starter_model import starter_model_status
from core.services import conversation_ops
from core.services.changes import Changes
from ui.chat_view import ChatView
from ui.conversation_list import ConversationList
from ui.dialogs import show_error
from ui.memory_inspector import MemoryInspector
from ui.ops import Op, OpContext
from ui.services import Services
from ui.status_bar import EngramStatusBar
from ui.welcome_page import WelcomePage

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(self, layout: DataLayout | None = None, *, services: Services | None = None,
                 autoload_model: bool = True) -> None:
        super().__init__()
        if services is None:
            assert layout is not None
            services = Services(layout)
        self.services = services
        self.layout_ = services.layout
        self.setWindowTitle("Engram")
        self.resize(1280, 800)
        self._dialogs: dict[str, Any] = {}

        self.conversations = ConversationList(services)
        self.chat = ChatView(services)
        starter = starter_model_status(services.layout.models_dir)
        self.welcome = WelcomePage(starter, services=services)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.chat)
        self.stack.addWidget(self.welcome)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.conversations)
        split.addWidget(self.stack)
        split.setStretchFactor(1, 1)
        split.setSizes([270, 1010])
        split.setChildrenCollapsible(False)
        self.split = split
        self.setCentralWidget(split)

        self.inspector = MemoryInspector(services)
        self.inspector_dock = QDockWidget("Memory inspector", self)
        self.inspector_dock.setObjectName("inspectorDock")
        self.inspector_dock.setWidget(self.inspector)
        self.inspector_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                                        | QDockWidget.DockWidgetFeature.DockWidgetMovable
                                        | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)
        self.resizeDocks([self.inspector_dock], [640], Qt.Orientation.Horizontal)
        self.inspector_dock.hide()
        self.inspector_dock.visibilityChanged.connect(
            lambda on: on and self.inspector.model.total == 0 and self.inspector.refresh())

        self.status = EngramStatusBar(services)
        # a long background-work line clips at the bar's edge instead of widening the window
        policy = self.status.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
        self.status.setSizePolicy(policy)
        self.setStatusBar(self.status)
        self._build_menus()
        self.restore_layout()

        self.conversations.conversation_selected.connect(self.open_conversation)
        services.events.open_memory.connect(self.open_memory)
        services.events.open_conversation.connect(self.jump_to_message)
        self.welcome.start_starter.connect(self.start_starter_model)
        self.welcome.choose_gguf.connect(self.choose_gguf)
        self.welcome.download_model.connect(lambda: self.open_settings("model"))
        self.welcome.use_model.connect(self.use_model_file)
        self.welcome.import_archive.connect(self.open_import)
        self.welcome.open_inspector.connect(self.show_inspector)
        self.welcome.skip.connect(self.finish_welcome)

        first_run = not services.settings.first_run_done
        # A model the command line already uses (`engram chat` prepared the starter model,
        # or `engram models use` chose one) is used here too: no welcome page to ask again.
        from ui.model_loader import has_model

        welcome = first_run and not has_model(services)
        self.stack.setCurrentWidget(self.welcome if welcome else self.chat)
        if welcome and self.welcome.starter_button.isEnabled():
            self.welcome.starter_button.setFocus()
        QTimer.singleShot(0, self._discard_empty_incognito)
        if autoload_model:
            # Start-up work that can wait until the window is on screen.
            if not welcome:
                QTimer.singleShot(0, self._autoload_model)
            QTimer.singleShot(1000, services.warm_up)
            QTimer.singleShot(3000, services.start_memory_worker)
            self._jobs_seen = -1
            self._jobs_timer = QTimer(self, interval=5000)
            self._jobs_timer.timeout.connect(self._watch_memory_jobs)
            self._jobs_timer.start()

    # -- menus and shortcuts ---------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.new_chat_action = self._action(file, "New chat", "Ctrl+N", self.new_chat)
        self._action(file, "New incognito chat", "Ctrl+Shift+N",
                     lambda: self.conversations.new_chat(incognito=True))
        file.addSeparator()
        self.import_action = self._action(file, "Import conversations…", "Ctrl+O", self.open_import)
        file.addSeparator()
        self._action(file, "Quit", QKeySequence.StandardKey.Quit, self.close)
        edit = bar.addMenu("&Edit")
        self.search_action = self._action(edit, "Search chats", "Ctrl+K", self.focus_search)
        self.settings_action = self._action(edit, "Settings…", "Ctrl+,",
                                            lambda: self.open_settings())
        chat_menu = bar.addMenu("&Chat")
        self.find_action = self._action(chat_menu, "Find in this chat", "Ctrl+F",
                                        self.chat.find_bar.open)
        self.instructions_action = self._action(chat_menu, "Instructions for this chat…",
                                                None, self.chat.edit_instructions)
        self.export_action = self._action(chat_menu, "Export this chat as Markdown…",
                                          "Ctrl+Shift+E", self.export_chat)
        chat_menu.addSeparator()
        view = bar.addMenu("&View")
        self.inspector_action = self._action(view, "Memory inspector", "Ctrl+I",
                                             self.toggle_inspector)
        self._action(view, "Welcome page", None, self.show_welcome)
        tools = bar.addMenu("&Tools")
        self.reindex_action = self._action(tools, "Rebuild the memory index", None,
                                           self.reindex)
        chat = chat_menu
        self.send_action = self._action(chat, "Send", "Ctrl+Return", self.chat.submit)
        self.stop_action = self._action(chat, "Stop", "Ctrl+.", self.chat.stop)
        self._action(chat, "Undo last memory change", "Ctrl+Shift+Z", self.inspector.undo)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Keyboard shortcuts", "F1", self.show_shortcuts)
        self._action(help_menu, "About Engram", None, self.show_about)

    def _action(self, menu, text: str, shortcut, slot) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
        act.triggered.connect(lambda _=False: slot())
        menu.addAction(act)
        return act

    # -- navigation ------------------------------------------------------------------------
    def new_chat(self) -> None:
        self.stack.setCurrentWidget(self.chat)
        self.conversations.new_chat()
        self.chat.composer.setFocus()

    def open_conversation(self, conversation_id: str | None) -> None:
        self.stack.setCurrentWidget(self.chat)
        self._leave_incognito(conversation_id)
        if conversation_id != self.chat.conversation_id or conversation_id is None:
            self.chat.open_conversation(conversation_id)

    def jump_to_message(self, conversation_id: str, message_id: str) -> None:
        self.stack.setCurrentWidget(self.chat)
        self.conversations.list.blockSignals(True)
        self.conversations.select(conversation_id)
        self.conversations.list.blockSignals(False)
        self.chat.open_conversation(conversation_id, scroll_to=message_id)

    def focus_search(self) -> None:
        self.conversations.search.setFocus()
        self.conversations.search.selectAll()

    def show_inspector(self) -> None:
        first = not self.inspector_dock.isVisible()
        width = self.width()
        self.inspector_dock.show()
        if first:
            # the dock takes from the chat, never widens the window
            room = width - self.centralWidget().minimumSizeHint().width()
            want = max(self.inspector_dock.minimumSizeHint().width(), width * 45 // 100)
            self.resizeDocks([self.inspector_dock], [max(0, min(want, room))],
                             Qt.Orientation.Horizontal)
            if self.width() > width and not self.isMaximized():
                self.resize(width, self.height())
        self.inspector_dock.raise_()
        self.inspector.refresh()
        QTimer.singleShot(0, self.fit_to_screen)

    def fit_to_screen(self) -> None:
        """Keep the whole window on its screen (a size remembered from a bigger screen, or
        one a dock pushed wider, would leave Send off the edge)."""
        screen = self.screen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        room = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.size()
        width = min(self.width(), room.width() - frame.width())
        height = min(self.height(), room.height() - frame.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(max(width, self.minimumSizeHint().width()),
                        max(height, self.minimumSizeHint().height()))
        geo = self.frameGeometry()
        x = min(max(geo.x(), room.x()), room.right() - geo.width() + 1)
        y = min(max(geo.y(), room.y()), room.bottom() - geo.height() + 1)
        if (x, y) != (geo.x(), geo.y()):
            self.move(max(x, room.x()), max(y, room.y()))

    def toggle_inspector(self) -> None:
        if self.inspector_dock.isVisible():
            self.inspector_dock.hide()
        else:
            self.show_inspector()

    def open_memory(self, memory_id: str) -> None:
        if not self.inspector_dock.isVisible():
            self.show_inspector()
        self.inspector.show_memory(memory_id)

    def show_welcome(self) -> None:
        self.stack.setCurrentWidget(self.welcome)

    def finish_welcome(self) -> None:
        self.stack.setCurrentWidget(self.chat)
        self.chat.composer.setFocus()
        if not self.services.settings.first_run_done:
            self.services.settings.first_run_done = True
            self.save_settings()

    def save_settings(self) -> None:
        self.services.runner.db(lambda ctx: ctx.engram.save_settings(),
                                failure=lambda e: show_error(self, e))

    def _watch_memory_jobs(self) -> None:
        """While the inspector is open, show what the memory worker changed (summaries,
        thoughts, the portrait) when its queue moves."""
        if not self.inspector_dock.isVisible() or self.services.memory_worker is None:
            return

        def seen(pending: int) -> None:
            if self._jobs_seen not in (-1, pending):
                self.services.events.announce(Changes("memory work", many_memories=True))
            self._jobs_seen = pending

        self.services.runner.db(lambda ctx: ctx.engram.jobs.pending(), success=seen)

    # -- model -------------------------------------------------------------------------------
    def _autoload_model(self) -> None:
        from ui.model_loader import has_model, load_model

        if self.services.llm is None and has_model(self.services):
            load_model(self.services, parent=self)

    def start_starter_model(self) -> None:
        from ui.model_loader import load_model

        self.welcome.status.setText("Preparing the starter model (the first time writes a "
                                    "250 MB file) and starting it…")
        # Disabling the focused button would hand focus (and the user's next Space) to the
        # next welcome button, "Choose a GGUF file…": park focus on the page itself.
        self.welcome.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.welcome.setFocus()
        self.welcome.starter_button.setEnabled(False)

        def done(_llm):
            self.welcome.status.setText("")
            self.welcome.starter_button.setEnabled(True)
            self.finish_welcome()
            self.new_chat()

        def failed(error):
            self.welcome.status.setText("")
            self.welcome.starter_button.setEnabled(True)
            show_error(self, error)

        self.services.settings.model.path = ""
        load_model(self.services, prepare_starter=True, parent=self, on_done=done,
                   on_error=failed)

    def choose_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", str(self.layout_.models_dir),
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self.use_model_file(path)

    def use_model_file(self, path: str) -> None:
        from ui.model_loader import load_model

        self.services.settings.model.path = path
        self.save_settings()
        self.finish_welcome()
        load_model(self.services, parent=self)

    # -- dialogs -----------------------------------------------------------------------------
    def open_import(self) -> None:
        from ui.import_wizard import ImportWizard

        wizard = self._dialogs.get("import")
        if wizard is None or not wizard.isVisible():
            wizard = ImportWizard(self.services, self)
            self._dialogs["import"] = wizard
        wizard.show()
        wizard.raise_()

    def open_settings(self, page: str = "") -> None:
        from ui.settings_dialog import SettingsDialog

        dlg = self._dialogs.get("settings")
        if dlg is None:
            dlg = SettingsDialog(self.services, self)
            dlg.model_file_chosen.connect(self.use_model_file)
            self._dialogs["settings"] = dlg
        dlg.load()
        if page:
            dlg.show_page(page)
        dlg.show()
        dlg.raise_()

    def reindex(self) -> Op:
        """Rebuild the vector index from SQLite in the background (progress, cancel)."""

        events = self.services.events

        def work(ctx: OpContext) -> SyncReport:
            return ctx.engram.index_sync.reindex(progress=ctx.progress,
                                                 should_stop=ctx.cancelled)

        def finished(_result=None):
            events.background_progress.emit("Rebuilding the index", 0, 0)

        def failed(error):
            finished()
            show_error(self, error)

        op = Op(work, lane="background", success=finished, failure=failed,
                label="Rebuilding the memory index", dialog_parent=self)
        op.progressed.connect(lambda p: events.background_progress.emit(
            "Rebuilding the index", p.done, max(p.total, 1)))
        events.background_progress.emit("Rebuilding the index", 0, 1)
        return self.services.runner.submit(op)

    # -- chats ---------------------------------------------------------------------------------
    def _leave_incognito(self, next_id: str | None) -> None:
        """An incognito chat left without a message leaves the list too."""
        conv = self.chat.conversation
        if conv is None or not conv.incognito or conv.id == next_id or self.chat.widgets:
            return
        cid = conv.id
        self.services.runner.change(
            lambda ctx: conversation_ops.discard_if_empty(ctx.engram, cid)
            or Changes("nothing"), failure=lambda e: log.warning("discard failed: %s", e))

    def _discard_empty_incognito(self) -> None:
        """Empty incognito chats a previous run left behind, then the list."""
        def work(ctx: OpContext) -> Changes:
            eng = ctx.engram
            for conv in eng.conversations.list(limit=10**6):
                if conv.incognito:
                    conversation_ops.discard_if_empty(eng, conv.id)
            return Changes("tidy", conversation_list=True)

        self.services.runner.change(work, failure=lambda e: self.conversations.refresh())

    def export_chat(self, path: str | None = None) -> None:
        """The chat on screen as a Markdown file (its visible branch)."""
        cid = self.chat.conversation_id
        if cid is None or self.stack.currentWidget() is not self.chat:
            show_error(self, RuntimeError("Open a chat first: there is nothing to export."))
            return
        if path is None:
            name = "".join(c if c.isalnum() or c in " -_" else "-" for c in
                           (self.chat.title.text() or "chat"))[:60].strip() or "chat"
            path, _ = QFileDialog.getSaveFileName(
                self, "Export this chat as Markdown", str(Path.home() / f"{name}.md"),
                "Markdown (*.md);;All files (*)")
            if not path:
                return
        target = Path(path)

        def done(written: Path) -> None:
            self.statusBar().showMessage(f"Saved {written}", 6000)

        self.services.runner.db(
            lambda ctx: conversation_ops.export_markdown_file(ctx.engram, cid, target),
            success=done, failure=lambda e: show_error(self, e))

    def show_shortcuts(self) -> None:
        from ui.help_dialog import shortcuts_dialog

        shortcuts_dialog(self).exec()

    def show_about(self) -> None:
        from ui.help_dialog import about_dialog

        about_dialog(self, self.services).exec()

    # -- window layout, remembered -------------------------------------------------------------
    def restore_layout(self) -> None:
        """The window's size and place, the sidebar width and the docks as last left (in the
        data folder's window.ini: each data folder keeps its own)."""
        store = self._layout_store()
        geometry, state = store.value("window/geometry"), store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        sizes = store.value("window/sidebar")
        if sizes:
            with contextlib.suppress(TypeError, ValueError):
                self.split.setSizes([int(x) for x in sizes])
        self.fit_to_screen()

    def _layout_store(self) -> QSettings:
        return QSettings(str(self.layout_.data_dir / "window.ini"), QSettings.Format.IniFormat)

    def save_layout(self) -> None:
        store = self._layout_store()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        store.setValue("window/sidebar", self.split.sizes())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.fit_to_screen)      # the frame's size is known now

    # -- shut-down ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.save_layout()
        self._leave_incognito(None)
        self.chat.stop()
        event.accept()

    def shutdown(self) -> None:
        self.services.close()
