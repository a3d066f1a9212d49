"""The chat calls the chat view makes, on a worker thread.

When `core.chat.ChatService` exists it does the work (retrieval, prompt, generation, storing the
turn and its retrieval trace). Until then a minimal path stores the turn and generates from the
visible thread, with no memory retrieval, so the UI can be driven end to end.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.llm import ChatMessage, GenerationParams

log = logging.getLogger(__name__)

TokenSink = Callable[[str], None]
StopCheck = Callable[[], bool]


@dataclass
class TurnResult:
    conversation_id: str
    user_message_id: str | None
    assistant_message_id: str | None
    text: str = ""
    stopped: bool = False
    stats: dict[str, Any] = field(default_factory=dict)


def _chat_service_class() -> Any:
    try:
        module = importlib.import_module("core.chat")
    except ModuleNotFoundError as exc:
        if exc.name == "core.chat":
            return None
        raise
    return getattr(module, "ChatService", None)


def _stats_dict(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    if isinstance(stats, dict):
        return dict(stats)
    return {k: getattr(stats, k) for k in getattr(stats, "__dataclass_fields__", {})}


def run_turn(eng: Any, llm: Any, action: str, *, conversation_id: str, text: str = "",
             message_id: str | None = None, on_token: TokenSink, stop: StopCheck) -> TurnResult:
    """action: "send" (text), "regenerate" (message_id = an assistant message) or "edit"
    (message_id = a user message, text = its new text)."""
    if llm is None:
        from core.errors import EngramError

        raise EngramError("No model is loaded. Choose one in Settings or on the welcome page.")

    def sink(piece: str) -> bool | None:
        on_token(piece)
        return stop()

    service_cls = _chat_service_class()
    if service_cls is not None:
        return _with_service(service_cls, eng, llm, action, conversation_id, text, message_id,
                             sink, stop)
    return _fallback(eng, llm, action, conversation_id, text, message_id, sink, stop)


def _with_service(service_cls: Any, eng: Any, llm: Any, action: str, conversation_id: str,
                  text: str, message_id: str | None, sink: Callable[[str], bool],
                  stop: StopCheck) -> TurnResult:
    service = service_cls(eng, llm)
    kwargs = {"on_token": sink, "should_stop": stop}
    if action == "send":
        out = service.send(conversation_id, text, **kwargs)
    elif action == "regenerate":
        out = service.regenerate(message_id, **kwargs)
    else:
        out = service.edit_and_resend(message_id, text, **kwargs)
    if action == "send":
        _title_if_untitled(eng, conversation_id, text)
    return TurnResult(
        conversation_id=out.conversation_id,
        user_message_id=out.user_message.id,
        assistant_message_id=out.assistant_message.id,
        text=out.text, stopped=bool(out.stopped), stats=_stats_dict(out.stats))


def _title_if_untitled(eng: Any, conversation_id: str, text: str) -> None:
    if not eng.conversations.get(conversation_id).title.strip():
        eng.conversations.rename(conversation_id, _title_from(text))


def _fallback(eng: Any, llm: Any, action: str, conversation_id: str, text: str,
              message_id: str | None, sink: Callable[[str], bool],
              stop: StopCheck) -> TurnResult:
    convs = eng.conversations
    user_id: str | None
    if action == "send":
        user = convs.add_message(conversation_id, "user", text)
        user_id, parent = user.id, user.id
    elif action == "regenerate":
        msg = convs.get_message(message_id)
        user_id, parent = msg.parent_id, msg.parent_id
    else:
        msg = convs.get_message(message_id)
        user = convs.add_message(conversation_id, "user", text, parent_id=msg.parent_id)
        user_id, parent = user.id, user.id
    thread = convs.thread(conversation_id, parent)
    prompt = [ChatMessage(m.role, m.text) for m in thread
              if m.role in ("system", "user", "assistant") and not m.hidden]
    reply, stats = llm.chat(prompt, GenerationParams(max_tokens=256), on_token=sink,
                            session=conversation_id)
    stopped = bool(getattr(stats, "stopped", False) or stop())
    assistant = convs.add_message(conversation_id, "assistant", reply, parent_id=parent,
                                  model=getattr(llm, "name", None),
                                  meta={"stopped": True} if stopped else None)
    if action == "send":
        _title_if_untitled(eng, conversation_id, text)
    return TurnResult(conversation_id, user_id, assistant.id, reply, stopped, _stats_dict(stats))


def _title_from(text: str) -> str:
    words = text.strip().split()
    title = " ".join(words[:8])
    return title[:60] + ("…" if len(words) > 8 or len(title) > 60 else "")
