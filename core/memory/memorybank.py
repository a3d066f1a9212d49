"""MemoryBank: forgetting by the Ebbinghaus curve, daily event summaries, a global summary and
a user portrait (daily and overall).

Retention is R = exp(-t / S): t in days since the memory was last recalled into a prompt (or
created), S its strength (1 at first, +1 per recall; see MemoryStore.record_recall). The sweep
marks episodic memories and thoughts whose R fell below `forget_threshold` as forgotten, with
actor "policy" (reversible, audited). Pinned memories never fade. Summaries and portraits are
the consolidated memory and are not swept.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.base import clock
from core.base.llm import LLM
from core.memory.generation import (
    DAILY_SUMMARY,
    GLOBAL_SUMMARY,
    PORTRAIT_DAILY,
    PORTRAIT_OVERALL,
    ask_step,
    truncate_words,
)
from core.memory.home import MemoryHome
from core.memory.person import person_label
from core.memory.retrieval import retention
from core.store.memories import Memory, SourceRef

DAY = 86400.0
SWEPT_KINDS = ("episodic", "thought")
MAX_DAY_WORDS = 1500


def sweep(eng: MemoryHome, *, now: float | None = None, threshold: float | None = None,
          ) -> list[str]:
    """Forget what has faded. Returns the ids marked forgotten."""
    now = clock.now() if now is None else now
    threshold = eng.settings.memory.forget_threshold if threshold is None else threshold
    forgotten = []
    for mem in eng.memories.list(kinds=SWEPT_KINDS, pinned=False, order="rowid", limit=None):
        r = retention(mem, now)
        if r < threshold:
            eng.memories.forget(mem.id, actor="policy",
                                note=f"MemoryBank: retention {r:.3f} below {threshold}")
            forgotten.append(mem.id)
    return forgotten


def day_bounds(date: str) -> tuple[float, float]:
    start = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def days_needing_summary(eng: MemoryHome, *, now: float | None = None,
                         limit: int = 30) -> list[str]:
    """Past days (UTC) with conversation turns and no daily summary yet, newest first."""
    now = clock.now() if now is None else now
    today = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d")
    done = {m.meta.get("date") for m in _by_granularity(eng, "summary", "day", limit=100000)}
    return [d for d in eng.memories.turn_days() if d < today and d not in done][:limit]


def _by_granularity(eng: MemoryHome, kind: str, granularity: str, limit: int = 200) -> list[Memory]:
    return [m for m in eng.memories.list(kinds=[kind], scope="global", order="created_at DESC",
                                         limit=limit) if m.granularity == granularity]


def _day_turns(eng: MemoryHome, date: str, *,
               role: str | None = None) -> list[tuple[str, str, str]]:
    start, end = day_bounds(date)
    return eng.memories.day_turns(start, end, role=role)


def _upsert(eng: MemoryHome, kind: str, granularity: str, text: str, *, key: dict,
            sources: list[SourceRef],
            occurred_at: float | None, note: str) -> Memory:
    existing = [m for m in _by_granularity(eng, kind, granularity, limit=1000)
                if all(m.meta.get(k) == v for k, v in key.items())]
    if existing:
        mem = eng.memories.edit(existing[0].id, text, actor="assistant", note=note)
        eng.memories.add_sources(mem.id, sources)
        return mem
    return eng.memories.create(kind, text, actor="assistant", granularity=granularity,
                               sources=sources, occurred_at=occurred_at, meta=key, note=note)


def _turn_block(turns: list[tuple[str, str, str]], person: str = "User") -> str:
    """The turns' texts, the person's own label ("User: ...") replaced by their name."""
    lines = [f"{person}: {t[0][len('User: '):]}" if t[0].startswith("User: ") else t[0]
             for t in turns]
    return truncate_words("\n".join(lines), MAX_DAY_WORDS)


_LABELS = ("User", "Assistant", "Engram")


def _speaker_of_all(turns: list[tuple[str, str, str]]) -> str:
    """The one name the person's turns are labelled with in an archive ("Caroline: ..."), if
    they all share one; '' otherwise."""
    names = {t[0].split(": ", 1)[0] for t in turns if ": " in t[0]}
    return next(iter(names)) if len(names) == 1 and names != {"User"} else ""


def daily_summary(eng: MemoryHome, llm: LLM, date: str) -> Memory | None:
    """The events of one day (MemoryBank's daily event summary), linked to its messages."""
    turns = _day_turns(eng, date)
    if not turns:
        return None
    person = person_label(eng)
    block = _turn_block(turns, person)
    text = ask_step(llm, DAILY_SUMMARY, source=block, values={"date": date, "turns": block},
                    allowed_names=(*_LABELS, person))
    sources = [SourceRef(message_id=t[1], conversation_id=t[2]) for t in turns[:500]]
    return _upsert(eng, "summary", "day", text, key={"date": date}, sources=sources,
                   occurred_at=day_bounds(date)[0], note="MemoryBank daily summary")


def daily_portrait(eng: MemoryHome, llm: LLM, date: str) -> Memory | None:
    turns = _day_turns(eng, date, role="user")
    if not turns:
        return None
    person = _speaker_of_all(turns) or person_label(eng)
    block = _turn_block(turns, person)
    text = ask_step(llm, PORTRAIT_DAILY, source=block,
                    values={"date": date, "turns": block, "person": person},
                    allowed_names=(*_LABELS, person), about=(person, "User"))
    sources = [SourceRef(message_id=t[1], conversation_id=t[2]) for t in turns[:500]]
    return _upsert(eng, "portrait", "day", text, key={"date": date}, sources=sources,
                   occurred_at=day_bounds(date)[0], note="MemoryBank daily portrait")


def global_summary(eng: MemoryHome, llm: LLM) -> Memory | None:
    days = sorted(_by_granularity(eng, "summary", "day", limit=60),
                  key=lambda m: m.meta.get("date", ""))
    if not days:
        return None
    block = "\n".join(f"- {m.meta.get('date')}: {m.text}" for m in days[-30:])
    text = ask_step(llm, GLOBAL_SUMMARY, source=block, values={"summaries": block},
                    allowed_names=(*_LABELS, person_label(eng)))
    sources = [SourceRef(source_ref=f"memory:{m.id}") for m in days[-30:]]
    return _upsert(eng, "summary", "global", text, key={"scope": "all"}, sources=sources,
                   occurred_at=None, note="MemoryBank global summary")


def overall_portrait(eng: MemoryHome, llm: LLM) -> Memory | None:
    daily = sorted(_by_granularity(eng, "portrait", "day", limit=60),
                   key=lambda m: m.meta.get("date", ""))
    if not daily:
        return None
    previous = _by_granularity(eng, "portrait", "overall", limit=5)
    earlier = previous[0].text if previous else "(none yet)"
    block = "\n".join(f"- {m.meta.get('date')}: {m.text}" for m in daily[-14:])
    # the portrait is of whoever the daily portraits are of (an archive's speaker names them)
    portrayed = {m.text.split()[0].removesuffix("'s") for m in daily[-14:] if m.text.split()}
    text = ask_step(llm, PORTRAIT_OVERALL, source=f"{earlier}\n{block}",
                    values={"portrait": earlier, "observations": block},
                    allowed_names=(*_LABELS, person_label(eng)),
                    about=(person_label(eng), "User", *sorted(portrayed)))
    sources = [SourceRef(source_ref=f"memory:{m.id}") for m in daily[-14:]]
    return _upsert(eng, "portrait", "overall", text, key={"scope": "all"}, sources=sources,
                   occurred_at=None, note="MemoryBank user portrait")
