"""The chat list's project menu and the small dialogs it opens (a name; a confirmation).

A chat's right-click menu gets "Move to project ▸" (each project, the chat's own checked;
"New project…"; "No project") and, for a chat in a project, "Project “X” ▸ Rename… /
Delete…". The menu only calls back: the chat list runs the core operations
(core.services.project_ops) through the op runner.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMenu, QWidget

from core.store.steering import Project
from ui.dialogs import ask


@dataclass(frozen=True)
class ProjectActions:
    """What the menu's entries do, for one chat."""
    move: Callable[[str | None], None]          # into this project (None: into no project)
    new_and_move: Callable[[], None]            # ask a name, make it, move the chat into it
    rename: Callable[[Project], None]
    delete: Callable[[Project], None]


def add_project_menu(menu: QMenu, projects: Sequence[Project], current: str | None,
                     actions: ProjectActions) -> QMenu:
    """The project entries of one chat's menu (the chat is in `current`, or in none)."""
    move = menu.addMenu("Move to project")
    move.setObjectName("moveToProjectMenu")
    for project in projects:
        act = move.addAction(project.name, lambda p=project.id: actions.move(p))
        act.setCheckable(True)
        act.setChecked(project.id == current)
        act.setEnabled(project.id != current)
    if projects:
        move.addSeparator()
    move.addAction("New project…", actions.new_and_move)
    none = move.addAction("No project", lambda: actions.move(None))
    none.setCheckable(True)
    none.setChecked(current is None)
    none.setEnabled(current is not None)
    none.setToolTip("Its memories are read in every chat again")
    mine = next((p for p in projects if p.id == current), None)
    if mine is not None:
        own = menu.addMenu(f"Project “{mine.name}”")
        own.addAction("Rename project…", lambda: actions.rename(mine))
        own.addAction("Delete project…", lambda: actions.delete(mine))
    return move


def ask_name(parent: QWidget, title: str, label: str, on_ok: Callable[[str], None], *,
             text: str = "") -> QInputDialog:
    """A one-line name, asked without a nested event loop; `on_ok` gets it if not blank."""
    dialog = QInputDialog(parent)
    dialog.setObjectName("projectNameDialog")
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.textValueSelected.connect(lambda value: value.strip() and on_ok(value.strip()))
    dialog.open()
    return dialog


def confirm_delete(parent: QWidget, project: Project, chats: int,
                   on_yes: Callable[[], None]) -> None:
    held = "no chats" if not chats else "1 chat" if chats == 1 else f"{chats} chats"
    ask(parent, "Delete project", f"Delete the project “{project.name}” ({held})?", on_yes,
        yes_text="Delete project", destructive=True,
        detail="Its chats stay, in no project, and what was remembered from them is read "
               "in every chat again. No chat, message or memory is deleted.")
