"""Projects a person makes and moves chats into (core.services.project_ops): what was said in
a project's chat is read in that project's chats and never outside it, after moving a chat
in, out, to another project and after deleting the project; nothing is lost on the way."""
from __future__ import annotations

import pytest

from core.base.errors import EngramError, NotFoundError
from core.memory.retrieval import Retriever
from core.services import memory_ops, project_ops
from core.store.memories import SourceRef
from tests.memory.test_retrieval import chat

QUESTION = "When is the deadline for chapter three?"
SECRET = "chapter three"


def _seen(engram, conversation_id: str) -> str:
    engram.index_sync.sync()
    r = Retriever(engram.memories, engram.index, engram.embedder)
    return " ".join(c.memory.text for c in r.retrieve(QUESTION,
                                                      conversation_id=conversation_id).ranked)


@pytest.fixture
def chats(engram, say):
    """A thesis chat (in no project yet), a chat that will be in the project, one outside."""
    thesis = engram.conversations.create("thesis")
    chat(say, thesis.id, ["The deadline for chapter three is the 14th of March", "Noted",
                          "My supervisor is called Marit", "Good to know"])
    groceries = engram.conversations.create("groceries")
    chat(say, groceries.id, ["The deadline for the rent is Friday", "Ok"])
    project, _ = project_ops.create_project(engram, "Thesis")
    inside = engram.conversations.create("more thesis")
    project_ops.move_conversation(engram, inside.id, project.id)
    outside = engram.conversations.create("elsewhere")
    return thesis, project, inside, outside


def test_moving_a_chat_in_keeps_its_memories_inside_and_out_brings_them_back(
        engram, chats) -> None:
    thesis, project, inside, outside = chats
    assert SECRET in _seen(engram, outside.id)               # before: a global memory
    changes = project_ops.move_conversation(engram, thesis.id, project.id)
    assert changes.conversation_list and changes.conversations == (thesis.id,)
    assert len(changes.memories) >= 4 and "Thesis" in changes.description
    assert SECRET not in _seen(engram, outside.id)           # never outside the project
    assert "rent" in _seen(engram, outside.id)               # the global ones still are
    inside_sees = _seen(engram, inside.id)
    assert SECRET in inside_sees and "rent" in inside_sees   # project + global
    assert SECRET in _seen(engram, thesis.id)                # and in the chat itself

    back = project_ops.move_conversation(engram, thesis.id, None)
    assert set(back.memories) == set(changes.memories)       # exactly those come back
    assert SECRET in _seen(engram, outside.id)
    assert all(m.project_id is None for m in engram.memories.list(
        conversation_id=thesis.id, limit=None))


def test_a_move_is_audited_and_undo_does_not_split_chat_from_memories(engram, chats) -> None:
    thesis, project, _inside, outside = chats
    mem = engram.memories.list(conversation_id=thesis.id, limit=None)[0]
    memory_ops.forget(engram, [mem.id])                     # an earlier, undoable action
    changes = project_ops.move_conversation(engram, thesis.id, project.id)
    events = [e for e in engram.memories.events(changes.memories[0])
              if e.event == "rescoped"]
    assert events[-1].new_value == {"project_id": project.id}
    assert events[-1].old_value == {"project_id": None} and "Thesis" in events[-1].note
    # undo takes back the forget, not half of the move
    assert changes.undo == "forget a memory"
    memory_ops.undo(engram)
    assert engram.steering.project_of(thesis.id) == project.id
    assert SECRET not in _seen(engram, outside.id)


def test_always_include_and_facts_known_elsewhere_stay_global(engram, say, chats) -> None:
    from core.memory.steering import project_filter

    thesis, project, _inside, outside = chats
    rule = next(m for m in engram.memories.list(conversation_id=thesis.id, limit=None)
                if "Marit" in m.text)
    memory_ops.always_include(engram, [rule.id])
    both = engram.memories.create(        # a fact learned in this chat and in one outside
        "fact", "The user's supervisor Marit answers on Mondays", actor="assistant",
        conversation_id=thesis.id, sources=[SourceRef(conversation_id=thesis.id),
                                            SourceRef(conversation_id=outside.id)])
    project_ops.move_conversation(engram, thesis.id, project.id)
    assert engram.memories.get(rule.id).project_id is None
    assert engram.memories.get(both.id).project_id is None
    assert project_filter(engram.memories, outside.id)(engram.memories.get(rule.id))
    # a later turn in the project's chat does not sweep it in either
    say(thesis.id, "user", "Chapter three needs two more figures")
    engram.steering.scope_conversation_memories(thesis.id, project.id)
    assert engram.memories.get(rule.id).project_id is None
    newest = engram.memories.list(conversation_id=thesis.id, limit=None)
    assert any("figures" in m.text and m.project_id == project.id for m in newest)


def test_moving_between_projects_and_deleting_a_project_loses_nothing(engram, chats) -> None:
    thesis, project, inside, outside = chats
    project_ops.move_conversation(engram, thesis.id, project.id)
    other, _ = project_ops.create_project(engram, "Writing")
    project_ops.move_conversation(engram, thesis.id, other.id)
    assert SECRET not in _seen(engram, inside.id)            # the old project no longer
    later = engram.conversations.create("writing 2")
    project_ops.move_conversation(engram, later.id, other.id)
    assert SECRET in _seen(engram, later.id)
    before = {m.id: m.text for m in engram.memories.list(limit=None)}
    changes = project_ops.delete_project(engram, other.id)
    assert set(changes.conversations) == {thesis.id, later.id}
    assert "2 chats" in changes.description
    assert [p.name for p in engram.steering.projects()] == ["Thesis"]
    assert engram.steering.project_of(thesis.id) is None
    assert {m.id: m.text for m in engram.memories.list(limit=None)} == before
    assert SECRET in _seen(engram, outside.id)
    assert engram.conversations.get(thesis.id).title == "thesis"


def test_names_are_checked(engram) -> None:
    project, changes = project_ops.create_project(engram, "  Garden  plans ")
    assert project.name == "Garden plans" and changes.conversation_list
    with pytest.raises(EngramError, match="needs a name"):
        project_ops.create_project(engram, "   ")
    with pytest.raises(EngramError, match="already a project named"):
        project_ops.create_project(engram, "garden PLANS")
    other, _ = project_ops.create_project(engram, "Work")
    with pytest.raises(EngramError, match="already a project named"):
        project_ops.rename_project(engram, other.id, "Garden plans")
    assert "Allotment" in project_ops.rename_project(engram, project.id, "Allotment").description
    assert engram.steering.project(project.id).name == "Allotment"
    with pytest.raises(NotFoundError):
        project_ops.move_conversation(engram, "no-such-chat", project.id)
    conv = engram.conversations.create("x")
    with pytest.raises(NotFoundError):
        project_ops.move_conversation(engram, conv.id, "no-such-project")
    assert engram.steering.project_of(conv.id) is None
    assert "already in no project" in project_ops.move_conversation(
        engram, conv.id, None).description
