"""What a person does to conversations, each returning a `Changes` record (see
core.services.changes): start one, rename, pin, switch the branch on screen, delete, purge.
A chat turn is core.services.chat; it titles a new conversation from its first message."""
from __future__ import annotations

from core.services.changes import Changes
from core.services.engine import Engram
from core.services.memory_ops import undo_description
from core.services.purge import purge_conversation
from core.store.conversations import Conversation


def create(eng: Engram, title: str = "", *, incognito: bool = False) -> tuple[Conversation,
                                                                             Changes]:
    conv = eng.conversations.create(title, incognito=incognito)
    return conv, Changes("new conversation", conversations=(conv.id,), conversation_list=True)


def rename(eng: Engram, conversation_id: str, title: str) -> Changes:
    eng.conversations.rename(conversation_id, title.strip())
    return Changes("rename", conversations=(conversation_id,), conversation_list=True)


def pin(eng: Engram, conversation_id: str, pinned: bool = True) -> Changes:
    eng.conversations.update(conversation_id, pinned=pinned)
    return Changes("pin" if pinned else "unpin", conversations=(conversation_id,),
                   conversation_list=True)


def switch_branch(eng: Engram, message_id: str) -> Changes:
    """Show the branch through `message_id` (an edit or a regeneration) down to its leaf."""
    conversation_id = eng.conversations.get_message(message_id).conversation_id
    eng.conversations.switch_branch(message_id)
    return Changes("switch branch", conversations=(conversation_id,))


def delete(eng: Engram, conversation_id: str) -> Changes:
    """The conversation and its messages; the memories made from it stay (forget or purge
    them in the inspector)."""
    eng.conversations.delete(conversation_id)
    return Changes("delete a conversation", conversations=(conversation_id,),
                   conversation_list=True, many_memories=True)


def purge(eng: Engram, conversation_id: str) -> Changes:
    """The conversation, its messages and every memory made from it, erased for good."""
    report = purge_conversation(eng, conversation_id)
    return Changes("purge a conversation", memories=tuple(report.memories),
                   conversations=(conversation_id,), conversation_list=True, vectors=True,
                   undo=undo_description(eng), detail=report)
