"""Building the prompt for one chat turn, within the model's context.

Order (stable parts first, so the runtime can reuse its KV cache across turns):
  system prompt, user portrait, global summary  -> one system message
  [retrieval mode only] this conversation's HEMA summary (changes every turn)
  the conversation's history (all of it, or the newest turns that fit)
  retrieved memories, right before the new user message, inside that last message.

Full context first (Convomem): while everything this conversation may read (its history and
every memory in scope) fits `full_context_tokens`, it all goes in and retrieval is skipped.
Past that, the newest turns that fit half that budget stay verbatim and retrieval brings back
the rest.
An incognito conversation reads no memory at all.

For a base model (core.runtime.model_kind) the same parts are laid out as a completion frame
instead (core.memory.base_frame): the frame's worked example replaces the system prompt, and
it always gets the few most relevant memories (retrieval, a small budget), never everything:
a small base model uses a few memories well and many badly.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.base import clock
from core.base.llm import ChatMessage, approx_tokens
from core.base.prompts import prompt
from core.base.settings import MemorySettings
from core.memory import steering
from core.memory.episodic import said_by_assistant
from core.memory.render import TokenCounter, render_memory
from core.memory.retrieval import (
    RETRIEVABLE_KINDS,
    Candidate,
    RetrievalResult,
    Retriever,
    content_words,
)
from core.store.conversations import Conversation, Message
from core.store.memories import Memory, MemoryStore

FULL_POOL_LIMIT = 400     # more memories than this never fit a prompt: go to retrieval
MEMORY_HEADER = "Things you remember from earlier conversations (may be relevant):"
# A base model reads a few memories well and many badly (measured on the starter model):
# its prompt holds at most this much of them.
BASE_FULL_CONTEXT_TOKENS = 600
BASE_RETRIEVAL_TOKENS = 150


@dataclass
class AssembledPrompt:
    messages: list[ChatMessage]
    mode: str                                   # full / retrieval / incognito / off
    history_ids: list[str] = field(default_factory=list)
    retrieval: RetrievalResult | None = None
    context_memories: list[Memory] = field(default_factory=list)  # portrait, summaries
    sections: dict[str, int] = field(default_factory=dict)        # tokens per part
    # the parts, for a layout other than chat messages (core.memory.base_frame)
    system: str = ""                            # the opening, without portrait and summaries
    history: list[Message] = field(default_factory=list)
    user_text: str = ""

    @property
    def used(self) -> list[Candidate]:
        return self.retrieval.selected if self.retrieval else []


class PromptAssembler:
    def __init__(self, store: MemoryStore, retriever: Retriever | None, settings: MemorySettings,
                 *, count_tokens: TokenCounter, context_size: int, reply_tokens: int = 512,
                 system_prompt: str | None = None, kind: str = "instruct") -> None:
        self.store = store
        self.retriever = retriever
        self.settings = settings
        self.count = count_tokens
        self.context_size = context_size
        self.reply_tokens = reply_tokens
        self.kind = kind
        if kind == "base":   # the frame's own opening takes the system prompt's place
            self.system_prompt = prompt("chat", "base")
            self.full_context_tokens = min(settings.full_context_tokens,
                                           BASE_FULL_CONTEXT_TOKENS)
            self.retrieval_budget = min(settings.retrieval_budget_tokens, BASE_RETRIEVAL_TOKENS)
        else:
            self.system_prompt = (system_prompt if system_prompt is not None
                                  else prompt("system", "instruct"))
            self.full_context_tokens = settings.full_context_tokens
            self.retrieval_budget = settings.retrieval_budget_tokens

    def assemble(self, conversation: Conversation, history: Sequence[Message],
                 user_text: str, *, user_message_id: str | None = None,
                 other_branches: set[str] | frozenset[str] = frozenset()) -> AssembledPrompt:
        """`other_branches`: message ids of this conversation off the current path (an
        answer being regenerated, a message being edited): never brought back as memory."""
        history = [m for m in history if m.role in ("user", "assistant") and not m.hidden
                   and m.text.strip()]
        # the memory switch (MemorySettings.paused_until / pause_reading) may stop reading
        reads_memory = self.settings.reads(clock.now()) and not conversation.incognito
        mode = "incognito" if conversation.incognito else ("full" if reads_memory else "off")
        context: list[Memory] = []
        system = self.system_prompt
        if reads_memory:
            portrait = self._latest("portrait", "overall")
            summary = self._latest("summary", "global")
            if portrait:
                system += f"\n\nWhat you know about the person:\n{portrait.text}"
                context.append(portrait)
            # a small model wrote its portrait and its global summary alike: one is enough
            if summary and not (portrait and _said(summary.text) == _said(portrait.text)):
                system += f"\n\nSummary of past events:\n{summary.text}"
                context.append(summary)
        sections = {"system": self.count(system), "user": self.count(user_text)}
        available = (self.context_size - self.reply_tokens - sections["system"]
                     - sections["user"] - 16)
        history_tokens = [self.count(m.text) + 4 for m in history]
        total = sum(history_tokens)
        full_limit = min(self.full_context_tokens, max(0, available))
        in_prompt = ({m.id for m in history} | set(other_branches)
                     | ({user_message_id} if user_message_id else set()))
        # a base model always gets the few most relevant memories, never everything
        pool = (self._everything(conversation.id, in_prompt, context)
                if reads_memory and self.kind != "base" else None)
        retrieval = None
        if not reads_memory:
            kept = _newest_that_fit(history, history_tokens, max(0, available))
        elif pool is not None and total + sum(c.cost for c in pool) <= full_limit:
            kept = list(history)
            retrieval = RetrievalResult(pool, pool, budget_tokens=full_limit,
                                        used_tokens=sum(c.cost for c in pool))
        else:
            mode = "retrieval"
            compact = self._conversation_summary(conversation.id)
            if compact:
                system += f"\n\nThis conversation so far, in short:\n{compact.text}"
                context.append(compact)
                available -= self.count(compact.text) + 8
            recent_budget = min(self.full_context_tokens // 2,
                                max(0, available - self.retrieval_budget))
            kept = _newest_that_fit(history, history_tokens, recent_budget)
        sections["history"] = sum(self.count(m.text) + 4 for m in kept)
        available -= sections["history"]
        if mode == "retrieval" and self.retriever is not None:
            budget = max(0, min(self.retrieval_budget, available))
            retrieval = self.retriever.retrieve(
                user_text, conversation_id=conversation.id, budget_tokens=budget,
                exclude_message_ids={m.id for m in kept} | set(other_branches) | (
                    {user_message_id} if user_message_id else set()),
                exclude_memory_ids={m.id for m in context}, count_tokens=self.count,
                keep=self._keeper(user_text))
        final_user = user_text
        if retrieval and retrieval.selected:
            block = "\n".join(f"- {c.text}" for c in _chronological(retrieval.selected))
            final_user = f"{MEMORY_HEADER}\n{block}\n\n{user_text}"
            sections["memories"] = retrieval.used_tokens
        messages = [ChatMessage("system", system)]
        messages += [ChatMessage(m.role, m.text) for m in kept]
        messages.append(ChatMessage("user", final_user))
        return AssembledPrompt(messages, mode, [m.id for m in kept], retrieval, context, sections,
                               system=self.system_prompt, history=kept, user_text=user_text)

    def _everything(self, conversation_id: str, history_ids: set[str],
                    context: list[Memory]) -> list[Candidate] | None:
        """Every memory this conversation may read, "always include" ones first, when there
        are few enough to consider putting them all in (None otherwise)."""
        if self.store.count(kinds=RETRIEVABLE_KINDS) > FULL_POOL_LIMIT:
            return None
        mems = self.store.list(kinds=RETRIEVABLE_KINDS, limit=FULL_POOL_LIMIT,
                               order="created_at")
        skip = {m.id for m in context}
        in_scope = steering.project_filter(self.store, conversation_id)   # projects
        seen: set[str] = set()
        out = []
        for mem in mems:
            key = " ".join(mem.text.lower().split())
            if key in seen:            # the same words said again add nothing
                continue
            seen.add(key)
            own_summary = (mem.kind in ("compact", "summary")
                           and mem.conversation_id == conversation_id)
            # whole messages here: a long message's passages would repeat it
            if (mem.id in skip or own_summary or mem.granularity == "passage"
                    or not Retriever.visible(mem, conversation_id) or not in_scope(mem)
                    or mem.meta.get("message_id") in history_ids or not self._usable(mem)):
                continue
            text = render_memory(mem)   # estimated cost: up to 400 model counts is too slow
            out.append(Candidate(mem, 1.0, "always included" if mem.always_include
                                 else "full context", {}, text, approx_tokens(text)))
        out.sort(key=lambda c: not c.memory.always_include)
        return out

    def _keeper(self, user_text: str):
        """What retrieval may bring for this message: never the words of the message itself
        (said again in another chat, they add nothing), and for a base model only what
        `_usable` allows."""
        same = _said(user_text)

        def keep(mem: Memory) -> bool:
            return _said(mem.text.partition(": ")[2] or mem.text) != same and self._usable(mem)
        return keep

    def _usable(self, mem: Memory) -> bool:
        """What a base model is shown as memory: the person's own words, as the frame's
        example shows them. Not its own earlier replies (it repeats their mistakes: a wrong
        name it once said came back in the next chat), not the person's bare questions ("What
        is my dog called?" four times over crowded out the answer), and not facts, which
        still lead retrieval to the turn they came from (measured on the starter model, 24
        questions: the person's turns alone 19 right, turns and facts 14, facts alone 7)."""
        if self.kind != "base":
            return True
        return (mem.kind == "episodic" and not said_by_assistant(mem)
                and not is_bare_question(mem) and not is_small_talk(mem)) or mem.always_include

    def _latest(self, kind: str, granularity: str) -> Memory | None:
        found = [m for m in self.store.list(kinds=[kind], scope="global", limit=20)
                 if m.granularity == granularity]
        return found[0] if found else None

    def _conversation_summary(self, conversation_id: str) -> Memory | None:
        found = self.store.list(kinds=["compact"], conversation_id=conversation_id, limit=5)
        return found[0] if found else None


# Words of greetings and chat filler: a turn made of them says nothing about the person.
_FILLER = frozenset("""hi hello hey hiya yo thanks thank ok okay cool bro lol haha yes yeah
no nope sure great nice please again wow awesome bye good morning evening
night""".split())  # noqa: SIM905 - a word list
# The start of a request to the assistant ("tell me a story", "Turn this into a bash command").
_REQUEST = re.compile(r"^(?:please\s+)?(?:tell me|give me|show me|write|turn this|translate|"
                      r"summari[sz]e|explain|generate|can you|could you|would you)\b",
                      re.IGNORECASE)


def _said(text: str) -> str:
    """Text as compared for "the same words": case, spacing and the final stop ignored."""
    return " ".join(text.lower().split()).rstrip(".!?")


def is_small_talk(mem: Memory) -> bool:
    """A turn that tells nothing about the person: a greeting or filler ("hi there", "so cool
    bro") or a short request to the assistant ("tell me a story"). An imported archive is
    full of them, and they are close in meaning to any vague message; a base model shown them
    as memories of the person repeats them."""
    if mem.kind != "episodic" or mem.granularity != "turn":
        return False
    said = (mem.text.partition(": ")[2] or mem.text).strip()
    if len([w for w in content_words(said) if w not in _FILLER]) < 2:
        return True
    return len(said.split()) <= 12 and bool(_REQUEST.match(said))


def is_bare_question(mem: Memory) -> bool:
    """A short turn that only asks something ("User: What is my dog called?")."""
    if mem.kind != "episodic" or mem.granularity != "turn":
        return False
    said = mem.text.partition(": ")[2] or mem.text
    return said.rstrip().endswith("?") and len(said.split()) <= 12 and said.count(".") == 0


def _newest_that_fit(history: list[Message], costs: list[int], budget: int) -> list[Message]:
    kept: list[Message] = []
    used = 0
    for msg, cost in zip(reversed(history), reversed(costs)):
        if used + cost > budget:
            break
        kept.append(msg)
        used += cost
    kept.reverse()
    return kept


def _chronological(cands: list[Candidate]) -> list[Candidate]:
    """Oldest first; a message's passages in their order."""
    return sorted(cands, key=lambda c: (c.memory.occurred_at or c.memory.created_at,
                                        c.memory.meta.get("part", 0)))
