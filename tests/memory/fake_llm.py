"""A scripted fake LLM for memory logic (a real model's output is not predictable enough to
test merge/contradiction rules). It implements `core.base.llm.LLM`; every call is recorded."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from core.base.llm import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    StreamCallback,
    approx_tokens,
)


class ScriptedFakeLLM:
    """Answers from `script`: a function (messages, params) -> text, or a list of texts used
    in order (the last one repeats). JSON answers may be given as dicts."""

    def __init__(self, script: Callable[[list[ChatMessage], GenerationParams], Any] | list[Any]
                 | None = None, *, n_ctx: int = 4096, kind: str = "instruct") -> None:
        self.script = script if script is not None else ["Fine."]
        self.kind = kind
        self.calls: list[tuple[list[ChatMessage], GenerationParams]] = []
        self.n_ctx = n_ctx

    @property
    def name(self) -> str:
        return "scripted-fake"

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def context_size(self) -> int:
        return self.n_ctx

    def _answer(self, messages: list[ChatMessage], params: GenerationParams) -> str:
        if callable(self.script):
            value = self.script(messages, params)
        else:
            index = min(len([c for c in self.calls]) - 1, len(self.script) - 1)
            value = self.script[index]
        return value if isinstance(value, str) else json.dumps(value)

    def chat(self, messages: list[ChatMessage], params: GenerationParams | None = None, *,
             on_token: StreamCallback | None = None,
             session: str | None = None) -> tuple[str, GenerationStats]:
        params = params or GenerationParams()
        self.calls.append((list(messages), params))
        text = self._answer(messages, params)
        out, stopped = [], False
        for piece in text.split(" "):
            chunk = piece if not out else " " + piece
            out.append(chunk)
            if on_token is not None and on_token(chunk):
                stopped = True
                break
        reply = "".join(out)
        return reply, GenerationStats(completion_tokens=len(out), stopped=stopped,
                                      finish_reason="cancelled" if stopped else "stop")

    def complete(self, prompt: str, params: GenerationParams | None = None, *,
                 on_token: StreamCallback | None = None,
                 session: str | None = None) -> tuple[str, GenerationStats]:
        return self.chat([ChatMessage("user", prompt)], params, on_token=on_token)

    def last_prompt(self) -> str:
        return "\n".join(m.content for m in self.calls[-1][0])
