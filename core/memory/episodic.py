"""Turning stored messages into episodic memories (first version: one memory per turn).

The memory issue refines the granularity; importers and the chat turn call only
`remember_messages`, so they do not change when it does.
"""
from __future__ import annotations

from collections.abc import Sequence

from core.conversations import Message
from core.memory_store import MemoryStore, SourceRef


def remember_messages(store: MemoryStore, messages: Sequence[Message], *, actor: str,
                      import_id: str | None = None) -> list[str]:
    """Create episodic memories for visible user/assistant messages. Returns the new ids.

    Call inside the caller's transaction when the messages are written in one, so that the
    messages and their memories commit together.
    """
    created = []
    for msg in messages:
        if msg.hidden or msg.role not in ("user", "assistant") or not msg.text.strip():
            continue
        speaker = "User" if msg.role == "user" else "Assistant"
        mem = store.create(
            "episodic", f"{speaker}: {msg.text.strip()}", actor=actor,
            scope="global", conversation_id=msg.conversation_id, occurred_at=msg.created_at,
            granularity="turn",
            sources=[SourceRef(message_id=msg.id, conversation_id=msg.conversation_id,
                               import_id=import_id or msg.import_id, source_ref=msg.source_id)])
        created.append(mem.id)
    return created
