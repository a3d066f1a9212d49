"""Turning stored messages into episodic memories, at two granularities.

- **turn**: one memory per visible user/assistant message ("Speaker: text", its role in
  `meta.role`). Turns are what retrieval puts into a prompt: they are small, so many fit in
  a budget.
- **window**: four consecutive turns (two before the anchor, the anchor, one after), written
  when the turn after the anchor arrives. Windows are indexed like any memory, but retrieval
  only uses them as a signal for their anchor turn: a question often matches the exchange
  around a turn better than the turn alone ("Yes, it was amazing!" means little by itself).
  Tuned on the LoCoMo dev split: adding window signals raised recall within 1,000 tokens from
  0.76 to 0.88 (see README, "Memory").

- **passage**: a message longer than the embedding model's window is also remembered as
  passages that fit it (core.memory.passages), each with its own vector and full-text row and
  the message as its source (`meta.turn` is the message's turn memory, `meta.part` its place).
  Retrieval puts passages into the prompt in place of a long turn.

Session-level chunks were not kept: MiniLM reads only the first 256 word pieces of a text, and
HEMA's per-conversation summaries cover that level once a model is loaded.

Importers and the chat turn call only `remember_messages`, so they do not change when the
granularities do. Incognito conversations get no memories.
"""
from __future__ import annotations

from collections.abc import Sequence

from core.base.ids import new_id
from core.memory.passages import is_long, split_passages
from core.store.conversations import Message
from core.store.memories import MemoryStore, NewMemory, SourceRef

WINDOW_BEFORE = 2      # turns before the anchor in a window
WINDOW_AFTER = 1       # turns after it (the window is written when the last one arrives)


def speaker_of(msg: Message) -> str:
    """The name shown before a turn: an archive's speaker name when it has one."""
    name = msg.meta.get("speaker") if isinstance(msg.meta, dict) else None
    if isinstance(name, str) and name.strip():
        return name.strip()[:60]
    return "User" if msg.role == "user" else "Assistant"


def turn_text(msg: Message) -> str:
    return f"{speaker_of(msg)}: {msg.text.strip()}"


def is_rememberable(msg: Message) -> bool:
    return (not msg.hidden and msg.role in ("user", "assistant") and bool(msg.text.strip())
            and not msg.meta.get("purged"))


def remember_messages(store: MemoryStore, messages: Sequence[Message], *, actor: str,
                      import_id: str | None = None, passages: bool = True) -> list[str]:
    """Create episodic memories for visible user/assistant messages. Returns the new ids
    (turns, passages and windows).

    Call inside the caller's transaction when the messages are written in one, so that the
    messages and their memories commit together. Messages of incognito conversations are
    skipped. A message's predecessors are looked up among `messages` first, then in the
    database, so a whole imported conversation needs no extra queries. The memories are
    written together (`MemoryStore.create_many`), in the order a turn-by-turn pass meets them.
    `passages=False` writes none (benchmarks measure what they add).
    """
    batch = {m.id: m for m in messages}
    incognito: dict[str, bool] = {}
    turn_of: dict[str, str] = {}           # message id -> its turn memory id (this batch)
    items: list[NewMemory] = []
    texts: dict[str, str] = {}             # a turn appears in up to four windows: once each
    sources: dict[str, SourceRef] = {}

    def text_of(m: Message) -> str:
        if m.id not in texts:
            texts[m.id] = turn_text(m)
        return texts[m.id]

    def source_of(m: Message) -> SourceRef:
        if m.id not in sources:
            sources[m.id] = _source(m, import_id)
        return sources[m.id]

    for msg in messages:
        if msg.conversation_id not in incognito:
            incognito[msg.conversation_id] = store.conversations.is_incognito(
                msg.conversation_id)
        if incognito[msg.conversation_id] or not is_rememberable(msg):
            continue
        pieces = split_passages(msg.text) if passages and is_long(msg.text) else []
        said: dict = {"message_id": msg.id, "role": msg.role}
        if isinstance(msg.meta, dict) and msg.meta.get("author") == "person":
            said["author"] = "person"     # a named participant, not an AI (LoCoMo)
        turn = NewMemory(
            "episodic", text_of(msg), scope="global", conversation_id=msg.conversation_id,
            occurred_at=msg.created_at, granularity="turn", sources=(source_of(msg),),
            meta={**said, "passages": len(pieces)} if pieces else said, id=new_id())
        items.append(turn)
        turn_of[msg.id] = turn.id
        items += [NewMemory(
            "episodic", f"{speaker_of(msg)}: {piece}", scope="global",
            conversation_id=msg.conversation_id, occurred_at=msg.created_at,
            granularity="passage", sources=(source_of(msg),),
            meta={**said, "turn": turn.id, "part": i, "parts": len(pieces)},
            id=new_id()) for i, piece in enumerate(pieces)]
        window = _window_for(store, msg, batch)
        if window is None:
            continue
        anchor = window[-1 - WINDOW_AFTER]
        anchor_memory = turn_of.get(anchor.id) or store.turn_of_message(anchor.id)
        if anchor_memory is None:
            continue
        items.append(NewMemory(
            "episodic", "\n".join(text_of(m) for m in window), scope="global",
            conversation_id=msg.conversation_id, occurred_at=anchor.created_at,
            granularity="window", sources=tuple(source_of(m) for m in window),
            meta={"anchor": anchor_memory}, id=new_id()))
    return store.create_many(items, actor=actor)


def said_by_assistant(mem) -> bool:
    """An episodic turn (or passage) of the assistant's (older turns have no `meta.role`:
    their label). A participant an importer marked as a person (`author: person`, e.g. the
    second friend of a LoCoMo dialogue) is not an assistant, whatever their role."""
    if mem.kind != "episodic" or mem.granularity not in ("turn", "passage"):
        return False
    if mem.meta.get("author") == "person":
        return False
    role = mem.meta.get("role")
    return role == "assistant" if role else mem.text.startswith("Assistant: ")


def _source(msg: Message, import_id: str | None) -> SourceRef:
    return SourceRef(message_id=msg.id, conversation_id=msg.conversation_id,
                     import_id=import_id or msg.import_id, source_ref=msg.source_id)


def _window_for(store: MemoryStore, msg: Message, batch: dict[str, Message]) -> list[Message] | None:
    """The turns ending at `msg` (oldest first), or None when there are fewer than the anchor
    needs (the start of a conversation)."""
    chain = [msg]
    current = msg
    want = WINDOW_BEFORE + 1 + WINDOW_AFTER
    while len(chain) < want and current.parent_id:
        parent = batch.get(current.parent_id) or store.conversations.find_message(
            current.parent_id)
        if parent is None:
            break
        current = parent
        if is_rememberable(parent):
            chain.append(parent)
    if len(chain) < WINDOW_AFTER + 1:
        return None
    chain.reverse()   # near the start of a conversation the window is simply shorter
    return chain

