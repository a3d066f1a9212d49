"""Long messages as passages: pieces that fit the embedding model's window.

MiniLM reads the first 256 word pieces of a text (about 190 English words) and ignores the
rest, and a whole 400-word answer costs half of a 1,000-token retrieval budget. So a message
longer than `LONG_WORDS` words is also remembered as passages of at most `PASSAGE_WORDS`
words, cut at sentence and line ends; each passage after the first begins with the last
sentence of the one before when that sentence is short (the "little overlap": a passage that
starts mid-thought still reads). A sentence longer than a passage is cut at word boundaries.

The message's own turn memory stays (provenance, neighbours, windows and facts point at it);
retrieval puts its passages in the prompt instead of it (see core.memory.retrieval).
"""
from __future__ import annotations

import re

LONG_WORDS = 180        # a message longer than this has passages
PASSAGE_WORDS = 120     # at most this many words a passage (about 160 prompt tokens)
OVERLAP_WORDS = 30      # the last sentence carried over when it has at most this many words

_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n+")


def is_long(text: str) -> bool:
    return len(text.split()) > LONG_WORDS


def _sentences(text: str) -> list[list[str]]:
    """Sentences (and lines) as word lists; over-long ones cut into passage-sized pieces."""
    out: list[list[str]] = []
    for part in _SENTENCE_END.split(text):
        words = part.split()
        for start in range(0, len(words), PASSAGE_WORDS):
            if words[start:start + PASSAGE_WORDS]:
                out.append(words[start:start + PASSAGE_WORDS])
    return out


def split_passages(text: str) -> list[str]:
    """`text` as passages, in order. A text that is not long is one passage (itself)."""
    if not is_long(text):
        return [text.strip()]
    passages: list[list[list[str]]] = []
    current: list[list[str]] = []
    size = 0
    for sentence in _sentences(text):
        if current and size + len(sentence) > PASSAGE_WORDS:
            passages.append(current)
            carry = current[-1] if len(current) > 1 and len(current[-1]) <= OVERLAP_WORDS else None
            current = [carry] if carry and len(carry) + len(sentence) <= PASSAGE_WORDS else []
            size = sum(len(s) for s in current)
        current.append(sentence)
        size += len(sentence)
    if current:
        # a short tail joins the passage before it rather than standing alone
        if passages and size < PASSAGE_WORDS // 4:
            passages[-1] = passages[-1] + [s for s in current if s not in passages[-1]]
        else:
            passages.append(current)
    return [" ".join(" ".join(s) for s in p) for p in passages]
