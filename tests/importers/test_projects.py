"""Issue 15: projects from exports are memory scopes of their own. A Claude conversation's
`project` and a ChatGPT project's `g-p-` gizmo id become projects; their memories are read
only in their own project's conversations, global ones everywhere."""
from __future__ import annotations

import json

from core.importers.api import run_import
from core.importers.projects import project_of
from core.memory.retrieval import Retriever


def _claude(uuid: str, name: str, text: str, project: dict | None) -> dict:
    conv = {"uuid": uuid, "name": name, "created_at": "2024-10-18T05:30:10Z",
            "updated_at": "2024-10-18T05:31:10Z",
            "chat_messages": [
                {"uuid": uuid + "-1", "text": text, "sender": "human",
                 "created_at": "2024-10-18T05:30:20Z"},
                {"uuid": uuid + "-2", "text": "Noted.", "sender": "assistant",
                 "created_at": "2024-10-18T05:30:30Z"}]}
    if project is not None:
        conv["project"] = project
    return conv


def test_a_claude_project_is_a_memory_scope(engram, tmp_path) -> None:
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps([
        _claude("c-1", "Thesis plan", "The thesis deadline for chapter three is in March",
                {"uuid": "p-thesis", "name": "Thesis"}),
        _claude("c-2", "Groceries", "Buy oat milk and the deadline for rent is Friday", None),
    ]), "utf-8")
    report = run_import(engram, export)
    [project] = engram.steering.projects()
    assert (project.name, project.source, project.source_id) == ("Thesis", "claude", "p-thesis")
    thesis = engram.conversations.find_by_source("claude", "c-1")
    groceries = engram.conversations.find_by_source("claude", "c-2")
    assert engram.steering.project_of(thesis.id) == project.id
    assert engram.steering.project_of(groceries.id) is None
    scoped = [m for m in engram.memories.list(limit=None) if m.project_id == project.id]
    assert scoped and all(m.conversation_id == thesis.id for m in scoped)
    assert report.status == "completed"

    r = Retriever(engram.memories, engram.index, engram.embedder)
    inside = engram.conversations.create("more thesis")
    engram.steering.set_conversation_project(inside.id, project.id)
    outside = engram.conversations.create("elsewhere")
    seen_in = " ".join(c.memory.text for c in r.retrieve("deadline", conversation_id=inside.id)
                       .ranked)
    seen_out = " ".join(c.memory.text for c in r.retrieve("deadline",
                                                          conversation_id=outside.id).ranked)
    assert "chapter three" in seen_in and "oat milk" in seen_in       # project + global
    assert "chapter three" not in seen_out and "oat milk" in seen_out  # global only
    # importing again makes no second project
    run_import(engram, export)
    assert len(engram.steering.projects()) == 1


def test_chatgpt_projects_are_g_p_gizmos_not_custom_gpts() -> None:
    assert project_of("chatgpt", {"gizmo_id": "g-p-67ab12cd", "gizmo_type": "snorlax"})[0] \
        == "g-p-67ab12cd"
    assert project_of("chatgpt", {"gizmo_id": "g-abc123"}) is None          # a custom GPT
    assert project_of("chatgpt", {}) is None
    assert project_of("claude", {"project": {"id": "p1", "name": ""}})[1] == \
        "Claude project p1"


def test_a_chat_in_a_project_writes_into_its_scope(engram) -> None:
    from core.services.chat import ChatService
    from tests.memory.conftest import default_script
    from tests.memory.fake_llm import ScriptedFakeLLM

    fake_llm = ScriptedFakeLLM(default_script)        # a FAKE model: the flow, not the words

    project = engram.steering.create_project("Garden")
    conv = engram.conversations.create("beds")
    engram.steering.set_conversation_project(conv.id, project.id)
    ChatService(engram, fake_llm, sync_index=False).send(conv.id, "The tomatoes go in bed 3")
    mems = engram.memories.list(conversation_id=conv.id, limit=None)
    assert mems and all(m.project_id == project.id for m in mems)
