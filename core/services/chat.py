"""The chat turn: one service that the desktop app and `engram chat` both call.

`ChatService.send` stores the user's message (and its episodic memory), decides between full
context and retrieval, assembles the prompt (chat messages for an instruct model, a completion
frame for a base model: core.memory.base_frame), streams the reply from an `LLM`, cuts it
where it starts to loop or to copy its prompt (core.memory.gates.ReplyGuard), stores the reply
with its retrieval trace (`retrievals` rows: memory, rank, score, why), strengthens the recalled
memories (MemoryBank) and queues the model-dependent follow-ups (HEMA summary, TiM thoughts) for
the background worker, so they never delay the answer. `regenerate` and `edit_and_resend` make
new branches through the message tree's parent links. A new conversation's first message
gives it its title.

The `TurnResult` is the one shape of a finished turn: the desktop app shows its messages and
trace as they are (no reading back from the database), the CLI prints them.

Thread use: call from one worker thread at a time; `should_stop` is polled at every token.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from core.base import clock
from core.base.errors import EngramError
from core.base.llm import LLM, GenerationParams, GenerationStats, approx_tokens
from core.base.progress import ShouldStop
from core.base.prompts import frame_text
from core.memory import base_frame
from core.memory.assembly import AssembledPrompt, PromptAssembler
from core.memory.episodic import remember_messages
from core.memory.gates import ECHO_RUN_WORDS, REPLY_ECHO_RUN_WORDS, ReplyGuard
from core.memory.generation import model_kind
from core.memory.retrieval import Retriever
from core.services.changes import Changes
from core.services.engine import Engram
from core.store.conversations import Conversation, Message
from core.store.db import transaction
from core.store.jobs import HEMA_UPDATE, INDEX_SYNC, POST_THINK
from core.store.retrievals import TraceItem

log = logging.getLogger(__name__)

TITLE_WORDS, TITLE_CHARS = 8, 60   # a new conversation's title: its first message, shortened
INSTRUCT_TEMPERATURE = 0.7  # the default sampling temperature for each kind of model
BASE_TEMPERATURE = 0.3
MEMORY_ECHO_RUN_WORDS = 12   # a reply may quote a memory; pasting one back is an echo


@dataclass
class TurnResult:
    conversation_id: str
    user_message: Message
    assistant_message: Message
    text: str
    mode: str                       # full / retrieval / incognito / off
    trace: list[TraceItem]          # the memories the prompt held, best first
    stats: GenerationStats
    stopped: bool = False
    queued_jobs: list[str] = field(default_factory=list)
    prompt_tokens: dict[str, int] = field(default_factory=dict)
    cut: str = ""                   # why the reply was cut short ("loop", "echo ..."), or ""
    title: str = ""                 # the conversation's title after the turn
    changes: Changes = field(default_factory=Changes)
    notice: str = ""                # one line for the person (search by meaning failed), or ""


OnToken = Callable[[str], None]


def title_from(text: str) -> str:
    """A conversation's title from its first message: the first words, shortened."""
    words = text.strip().split()
    title = " ".join(words[:TITLE_WORDS])
    return title[:TITLE_CHARS] + ("…" if len(words) > TITLE_WORDS or len(title) > TITLE_CHARS
                                  else "")


