"""What a person does to conversations, each returning a `Changes` record (see
core.services.changes): start one, rename, pin, switch the branch on screen, give it its own
system prompt, delete a message, delete, purge, discard an empty one; and one conversation
as Markdown. A chat turn is core.services.chat; it titles a new conversation from its first
message."""
from __future__ import annotations

from pathlib import Path

from core.base import clock
from core.base.atomic import write_text_atomic
from core.base.errors import EngramError
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


def set_system_prompt(eng: Engram, conversation_id: str, text: str) -> Changes:
    """This chat's own instructions for the model ("" = the one for every chat, Settings)."""
    conv = eng.conversations.get(conversation_id)
    meta = {k: v for k, v in conv.meta.items() if k != "system_prompt"}
    if text.strip():
        meta["system_prompt"] = text.strip()
    eng.conversations.update(conversation_id, meta=meta)
    return Changes("chat instructions", conversations=(conversation_id,))


def delete_message(eng: Engram, message_id: str) -> Changes:
    """The message leaves the chat and its text is erased; the replies after it stay. The
    memories made from it stay too (forget or purge them in the inspector)."""
    msg = eng.conversations.get_message(message_id)
    eng.conversations.delete_message_text(message_id)
    return Changes("delete a message", conversations=(msg.conversation_id,))


def discard_if_empty(eng: Engram, conversation_id: str) -> Changes | None:
    """An incognito chat left without a message is removed (nothing in it to keep)."""
    conv = eng.conversations.find(conversation_id)
    if conv is None or not conv.incognito or eng.conversations.count_messages(conversation_id):
        return None
    return delete(eng, conversation_id)


def as_markdown(eng: Engram, conversation_id: str) -> str:
    """The chat on screen (its visible branch) as Markdown, for reading or sharing."""
    conv = eng.conversations.get(conversation_id)
    lines = [f"# {conv.title or 'Untitled chat'}", "",
             (f"_Exported from Engram on {clock.to_iso(clock.now())[:10]}; started "
             f"{clock.to_iso(conv.created_at)[:10]}._"), ""]
    for m in eng.conversations.thread(conversation_id):
        if m.hidden or m.role not in ("user", "assistant"):
            continue
        who = "You" if m.role == "user" else f"Assistant{f' ({m.model})' if m.model else ''}"
        lines += [f"**{who}** · {clock.to_iso(m.created_at)[:16].replace('T', ' ')}", "",
                  m.text.strip(), "", "---", ""]
    if lines[-2:] == ["---", ""]:
        del lines[-2:]
    return "\n".join(lines).rstrip() + "\n"


def export_markdown_file(eng: Engram, conversation_id: str, path: Path) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise EngramError(f"Cannot save to {path}: the folder {path.parent} does not exist")
    write_text_atomic(path, as_markdown(eng, conversation_id))
    return path
