"""Turning chat messages into prompt text, and a message layout that keeps the KV cache warm.

The format comes from the GGUF: its Jinja chat template when it has one (rendered in a sandbox),
Gemma's turn format for Gemma files without one (the starter model), ChatML otherwise.
`bos_token` is rendered empty: the tokenizer adds BOS itself when the model wants it, so it is
never doubled.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.base.llm import ChatMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatFormat:
    kind: str                  # "template" / "gemma" / "chatml"
    template: str | None = None
    eos_token: str = ""

    @property
    def stop_strings(self) -> list[str]:
        # a base model (the starter) may open the next turn itself instead of closing its own
        return {"gemma": ["<end_of_turn>", "<start_of_turn>"],
                "chatml": ["<|im_end|>"]}.get(self.kind, [])

    def render(self, messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
        if self.kind == "template" and self.template:
            try:
                return _render_jinja(self.template, messages, add_generation_prompt,
                                     self.eos_token)
            except Exception as exc:  # noqa: BLE001 (a template llama.cpp accepts may still fail here)
                log.warning("chat template failed (%s); using ChatML", type(exc).__name__)
        if self.kind == "gemma":
            return render_gemma(messages, add_generation_prompt)
        return render_chatml(messages, add_generation_prompt)


def render_chatml(messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
    parts = [f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages]
    if add_generation_prompt:
        parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def render_gemma(messages: Sequence[ChatMessage], add_generation_prompt: bool = True) -> str:
    """Gemma has user and model turns only: system text opens the first user turn."""
    parts: list[str] = []
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    first_user = True
    for m in messages:
        if m.role == "system":
            continue
        role = "model" if m.role == "assistant" else "user"
        text = m.content
        if role == "user" and first_user and system:
            text = f"{system}\n\n{text}"
        if role == "user":
            first_user = False
        parts.append(f"<start_of_turn>{role}\n{text}<end_of_turn>\n")
    if first_user and system:   # only system text so far
        parts.append(f"<start_of_turn>user\n{system}<end_of_turn>\n")
    if add_generation_prompt:
        parts.append("<start_of_turn>model\n")
    return "".join(parts)


def _render_jinja(template: str, messages: Sequence[ChatMessage], add_generation_prompt: bool,
                  eos_token: str) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals.update(raise_exception=raise_exception,
                       strftime_now=lambda fmt: datetime.now().strftime(fmt))
    return env.from_string(template).render(
        messages=[{"role": m.role, "content": m.content} for m in messages],
        add_generation_prompt=add_generation_prompt, bos_token="", eos_token=eos_token)


def chat_format_for(architecture: str, template: str | None) -> ChatFormat:
    if template:
        return ChatFormat("template", template)
    if architecture.startswith("gemma"):
        return ChatFormat("gemma")
    return ChatFormat("chatml")


def layout_messages(stable: Sequence[ChatMessage], history: Sequence[ChatMessage],
                    user_message: str, memories: str | None = None,
                    memories_heading: str = "Relevant memories:") -> list[ChatMessage]:
    """Order a turn's messages so consecutive turns share the longest cached prefix.

    Stable parts first (system prompt, user portrait, global summary: they change rarely), then
    the conversation so far, then this turn's retrieved memories inside the new user message,
    right before its text. Only the new message (and the previous one, whose memories are gone)
    is processed on the next turn; everything before it comes from the cache.
    """
    out = list(stable) + list(history)
    text = user_message
    if memories:
        text = f"{memories_heading}\n{memories}\n\n{user_message}"
    out.append(ChatMessage("user", text))
    return out
