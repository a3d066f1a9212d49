"""The sidebar: search, new chat, and the conversation list (pinned first, incognito marked,
each chat's project named on its row; the right-click menu moves a chat into a project)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from core.services import conversation_ops, project_ops
from core.services.changes import Changes
from core.services.engine import Engram
from core.store.conversations import Conversation
from core.store.steering import Project
from ui.dialogs import ask, show_error
from ui.ops import OpContext
from ui.project_dialogs import ProjectActions, add_project_menu, ask_name, confirm_delete
from ui.services import Services
from ui.theme import tone

CONV_ROLE = Qt.ItemDataRole.UserRole + 1
PROJECT_ROLE = Qt.ItemDataRole.UserRole + 2     # the chat's project's name ("": none)


def _when(ts: float) -> str:
    now = time.time()
    if now - ts < 86400 and time.localtime(ts).tm_mday == time.localtime(now).tm_mday:
        return time.strftime("%H:%M", time.localtime(ts))
    if now - ts < 7 * 86400:
        return time.strftime("%a", time.localtime(ts))
    return time.strftime("%d %b %Y", time.localtime(ts))


class ConversationDelegate(QStyledItemDelegate):
    """Two lines: title, then the project (in the accent colour) · pinned · date · source ·
    incognito."""

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(option.rect.width(), 50)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        conv = index.data(CONV_ROLE)
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        rect = option.rect.adjusted(6, 2, -6, -2)
        if selected or hover:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tone("#dfe7fb") if selected else tone("#eef1f6"))
            painter.drawRoundedRect(rect, 6, 6)
        title_font = QFont(option.font)
        title_font.setWeight(QFont.Weight.DemiBold if selected else QFont.Weight.Normal)
        painter.setFont(title_font)
        painter.setPen(tone("#1d2430"))
        title = conv.title or "Untitled chat"
        text_rect = QRect(rect.left() + 10, rect.top() + 5, rect.width() - 20, 20)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight,
                                                          text_rect.width()))
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() - 1.5))
        painter.setFont(small)
        bits = ["pinned"] if conv.pinned else []
        bits.append(_when(conv.updated_at))
        if conv.source != "engram":
            bits.append(f"imported from {conv.source}")
        sub_rect = QRect(rect.left() + 10, rect.top() + 25, rect.width() - 20, 16)
        project = index.data(PROJECT_ROLE) or ""
        sub = " · ".join(bits)
        if project:       # the project first, in the accent colour, then the rest
            shown = painter.fontMetrics().elidedText(
                project, Qt.TextElideMode.ElideRight, max(40, sub_rect.width() // 2))
            painter.setPen(tone("#2f5bb7"))
            painter.drawText(sub_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             shown)
            sub_rect.setLeft(sub_rect.left() + painter.fontMetrics().horizontalAdvance(shown))
            sub = painter.fontMetrics().elidedText(" · " + sub, Qt.TextElideMode.ElideRight,
                                                   sub_rect.width())
        painter.setPen(tone("#6b7484"))
        painter.drawText(sub_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, sub)
        if conv.incognito:
            width = painter.fontMetrics().horizontalAdvance(sub)
            badge = QRect(sub_rect.left() + width + 8, sub_rect.top(), 70, 16)
            painter.setPen(tone("#7a4fc0"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             "incognito")
        painter.restore()


class ConversationList(QWidget):
    conversation_selected = Signal(object)   # id or None (a new, unsaved chat)

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setObjectName("sidebar")
        self.setMinimumWidth(230)
        self.setMaximumWidth(420)
        self.conversations: list[Conversation] = []
        self.projects: list[Project] = []
        self.project_of: dict[str, str] = {}      # conversation id -> project id
        self._select_next: str | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 12, 10, 10)
        box.setSpacing(8)
        top = QHBoxLayout()
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("primaryButton")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(self.new_chat)
        top.addWidget(self.new_button, 1)
        self.incognito_button = QPushButton("Incognito")
        self.incognito_button.setToolTip("A chat that reads and writes no memory")
        self.incognito_button.clicked.connect(lambda: self.new_chat(incognito=True))
        top.addWidget(self.incognito_button)
        box.addLayout(top)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search chats (Ctrl+K)")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        box.addWidget(self.search)
        self.list = QListWidget()
        self.list.setObjectName("conversationList")
        self.list.setItemDelegate(ConversationDelegate(self.list))
        self.list.setMouseTracking(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentItemChanged.connect(self._current_changed)
        box.addWidget(self.list, 1)
        self.empty = QLabel("No chats yet.\nStart one, or import your history\n(File ▸ Import).")
        self.empty.setObjectName("mutedLabel")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty.hide()
        box.addWidget(self.empty, 1)
        services.events.changed.connect(
            lambda changes: changes.conversation_list and self.refresh())

    # -- data ------------------------------------------------------------------------------
    def refresh(self) -> None:
        query = self.search.text().strip()
        def read(ctx: OpContext) -> tuple[list[Conversation], list[Project], dict[str, str]]:
            eng = ctx.engram
            return (eng.conversations.list(search=query), eng.steering.projects(),
                    eng.steering.conversation_projects())

        self.services.runner.db(read, success=lambda got: self._fill(*got),
                                failure=lambda e: show_error(self, e))

    def _fill(self, conversations: list[Conversation], projects: list[Project] | None = None,
              project_of: dict[str, str] | None = None) -> None:
        current = self.current_id()
        self.conversations = conversations
        self.projects = list(projects or [])
        self.project_of = dict(project_of or {})
        names = {p.id: p.name for p in self.projects}
        self.list.blockSignals(True)
        self.list.clear()
        for conv in conversations:
            item = QListWidgetItem(conv.title or "Untitled chat")
            item.setData(CONV_ROLE, conv)
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            project = names.get(self.project_of.get(conv.id, ""), "")
            item.setData(PROJECT_ROLE, project)
            item.setToolTip((conv.title or "Untitled chat")
                            + (f"\nIn the project “{project}”: its memories are read only "
                               "in the project's chats" if project else ""))
            self.list.addItem(item)
            if conv.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        nothing = not conversations and not self.search.text().strip()
        self.list.setVisible(not nothing)
        self.empty.setVisible(nothing)
        if self._select_next and any(c.id == self._select_next for c in conversations):
            self.select(self._select_next)
            self._select_next = None

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def select(self, conversation_id: str | None) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == conversation_id:
                self.list.setCurrentRow(i)
                return
        self.list.setCurrentItem(None)

    def _current_changed(self, item: QListWidgetItem | None, _prev: Any) -> None:
        self.conversation_selected.emit(item.data(Qt.ItemDataRole.UserRole) if item else None)

    # -- actions ---------------------------------------------------------------------------
    def new_chat(self, incognito: bool = False) -> None:
        if not incognito:
            self.list.setCurrentItem(None)
            self.conversation_selected.emit(None)
            return
        def work(ctx: OpContext) -> Changes:
            return conversation_ops.create(ctx.engram, "Incognito chat", incognito=True)[1]

        def created(changes: Changes) -> None:
            self._select_next = changes.conversations[0]     # once the list has it

        self.services.runner.change(work, success=created,
                                    failure=lambda e: show_error(self, e))

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.menu_for(item.data(CONV_ROLE)).popup(self.list.viewport().mapToGlobal(pos))

    def menu_for(self, conv: Conversation) -> QMenu:
        """A chat's right-click menu."""
        menu = QMenu(self)
        menu.setObjectName("conversationMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction("Rename…", lambda: self.rename(conv.id, conv.title))
        menu.addAction("Unpin" if conv.pinned else "Pin to top",
                       lambda: self.set_pinned(conv.id, not conv.pinned))
        menu.addSeparator()
        add_project_menu(menu, self.projects, self.project_of.get(conv.id), ProjectActions(
            move=lambda pid: self.move_to_project(conv.id, pid),
            new_and_move=lambda: self.new_project_for(conv.id),
            rename=self.rename_project, delete=self.confirm_delete_project))
        menu.addSeparator()
        menu.addAction("Delete…", lambda: self.confirm_delete(conv.id, conv.title))
        menu.addAction("Purge chat and its memories…",
                       lambda: self.confirm_purge(conv.id, conv.title))
        return menu

    def rename(self, conversation_id: str, title: str) -> None:
        new, ok = QInputDialog.getText(self, "Rename chat", "Title:", text=title)
        if ok and new.strip():
            self.apply_rename(conversation_id, new.strip())

    def apply_rename(self, conversation_id: str, title: str) -> None:
        self._change(lambda eng: conversation_ops.rename(eng, conversation_id, title))

    def set_pinned(self, conversation_id: str, pinned: bool) -> None:
        self._change(lambda eng: conversation_ops.pin(eng, conversation_id, pinned))

    def confirm_delete(self, conversation_id: str, title: str) -> None:
        ask(self, "Delete chat", f"Delete “{title or 'Untitled chat'}” and its messages?",
            lambda: self.delete(conversation_id), yes_text="Delete", destructive=True,
            detail="Memories made from it stay in the inspector, where you can forget or "
                   "purge them. To erase everything derived from it, purge the chat instead.")

    def confirm_purge(self, conversation_id: str, title: str) -> None:
        ask(self, "Purge chat", f"Purge “{title or 'Untitled chat'}” and everything "
            "remembered from it?", lambda: self.delete(conversation_id, purge=True),
            yes_text="Purge", destructive=True,
            detail="Purging is irreversible: the chat, its messages and every memory made "
                   "from it are erased from the database, the indexes and saved model states. "
                   "It cannot be undone.")

    def delete(self, conversation_id: str, *, purge: bool = False) -> None:
        op = conversation_ops.purge if purge else conversation_ops.delete

        def done(_changes: Changes) -> None:
            if self.current_id() == conversation_id:
                self.conversation_selected.emit(None)

        self._change(lambda eng: op(eng, conversation_id), done)

    # -- projects --------------------------------------------------------------------------
    def move_to_project(self, conversation_id: str, project_id: str | None) -> None:
        self._change(lambda eng: project_ops.move_conversation(eng, conversation_id,
                                                               project_id))

    def new_project_for(self, conversation_id: str) -> None:
        def work(eng: Engram, name: str) -> Changes:
            project, made = project_ops.create_project(eng, name)
            return made + project_ops.move_conversation(eng, conversation_id, project.id)

        ask_name(self, "New project", "A project keeps what its chats remember to itself.\n"
                 "Name:", lambda name: self._change(lambda eng: work(eng, name)))

    def rename_project(self, project: Project) -> None:
        ask_name(self, "Rename project", "Name:", lambda name: self._change(
            lambda eng: project_ops.rename_project(eng, project.id, name)), text=project.name)

    def confirm_delete_project(self, project: Project) -> None:
        chats = sum(1 for pid in self.project_of.values() if pid == project.id)
        confirm_delete(self, project, chats, lambda: self._change(
            lambda eng: project_ops.delete_project(eng, project.id)))

    def _change(self, fn: Callable[[Engram], Changes],
                success: Callable[[Changes], None] | None = None) -> None:
        self.services.runner.change(lambda ctx: fn(ctx.engram), success=success,
                                    failure=lambda e: show_error(self, e))
