"""The chat turn as a completion frame, for a base model.

A base model continues text. Told "You are Engram, ..." it writes more instructions; shown a
transcript it writes the next line of it. So the turn is laid out as a transcript it can
continue, stable parts first so the KV cache of the previous turn is reused:

    <opening: what this is, one worked example exchange>      assets/prompts/base/chat.txt
    (Engram knows about the person: <portrait>)
    (Engram remembers from earlier days: <global summary>)
    (This conversation so far: <running summary>)              retrieval mode only
    Person: ... / Engram: ...                                  the conversation's history
    (Engram remembers: <memories, as plain sentences>)         the most relevant last
    Person: <the new message>
    Engram:

and the reply stops at the end of its line (the next speaker label, a blank line or a memory
line would follow). Measured on the starter model
(Gemma 3 270M base): with the worked example showing a memory in use, "What is my dog called?"
is answered from a remembered turn about three times in four; without it, rarely.
"""
from __future__ import annotations

from datetime import UTC, datetime

from core.memory.assembly import AssembledPrompt
from core.store.conversations import Message
from core.store.memories import Memory

PERSON = "Person"
ASSISTANT = "Engram"
# One paragraph: a base model that goes on past a line break is writing the next turn (often
# under another speaker's name) or a list of memories.
STOPS = ("\n", f"{PERSON}:", f"{ASSISTANT}:", f"({ASSISTANT} ")
# The names in the opening's worked example (assets/prompts/base/chat.txt): a reply that uses
# one the conversation never mentioned is answering the example ("My dog is called Miso").
EXAMPLE_NAMES = ("Miso", "Leeds")
MAX_REPLY_TOKENS = 200     # a base model's answer is short, or it is running on


def render(assembled: AssembledPrompt) -> str:
    """The completion prompt for this turn."""
    parts = [assembled.system.strip(), ""]
    for mem in assembled.context_memories:
        parts.append(f"({_context_heading(mem)}: {_one_line(mem.text)})")
    for msg in assembled.history:
        parts.append(f"{_label(msg)}: {_one_line(msg.text)}")
    memories = list(reversed(assembled.used))   # the most relevant last, next to the question
    if memories:
        parts.append("(Engram remembers: " + " ".join(memory_sentence(c.memory)
                                                     for c in memories) + ")")
    parts.append(f"{PERSON}: {_one_line(assembled.user_text)}")
    parts.append(f"{ASSISTANT}:")
    return "\n".join(parts)


def memory_block(assembled: AssembledPrompt) -> str:
    """The memories as they appear in the frame (what a reply must not paste back)."""
    return " ".join(memory_sentence(c.memory) for c in assembled.used)


def memory_sentence(mem: Memory) -> str:
    """A memory as a plain sentence: who said what and when, or the fact itself."""
    text = _one_line(mem.text)
    if mem.kind == "episodic":
        speaker, sep, said = text.partition(": ")
        if not sep:
            speaker, said = "", text
        who = {"user": "the person", "assistant": ASSISTANT}.get(speaker.lower(),
                                                                  speaker or "someone")
        sentence = f'{who} said: "{said.strip()}"'
        when = _day(mem.occurred_at or mem.created_at)
        return f"On {when}, {sentence}" if when else sentence[0].upper() + sentence[1:]
    if mem.kind == "summary" and mem.occurred_at:
        return f"On {_day(mem.occurred_at)}: {text}"
    return text if text.endswith((".", "!", "?")) else text + "."


def _context_heading(mem: Memory) -> str:
    if mem.kind == "portrait":
        return "Engram knows about the person"
    if mem.kind == "compact":
        return "This conversation so far"
    return "Engram remembers from earlier days"


def _label(msg: Message) -> str:
    return PERSON if msg.role == "user" else ASSISTANT


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _day(ts: float | None) -> str:
    if not ts:
        return ""
    d = datetime.fromtimestamp(ts, tz=UTC)
    return f"{d.day} {d.strftime('%B %Y')}"
