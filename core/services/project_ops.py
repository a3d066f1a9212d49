"""What a person does to projects, each returning a `Changes` record: create, rename, move a
chat into one (or out of all), delete.

A project is a memory scope of its own (core.memory.steering.project_filter): its memories
are read only in its chats. So moving a chat moves what was remembered from it:

- into a project: the chat's memories (turns, facts, thoughts, summaries) go into the
  project's scope, except those the person chose to "always include" (sent with every
  message: they stay global) and those also known from a chat outside the project (they
  stay where they are: the other chat may read them already);
- out of a project (to another, or to none): the chat's memories in the old project's scope
  follow it (to the new project, or back to global);
- deleting a project: its chats go back to no project and every memory in its scope back to
  global; no chat, message or memory is lost.

Each memory's move is one audited "rescoped" change (old and new project in the history),
all of one action under one operation id. Its actor is "system": the memories follow the
chat, and the way back is moving the chat back (which restores them exactly), not the
inspector's undo, which would leave the chat and its memories in two different scopes.
"""
from __future__ import annotations

from core.base.errors import EngramError, NotFoundError
from core.services.changes import Changes
from core.services.engine import Engram
from core.services.memory_ops import undo_description
from core.store.steering import Project

ACTOR = "system"          # the memories follow the chat the person moved


def create_project(eng: Engram, name: str) -> tuple[Project, Changes]:
    clean = _checked_name(eng, name)
    project = eng.steering.create_project(clean)
    return project, Changes(f"new project “{clean}”", conversation_list=True,
                            detail=project)


def rename_project(eng: Engram, project_id: str, name: str) -> Changes:
    project = eng.steering.project(project_id)
    clean = _checked_name(eng, name, keep=project_id)
    if clean == project.name:
        return Changes(f"project “{clean}” keeps its name")
    eng.steering.rename_project(project_id, clean)
    return Changes(f"rename project “{project.name}” to “{clean}”", conversation_list=True,
                   conversations=tuple(eng.steering.conversations_in(project_id)))


def move_conversation(eng: Engram, conversation_id: str, project_id: str | None) -> Changes:
    """The chat into `project_id` (None: into no project), and its memories with it."""
    conv = eng.conversations.get(conversation_id)
    target = eng.steering.project(project_id) if project_id else None
    old = eng.steering.project_of(conv.id)
    where = f"project “{target.name}”" if target else "no project"
    title = conv.title or "Untitled chat"
    if old == project_id:
        return Changes(f"“{title}” is already in {where}")
    moved: list[str] = []
    with eng.memories.operation():
        eng.steering.set_conversation_project(conv.id, project_id)
        leaving = eng.steering.memories_in_project(old, conv.id) if old else []
        entering = eng.steering.project_memories(conv.id, project_id) if project_id else []
        note = f"chat “{title}” moved to {where}"
        for mid in dict.fromkeys(leaving + entering):
            dest = project_id if mid in entering else None
            eng.memories.set_project(mid, dest, actor=ACTOR, note=note)
            moved.append(mid)
    return Changes(f"move “{title}” to {where}" + _memories_said(moved),
                   memories=tuple(moved), vectors=bool(moved), conversations=(conv.id,),
                   conversation_list=True, undo=undo_description(eng),
                   detail={"from": old, "to": project_id})


def delete_project(eng: Engram, project_id: str) -> Changes:
    """The project goes; its chats stay, in no project, and its memories go back to global."""
    project = eng.steering.project(project_id)
    freed: list[str] = []
    with eng.memories.operation():
        note = f"project “{project.name}” deleted"
        for mid in eng.steering.memories_in_project(project_id):
            if eng.memories.get(mid).status != "purged":
                eng.memories.set_project(mid, None, actor=ACTOR, note=note)
                freed.append(mid)
        convs = eng.steering.delete_project(project_id)
    chats = "1 chat" if len(convs) == 1 else f"{len(convs)} chats"
    mems = "1 memory" if len(freed) == 1 else f"{len(freed)} memories"
    return Changes(f"delete project “{project.name}” ({chats} to no project, {mems} to "
                   "global)",
                   memories=tuple(freed), vectors=bool(freed), conversations=tuple(convs),
                   conversation_list=True, undo=undo_description(eng))


def project_names(eng: Engram) -> dict[str, str]:
    """conversation id -> the name of its project, for every chat in one."""
    names = {p.id: p.name for p in eng.steering.projects()}
    return {cid: names[pid] for cid, pid in eng.steering.conversation_projects().items()
            if pid in names}


def find_project(eng: Engram, id_or_name: str) -> Project:
    """A project by its id, or by its name (any case), for the CLI."""
    wanted = id_or_name.strip()
    for project in eng.steering.projects():
        if project.id == wanted or project.name.casefold() == wanted.casefold():
            return project
    raise NotFoundError(f"No project named or with id “{wanted}” (see engram projects list)")


def _checked_name(eng: Engram, name: str, keep: str | None = None) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise EngramError("A project needs a name")
    for project in eng.steering.projects():
        if project.id != keep and project.name.casefold() == clean.casefold():
            raise EngramError(f"There is already a project named “{project.name}”")
    return clean


def _memories_said(ids: list[str]) -> str:
    if not ids:
        return ""
    return ", with its memory" if len(ids) == 1 else f", with {len(ids)} memories"
