"""The chat calls the chat view makes, on a worker thread: `core.services.chat.ChatService` does the
work (retrieval, prompt, generation, storing the turn and its retrieval trace), sampling as
the user's generation settings say."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.services.chat import ChatService

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
        from core.base.errors import EngramError

        raise EngramError("No model is loaded. Choose one in Settings or on the welcome page.")

    def sink(piece: str) -> bool | None:
        on_token(piece)
        return stop()

    service = ChatService(eng, llm, params=eng.settings.generation.params())
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


def _title_from(text: str) -> str:
    words = text.strip().split()
    title = " ".join(words[:8])
    return title[:60] + ("…" if len(words) > 8 or len(title) > 60 else "")
