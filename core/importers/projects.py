"""Projects from an export: each becomes a memory scope of its own (issue 15).

A Claude conversation of a project carries `project` ({uuid, name}) or `project_uuid`
(core.importers.claude keeps it in the conversation's meta); a ChatGPT conversation of a
project carries a `gizmo_id` starting with "g-p-" (its `gizmo_type` is "snorlax"; a custom
GPT's id starts with "g-" alone and is not a project). Neither export names a ChatGPT
project, and Claude's `projects.json` is not read yet, so a project without a name in the
conversation is called by its source and id ("ChatGPT project g-p-1a2b…").

After an import, `assign_projects` creates each project once (by source and id), puts its
conversations in it and their memories in its scope: they are read only in that project's
conversations (core.memory.steering.project_filter); global memories are read everywhere.
"""
from __future__ import annotations

from typing import Any

from core.services.engine import Engram

SOURCE_NAMES = {"claude": "Claude", "chatgpt": "ChatGPT"}


def project_of(source: str, meta: dict[str, Any]) -> tuple[str, str] | None:
    """(archive project id, name) of a conversation, or None."""
    project = meta.get("project")
    if isinstance(project, dict) and project.get("id"):
        pid = str(project["id"])
        return pid, project.get("name") or f"{SOURCE_NAMES.get(source, source)} project " \
                                           f"{pid[:8]}"
    gizmo = meta.get("gizmo_id")
    if isinstance(gizmo, str) and (gizmo.startswith("g-p-") or meta.get("gizmo_type")
                                   == "snorlax"):
        return gizmo, f"ChatGPT project {gizmo[:12]}"
    return None


def assign_projects(eng: Engram, import_id: str) -> int:
    """Map one import's projects; returns how many conversations went into one."""
    placed = 0
    for cid, meta in eng.steering.conversations_of_import(import_id):
        conv = eng.conversations.find(cid)
        found = project_of(conv.source if conv else "", meta)
        if found is None:
            continue
        source_id, name = found
        project = eng.steering.create_project(name, source=conv.source if conv else "import",
                                              source_id=source_id)
        eng.steering.set_conversation_project(cid, project.id)
        eng.steering.scope_conversation_memories(cid, project.id)
        placed += 1
    return placed
