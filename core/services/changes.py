"""`Changes`: what an operation changed, so that each panel decides what to reload.

Every operation a person starts (forget, merge, purge, a chat turn, an import, a rename)
returns one `Changes`, the way Anki's collection returns `OpChanges`; the desktop app's op
runner announces it once (ui.services.AppEvents.changed) and the CLI prints from it. Panels
never call each other to refresh, and never reload what the record says did not change.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Changes:
    description: str = ""                   # "forget 3 memories", in words for a person
    memories: tuple[str, ...] = ()          # ids of the memories changed
    many_memories: bool = False             # more than are worth naming (an import, a turn)
    conversations: tuple[str, ...] = ()     # conversations whose messages changed
    conversation_list: bool = False         # a conversation was added, renamed, pinned, deleted
    vectors: bool = False                   # the vector index must follow (an index sync)
    created: tuple[str, ...] = ()           # memories the operation made (a merge's result)
    undo: str | None = None                 # what `undo` would take back now ("": nothing;
                                            # None: this operation does not say)
    detail: Any = field(default=None, compare=False)   # e.g. the PurgeReport of a purge

    @classmethod
    def of_memories(cls, description: str, ids: Iterable[str], **kw: Any) -> Changes:
        return cls(description, memories=tuple(dict.fromkeys(ids)), vectors=True, **kw)

    def touches_memory(self, memory_id: str | None) -> bool:
        """Whether a panel showing this memory (or any memory, for None) should reload."""
        if self.many_memories:
            return True
        return bool(self.memories or self.created) if memory_id is None else (
            memory_id in self.memories or memory_id in self.created)

    def touches_conversation(self, conversation_id: str | None) -> bool:
        return conversation_id is not None and conversation_id in self.conversations

    @property
    def memories_changed(self) -> bool:
        return self.many_memories or bool(self.memories or self.created)

    def __add__(self, other: Changes) -> Changes:
        """Two records as one (e.g. a purge of a conversation and of its memories)."""
        return Changes(
            " and ".join(d for d in (self.description, other.description) if d),
            tuple(dict.fromkeys(self.memories + other.memories)),
            self.many_memories or other.many_memories,
            tuple(dict.fromkeys(self.conversations + other.conversations)),
            self.conversation_list or other.conversation_list,
            self.vectors or other.vectors, self.created + other.created,
            other.undo if other.undo is not None else self.undo,
            other.detail if other.detail is not None else self.detail)