class ChatService:
    def __init__(self, engram: Engram, llm: LLM, *, params: GenerationParams | None = None,
                 system_prompt: str | None = None, sync_index: bool = True) -> None:
        self.engram = engram
        self.llm = llm
        self.params = params or engram.settings.generation.params()
        self.system_prompt = system_prompt
        self.sync_index = sync_index
        self._counts: dict[str, int] = {}

    # -- public API -----------------------------------------------------------------------
    def send(self, conversation_id: str, text: str, on_token: OnToken | None = None,
             should_stop: ShouldStop | None = None) -> TurnResult:
        """Append the user's message to the visible branch and answer it."""
        if not text.strip():
            raise EngramError("Nothing to send: the message is empty")
        conv = self.engram.conversations.get(conversation_id)
        history = self.engram.conversations.thread(conv.id)
        parent = history[-1].id if history else None
        user = self._store_user(conv, text, parent, title=not conv.title.strip())
        return self._answer(conv, user, history, on_token, should_stop)

    def regenerate(self, assistant_message_id: str, on_token: OnToken | None = None,
                   should_stop: ShouldStop | None = None) -> TurnResult:
        """A new answer to the same user message, as a sibling branch of the old one."""
        old = self.engram.conversations.get_message(assistant_message_id)
        if old.role != "assistant" or not old.parent_id:
            raise EngramError("Only an assistant's answer can be regenerated")
        user = self.engram.conversations.get_message(old.parent_id)
        conv = self.engram.conversations.get(old.conversation_id)
        history = (self.engram.conversations.thread(conv.id, user.parent_id)
                   if user.parent_id else [])
        return self._answer(conv, user, history, on_token, should_stop)

    def edit_and_resend(self, user_message_id: str, new_text: str,
                        on_token: OnToken | None = None,
                        should_stop: ShouldStop | None = None) -> TurnResult:
        """The edited message becomes a sibling of the original (a new branch) and is answered."""
        if not new_text.strip():
            raise EngramError("Nothing to send: the message is empty")
        old = self.engram.conversations.get_message(user_message_id)
        if old.role != "user":
            raise EngramError("Only a user's message can be edited and resent")
        conv = self.engram.conversations.get(old.conversation_id)
        history = (self.engram.conversations.thread(conv.id, old.parent_id)
                   if old.parent_id else [])
        user = self._store_user(conv, new_text, old.parent_id)
        return self._answer(conv, user, history, on_token, should_stop)

    def trace(self, assistant_message_id: str) -> list[TraceItem]:
        """The memories used for a stored answer, best first."""
        return self.engram.retrievals.traces([assistant_message_id])[assistant_message_id]

    # -- internals ------------------------------------------------------------------------
    def _store_user(self, conv: Conversation, text: str, parent_id: str | None, *,
                    title: bool = False) -> Message:
        with transaction(self.engram.db):
            user = self.engram.conversations.add_message(conv.id, "user", text,
                                                         parent_id=parent_id)
            if title:
                self.engram.conversations.rename(conv.id, title_from(text))
            if self._writes_memory(conv):
                remember_messages(self.engram.memories, [user], actor="user")
        return user

    def _writes_memory(self, conv: Conversation) -> bool:
        # the memory switch: while paused, nothing new is remembered
        return self.engram.settings.memory.writes(clock.now()) and not conv.incognito

    def assembler(self) -> PromptAssembler:
        eng = self.engram
        retriever = None
        if eng.settings.memory.reads(clock.now()):
            retriever = Retriever(eng.memories, eng.index, eng.embedder)
        return PromptAssembler(
            eng.memories, retriever, eng.settings.memory, count_tokens=self._count,
            context_size=self.llm.context_size(), reply_tokens=self._reply_params().max_tokens,
            system_prompt=self.system_prompt, kind=model_kind(self.llm))

    def persons_instructions(self, conv: Conversation) -> str:
        """The person's own system prompt: this chat's (conversation meta `system_prompt`),
        else the one for every chat (Settings), else ""."""
        own = conv.meta.get("system_prompt")
        if isinstance(own, str) and own.strip():
            return own.strip()
        return self.engram.settings.generation.system_prompt.strip()

    def _assembler_for(self, conv: Conversation) -> PromptAssembler:
        """Engram's own opening (it says how memories are shown) stays; the person's
        instructions follow it (an instruct model's system message, a base model's frame
        opening: the example dialogue after it shows the form)."""
        assembler = self.assembler()
        extra = self.persons_instructions(conv)
        if extra:
            if model_kind(self.llm) == "base":
                head, _, rest = assembler.system_prompt.partition("\n\n")
                assembler.system_prompt = (f"{head} Engram follows the person's instructions: "
                                           f"{extra}\n\n{rest}")
            else:
                assembler.system_prompt += f"\n\nThe person's instructions for you:\n{extra}"
        return assembler

    def _reply_params(self) -> GenerationParams:
        """A base model's reply stops at the end of its line and is bounded (past that it is
        running on into the next turn), and samples cooler by default."""
        base = model_kind(self.llm) == "base"
        params = self.params
        if params.temperature is None:
            params = replace(params, temperature=BASE_TEMPERATURE if base
                             else INSTRUCT_TEMPERATURE)
        if not base:
            return params
        return replace(params, stop=[*params.stop, *base_frame.STOPS],
                       max_tokens=min(params.max_tokens, base_frame.MAX_REPLY_TOKENS))

    def _count(self, text: str) -> int:
        """The model's token count, cached: the same history is counted at every turn, and
        each count may be a round trip to the model's worker process."""
        cached = self._counts.get(text)
        if cached is not None:
            return cached
        try:
            n = int(self.llm.count_tokens(text))
        except Exception:  # noqa: BLE001 - a backend that cannot count (or is not loaded yet)
            return approx_tokens(text)
        if len(self._counts) > 20000:
            self._counts.clear()
        self._counts[text] = n
        return n

    def _answer(self, conv: Conversation, user: Message, history: list[Message],
                on_token: OnToken | None, should_stop: ShouldStop | None) -> TurnResult:
        on_path = {m.id for m in history} | {user.id}
        off_path = self.engram.conversations.message_ids(conv.id) - on_path
        assembled = self._assembler_for(conv).assemble(conv, history, user.text,
                                               user_message_id=user.id,
                                               other_branches=off_path)
        stopped = False
        guard = ReplyGuard(self._echo_frames(assembled),
                           example_names=self._example_names(assembled),
                           said=assembled.user_text)
        streamed: list[str] = []
        cut = ""

        def stream(piece: str) -> bool:
            nonlocal stopped, cut
            if not "".join(streamed).strip():   # a completion starts after "Engram:" + space
                piece = piece.lstrip()
            streamed.append(piece)
            if on_token is not None and piece:
                on_token(piece)
            if should_stop is not None and should_stop():
                stopped = True
            if not cut and ("\n" in piece or piece.rstrip()[-1:] in ".!?"):
                cut = guard.cut("".join(streamed))[1]   # stop a loop as soon as it shows
            return stopped or bool(cut)

        params = self._reply_params()
        for _draw in range(2):  # a reply that was nothing but an echo gets one more draw
            streamed.clear()
            cut = ""
            if model_kind(self.llm) == "base":
                text, stats = self.llm.complete(base_frame.render(assembled), params,
                                                on_token=stream, session=conv.id)
                text = text.strip()
            else:
                text, stats = self.llm.chat(assembled.messages, params, on_token=stream,
                                            session=conv.id)
            text, cut = guard.cut(text)
            if text.strip() or stopped or not cut:
                break
            if params.seed is not None:
                params = replace(params, seed=params.seed + 1)
        stopped = stopped or (stats.stopped and not cut)
        trace = [TraceItem(c.memory.id, i + 1, c.score, c.reason, c.memory.kind, c.memory.text,
                           c.memory.status, c.detail) for i, c in enumerate(assembled.used)]
        at_length = stats.finish_reason == "length" and not stopped and not cut
        reply = self._store_reply(conv, user, text, assembled, trace, stopped, cut, at_length)
        jobs = self._follow_up(conv, reply)
        title = self.engram.conversations.get(conv.id).title
        changes = Changes("answer", conversations=(conv.id,), conversation_list=True,
                          many_memories=self._writes_memory(conv),
                          vectors=self._writes_memory(conv))
        return TurnResult(conv.id, user, reply, text, assembled.mode, trace, stats, stopped,
                          jobs, assembled.sections, cut, title, changes, _notice(assembled))

    def _example_names(self, assembled: AssembledPrompt) -> set[str]:
        """Names in the base frame's worked example that this conversation never mentions."""
        if model_kind(self.llm) != "base":
            return set()
        own = " ".join([assembled.user_text, base_frame.memory_block(assembled),
                        *(m.text for m in assembled.history),
                        *(m.text for m in assembled.context_memories)]).lower()
        return {n for n in base_frame.EXAMPLE_NAMES if n.lower() not in own}

    def _echo_frames(self, assembled: AssembledPrompt) -> list[tuple[str, int]]:
        """What a reply must not copy: the prompt's own words (the system prompt or the
        frame's opening) and, at greater length, the memories it was shown."""
        own = [(assembled.system, REPLY_ECHO_RUN_WORDS),
               (frame_text("system", "instruct"), REPLY_ECHO_RUN_WORDS)]
        if model_kind(self.llm) == "base":
            own.append((frame_text("chat", "base"), ECHO_RUN_WORDS))
            memories = base_frame.memory_block(assembled)
        else:
            memories = "\n".join(c.text for c in assembled.used)
        context = "\n".join(m.text for m in assembled.context_memories)
        return [*own, (memories, MEMORY_ECHO_RUN_WORDS), (context, MEMORY_ECHO_RUN_WORDS)]

    def _store_reply(self, conv: Conversation, user: Message, text: str,
                     assembled: AssembledPrompt, trace: list[TraceItem], stopped: bool,
                     cut: str = "", at_length: bool = False) -> Message:
        eng = self.engram
        used = assembled.used
        meta: dict[str, Any] = {"mode": assembled.mode, "stopped": stopped}
        if cut:
            meta["cut"] = cut
        if at_length:      # the reply reached the longest-reply limit (Settings)
            meta["length_limit"] = True
        with transaction(eng.db):
            reply = eng.conversations.add_message(
                conv.id, "assistant", text, parent_id=user.id, model=self.llm.name,
                meta=meta)
            eng.retrievals.record(reply.id, trace)
            if self._writes_memory(conv):
                remember_messages(eng.memories, [reply], actor="assistant")
        if used and self._writes_memory(conv) and eng.settings.memory.memorybank_enabled:
            eng.memories.record_recall([c.memory.id for c in used])
        return reply

    def _follow_up(self, conv: Conversation, reply: Message) -> list[str]:
        if not self._writes_memory(conv):
            return []
        eng = self.engram
        project = eng.steering.project_of(conv.id)
        if project:       # a project's chat writes into the project's memory scope
            eng.steering.scope_conversation_memories(conv.id, project)
        queued = []
        payload = {"conversation_id": conv.id, "message_id": reply.id}
        if eng.jobs.enqueue(INDEX_SYNC, {}) is not None:
            queued.append(INDEX_SYNC)
        if eng.settings.memory.hema_enabled and reply.text.strip():
            eng.jobs.enqueue(HEMA_UPDATE, payload, needs_model=True)
            queued.append(HEMA_UPDATE)
        if eng.settings.memory.tim_enabled and reply.text.strip():
            eng.jobs.enqueue(POST_THINK, payload, needs_model=True)
            queued.append(POST_THINK)
        if self.sync_index:
            try:   # a few new memories: cheap, and the next turn can find them
                eng.index_sync.sync(repair=False)     # a damaged index: the queued job
            except Exception:  # the queued job will retry
                log.warning("index sync after a turn failed; the worker will retry",
                            exc_info=True)
        return queued


def _notice(assembled: AssembledPrompt) -> str:
    error = assembled.retrieval.dense_error if assembled.retrieval else ""
    if not error:
        return ""
    return f"Memories were found by word search only: search by meaning failed ({error})."


def withheld_text(reason: str) -> str:
    """What an empty reply says: why nothing the model wrote was kept, in words."""
    if "person's message" in reason:
        why = "it only repeated your message"
    elif "example" in reason:
        why = "it answered the example in its instructions, not you"
    elif "loop" in reason:
        why = "it only went round in a loop"
    else:
        why = "it only copied its instructions or memories"
    return f"No reply kept: {why}. Regenerate (or send it again) to try again."
