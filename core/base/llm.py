"""The interface between memory/chat logic and whatever generates text.

The local runtime (llama.cpp in a worker process), the remote OpenAI-compatible backend and the
scripted fake used in memory tests all implement `LLM`. Memory code depends only on this.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class ChatMessage:
    role: str          # system / user / assistant
    content: str


@dataclass
class GenerationParams:
    max_tokens: int = 512
    temperature: float | None = 0.7     # None: the caller's default for the model's kind
    top_p: float = 0.95
    repeat_penalty: float = 1.1    # >1 discourages repeating recent tokens (1.0 = off)
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    json_schema: dict[str, Any] | None = None   # constrain output to this JSON schema
    grammar: str | None = None                  # or to a GBNF grammar
    ignore_eos: bool = False                    # generate max_tokens even past end-of-text


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0        # prompt tokens reused from the KV cache
    completion_tokens: int = 0
    seconds_to_first_token: float = 0.0
    tokens_per_second: float = 0.0
    stopped: bool = False         # the caller asked to stop
    finish_reason: str = ""       # stop / length / cancelled / error


StreamCallback = Callable[[str], bool | None]   # True: stop (see core.base.progress.ShouldStop)


@runtime_checkable
class LLM(Protocol):
    """A text generator. Implementations are thread-safe for one request at a time."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str:
        """"base" (continues text: talk to it through completion frames) or "instruct"
        (follows instructions in its chat template); see core.runtime.model_kind."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def chat(self, messages: list[ChatMessage], params: GenerationParams | None = None, *,
             on_token: StreamCallback | None = None,
             session: str | None = None) -> tuple[str, GenerationStats]:
        """Generate a reply to `messages`, streaming pieces to `on_token`.

        `session` names a conversation so the runtime can keep and resume its KV state.
        """
        ...

    def complete(self, prompt: str, params: GenerationParams | None = None, *,
                 on_token: StreamCallback | None = None,
                 session: str | None = None) -> tuple[str, GenerationStats]:
        """Continue raw text (base models). `session` as for `chat`."""
        ...

    def context_size(self) -> int: ...


def approx_tokens(text: str) -> int:
    """A model-free token estimate: ceil(words x 4/3). Used when no model is loaded and by the
    retrieval benchmark, so that budgets are comparable across machines."""
    words = len(text.split())
    return -(-words * 4 // 3)
