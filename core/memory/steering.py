"""What a person's steering does to retrieval (issue 15), kept apart from the ranking itself.

- "Not relevant" on a memory used in an answer: for questions like that one (the same
  content words, mostly), the memory ranks far lower. Other questions are not affected.
- An assistant's own words rank below what the person said: "I live in Amsterdam" invented
  by a model is kept as the assistant's turn, never as the person's, and weighs less.
- "Always include" (not "pinned", which only keeps a memory from fading) puts a memory into
  every prompt its scope allows.
- A project's memories (`project_id`) are read only in that project's conversations;
  memories without a project, everywhere.

core.memory.retrieval calls `adjust` on its scored candidates and `always_included` for the
memories it puts first.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from core.memory.episodic import said_by_assistant
from core.store.memories import Memory, MemoryStore
from core.store.memory_views import MemoryViews
from core.store.steering import SteeringStore

NOT_RELEVANT_FACTOR = 0.2     # a memory marked "not relevant" for a similar question
ASSISTANT_FACTOR = 0.7        # the assistant's own turns, against the person's
SIMILAR_QUESTION = 0.5        # share of the question's content words the earlier one had

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_WORDS = """a an the and or but is are was were be been am do does did i you he she
it we they me my your his her our their what which who whom whose when where why how of to in
on at for from by with about as that this these those can could would should will shall may
might must not no yes so if then than there here just also very"""
_STOP = frozenset(_STOP_WORDS.split())


def question_words(text: str) -> set[str]:
    return {w for w in (m.group(0).lower() for m in _WORD.finditer(text or ""))
            if w not in _STOP and len(w) > 1}


def similar_question(query: str, earlier: str) -> bool:
    """Whether `query` asks what `earlier` asked (most of its content words are there)."""
    q, e = question_words(query), question_words(earlier)
    if not q or not e:
        return False
    return len(q & e) / min(len(q), len(e)) >= SIMILAR_QUESTION


def factors(store: MemoryStore, memories: Sequence[Memory], query: str) -> dict[str, float]:
    """memory id -> the factor its score is multiplied by (only those below 1)."""
    out: dict[str, float] = {}
    model_turns = [m for m in memories if said_by_assistant(m)]
    people = MemoryViews(store.db).person_authored(
        [m.meta["message_id"] for m in model_turns if m.meta.get("message_id")])
    for mem in model_turns:      # a second person in an imported dialogue is not a model
        if mem.meta.get("message_id") not in people:
            out[mem.id] = ASSISTANT_FACTOR
    marked = SteeringStore(store.db).not_relevant_questions([m.id for m in memories])
    for mid, questions in marked.items():
        if any(similar_question(query, q) for q in questions):
            out[mid] = out.get(mid, 1.0) * NOT_RELEVANT_FACTOR
    return out


def project_filter(store: MemoryStore, conversation_id: str | None
                   ) -> Callable[[Memory], bool]:
    """Which memories a conversation may read as far as projects go: global ones (no
    project) everywhere, a project's only in that project's conversations."""
    project = SteeringStore(store.db).project_of(conversation_id)
    return lambda mem: not mem.project_id or mem.project_id == project


def always_included(store: MemoryStore, kinds: Sequence[str]) -> list[Memory]:
    """Active memories the person chose to send with every message."""
    return MemoryViews(store.db).always_included(kinds)
