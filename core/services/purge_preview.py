"""What a purge will erase, in words, before anything is erased (the confirmation dialog and
`engram memories purge` without --yes show it).

A turn's purge reaches further than the one row a person selected: the windows that repeat
it (index entries), the facts and summaries made from its message, the message text itself
in the chat, and the chat's title when it was made from that message. This reads the plan
(core.services.purge_plan, read-only) and counts it by what a person calls things.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.services.engine import Engram
from core.services.purge_plan import PurgePlan, plan_memory

_NAMES = {"fact": ("fact", "facts"), "thought": ("thought", "thoughts"),
          "summary": ("summary", "summaries"), "compact": ("summary", "summaries"),
          "portrait": ("portrait", "portraits"), "turn": ("turn", "turns"),
          "window": ("index entry", "index entries")}


@dataclass
class PurgePreview:
    selected: int = 0                                   # memories the person chose
    others: dict[str, int] = field(default_factory=dict)   # what else goes, by name
    messages: list[str] = field(default_factory=list)   # excerpts of messages to blank
    titles: list[str] = field(default_factory=list)     # chat titles to rewrite
    with_messages: bool = False
    has_messages: bool = False      # the selection came from messages at all

    def lines(self) -> list[str]:
        """The confirmation's list, one thing per line."""
        n = self.selected
        out = [f"{'this memory' if n == 1 else f'these {n} memories'}"]
        for name, count in self.others.items():
            one, many = _NAMES.get(name, (name, name + "s"))
            what = "made from it" if name != "window" else "that repeat it for search"
            out.append(f"{count} {one if count == 1 else many} {what}")
        for text in self.messages[:3]:
            out.append(f"the message text “{text}” (the message stays in the chat, empty)")
        if len(self.messages) > 3:
            out.append(f"and {len(self.messages) - 3} more messages' text")
        for title in self.titles:
            out.append(f"the chat title “{title}” (becomes “Untitled chat”)")
        out.append("their entries in the search indexes, the vector index and saved "
                   "model states")
        return out


def preview(eng: Engram, memory_ids: list[str], *, with_messages: bool | None = None
            ) -> PurgePreview:
    mems = eng.memories.get_many(memory_ids)
    live = [m for m in memory_ids if m in mems and mems[m].status != "purged"]
    plans: list[PurgePlan] = []
    has_messages = False
    for mid in live:
        mem = mems[mid]
        blank = mem.kind == "episodic" if with_messages is None else with_messages
        has_messages = has_messages or any(s["message_id"] for s in eng.memories.sources(mid))
        plans.append(plan_memory(eng, mid, blank_messages=blank))
    ids = list(dict.fromkeys(m for p in plans for m in p.memory_ids))
    messages = sorted({m for p in plans for m in p.message_ids})
    retitled = sorted({c for p in plans for c in p.retitled})
    others: dict[str, int] = {}
    found = eng.memories.get_many([m for m in ids if m not in live])
    for mem in found.values():
        name = ("window" if mem.granularity == "window" else "turn") \
            if mem.kind == "episodic" else mem.kind
        name = "summary" if name == "compact" else name
        others[name] = others.get(name, 0) + 1
    excerpts = []
    for mid in messages:
        msg = eng.conversations.find_message(mid)
        if msg and msg.text.strip():
            text = " ".join(msg.text.split())
            excerpts.append(text if len(text) <= 60 else text[:59] + "…")
    titles = list(eng.views.titles(retitled).values())
    return PurgePreview(selected=len(live), others=others, messages=excerpts, titles=titles,
                        with_messages=bool(messages), has_messages=has_messages)
