"""Who "the person" is: the name facts and summaries use for the one Engram talks with.

Until the person says their name, their messages are labelled "User" and facts about them read
"The user ...". A name is learned only from an explicit introduction in their own words ("my
name is Lena", "call me Lena"): guessing from "I'm Belgian" would put a wrong name on every
fact. The name lives on the fact that recorded it (meta `intro_name`), so forgetting or
purging that fact forgets the name too.
"""
from __future__ import annotations

import re

from core.memory.home import MemoryHome

_INTRO = re.compile(r"\b(?:my name is|my name's|call me|i am called|i'm called)\s+"
                    r"([A-Z][a-zà-ÿ]+(?:[-'][A-Z][a-zà-ÿ]+)?)\b")
USER_LABEL = "User"


def introduced_name(text: str) -> str | None:
    """The name a message introduces its author with, if it says so explicitly."""
    match = _INTRO.search(text.replace("My name", "my name").replace("Call me", "call me"))
    return match.group(1) if match else None


def person_name(eng: MemoryHome) -> str | None:
    """The name the person introduced themselves with, from the newest active fact that
    recorded it."""
    for mem in eng.memories.list(kinds=["fact"], order="created_at DESC", limit=500):
        name = mem.meta.get("intro_name")
        if isinstance(name, str) and name:
            return name
    return None


def person_label(eng: MemoryHome) -> str:
    """How the person is called in prompts: their name when known, else "User"."""
    return person_name(eng) or USER_LABEL


def third_person(label: str) -> str:
    """How a fact names the person: "Lena", or "The user" while the name is unknown."""
    return "The user" if label == USER_LABEL else label


def label_of(msg, person: str = USER_LABEL) -> str:
    """A message's speaker as prompts show it: an archive's speaker name, the person's label for
    their own messages, "Assistant" for the assistant's."""
    name = msg.meta.get("speaker") if isinstance(msg.meta, dict) else None
    if isinstance(name, str) and name.strip():
        return name.strip()[:60]
    return person if msg.role == "user" else "Assistant"
