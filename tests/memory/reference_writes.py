"""The reference the batched writes are compared with: one `MemoryStore.create()` per memory,
as remember_messages and the importer wrote before they batched."""
from __future__ import annotations

from core.store.memories import MemoryStore


def one_create_per_item(self: MemoryStore, items, *, actor: str) -> list[str]:
    return [self.create(i.kind, i.text, actor=actor, scope=i.scope,
                        conversation_id=i.conversation_id, sources=i.sources, pinned=i.pinned,
                        strength=i.strength, occurred_at=i.occurred_at, subject=i.subject,
                        granularity=i.granularity, meta=i.meta, id=i.id,
                        created_at=i.created_at, note=i.note).id for i in items]
