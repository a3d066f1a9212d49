"""Small helpers for asking the model for memory text (summaries, portraits, thoughts).

Everything goes through the `core.llm.LLM` protocol, so a remote backend or the scripted fake
used in tests works the same as the local runtime.
"""
from __future__ import annotations

import re
from typing import Any

from core.errors import EngramError
from core.llm import LLM, ChatMessage, GenerationParams
from core.runtime.errors import StructuredAnswerError
from core.runtime.structured import generate_json


class ModelAnswerError(EngramError):
    """The model's answer could not be used (empty, or not the JSON that was asked for)."""


# A sampled answer that is empty or unreadable gets one more draw (a new seed) before the job
# is given up: small models fail this way now and then, not every time.
DRAWS = 2


def ask_text(llm: LLM, prompt_text: str, *, max_tokens: int = 160,
             one_sentence: bool = False) -> str:
    for _ in range(DRAWS):
        text, _ = llm.chat([ChatMessage("user", prompt_text)],
                           GenerationParams(max_tokens=max_tokens, temperature=0.3, top_p=0.9))
        cleaned = clean_answer(text, one_sentence=one_sentence)
        if cleaned:
            return cleaned
    raise ModelAnswerError(f"The model gave an empty answer ({DRAWS} tries)")


def ask_json(llm: LLM, prompt_text: str, schema: dict[str, Any], *,
             max_tokens: int = 400) -> Any:
    """A JSON answer matching `schema` (grammar-constrained); ModelAnswerError if unusable."""
    params = GenerationParams(max_tokens=max_tokens, temperature=0.2)
    for _ in range(DRAWS):
        try:
            return generate_json(llm, [ChatMessage("user", prompt_text)], schema, params)
        except StructuredAnswerError as exc:
            error = exc
    raise ModelAnswerError(f"{error} ({DRAWS} tries)") from error


def clean_answer(text: str, *, one_sentence: bool = False) -> str:
    """Trim a model's answer: no leading labels or quotes, collapsed spaces; optionally only
    its first sentence."""
    text = text.strip().strip('"').strip()
    text = re.sub(r"^(summary|new summary|answer|portrait)\s*:\s*", "", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    if one_sentence:
        match = re.match(r"(.+?[.!?])(\s|$)", text)
        if match:
            text = match.group(1)
    return text[:2000]


def truncate_words(text: str, max_words: int) -> str:
    words = text.split(" ")
    return text if len(words) <= max_words else " ".join(words[:max_words]) + " ..."
