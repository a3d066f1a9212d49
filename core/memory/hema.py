"""HEMA compact memory: a one-sentence running summary per conversation, a second level every
N turns, and age-weighted pruning of old, low-value episodic chunks.

- The running summary is one `compact` memory per conversation (scope: that conversation),
  rewritten after every answer from the previous sentence and the latest exchange; each
  rewrite is an audited edit, so earlier versions stay restorable.
- Every `hema_second_level_every` answers (default 100) the sentences written since the last
  time are condensed into a `summary` memory (granularity "conversation"), so a long
  conversation does not rest on one sentence rewritten a thousand times.
- Pruning marks old, never-recalled, nearly empty episodic chunks ("ok", "thanks!") forgotten,
  with actor "policy" and a note: reversible and visible in the audit log.
"""
from __future__ import annotations

import math
import re

from core.base import clock
from core.base.llm import LLM
from core.memory.generation import (
    HEMA_LEVEL2,
    HEMA_UPDATE,
    ModelAnswerError,
    ask_step,
    model_kind,
    truncate_words,
)
from core.memory.home import MemoryHome
from core.memory.person import label_of, person_label
from core.store.memories import Memory, SourceRef

DAY = 86400.0
PRUNE_MIN_AGE_DAYS = 30.0
PRUNE_VALUE_CUTOFF = 1.0
PRUNE_AGE_SCALE_DAYS = 365.0
FILLER = frozenset(["ok", "okay", "thanks", "thank", "yes", "yeah", "yep", "no", "nope", "sure", "lol", "haha", "hehe", "hmm", "cool", "nice", "great", "wow", "oh", "ah", "right", "fine", "good", "bye", "hello", "hi", "hey", "please", "welcome"])


def running_summary(eng: MemoryHome, conversation_id: str) -> Memory | None:
    found = [m for m in eng.memories.list(kinds=["compact"], conversation_id=conversation_id,
                                          limit=5) if m.granularity == "running"]
    return found[0] if found else None


def update_running_summary(eng: MemoryHome, llm: LLM, conversation_id: str,
                           message_id: str) -> Memory | None:
    """After an answer: fold the latest exchange into the conversation's sentence."""
    conv = eng.conversations.get(conversation_id)
    if conv.incognito:
        return None
    reply = eng.conversations.get_message(message_id)
    exchange_msgs = [reply]
    if reply.parent_id:
        exchange_msgs.insert(0, eng.conversations.get_message(reply.parent_id))
    person = person_label(eng)
    exchange = "\n".join(f"{label_of(m, person)}: {truncate_words(m.text, 300)}"
                         for m in exchange_msgs if m.text.strip())
    if not exchange:
        return None
    current = running_summary(eng, conversation_id)
    earlier = current.text if current else "(nothing yet)"
    sentence = ask_step(llm, HEMA_UPDATE,
                        source=f"{earlier}\n{_grounds(llm, exchange_msgs, person, 300)}",
                        values={"summary": earlier, "exchange": exchange},
                        allowed_names=_labels(exchange_msgs, person), one_sentence=True)
    sources = [SourceRef(message_id=m.id, conversation_id=conversation_id) for m in exchange_msgs]
    if current is None:
        current = eng.memories.create(
            "compact", sentence, actor="assistant", scope="conversation",
            conversation_id=conversation_id, granularity="running", sources=sources,
            occurred_at=reply.created_at, note="HEMA running summary")
    else:
        eng.memories.edit(current.id, sentence, actor="assistant", note="HEMA running summary")
        eng.memories.add_sources(current.id, sources)
    every = max(1, eng.settings.memory.hema_second_level_every)
    answers = eng.conversations.count_messages(conversation_id, "assistant")
    if answers % every == 0:
        second_level(eng, llm, conversation_id)
    return eng.memories.get(current.id)


def second_level(eng: MemoryHome, llm: LLM, conversation_id: str) -> Memory | None:
    """Condense the running sentences written since the last second-level summary."""
    current = running_summary(eng, conversation_id)
    if current is None:
        return None
    level2 = _level2(eng, conversation_id)
    since = level2.updated_at if level2 else 0.0
    # each edit's old value is the sentence it replaced; the current text is the newest
    versions = [e.old_value["text"] for e in eng.memories.events(current.id)
                if e.event == "edited" and e.old_value and e.at >= since
                and e.old_value.get("text")] + [current.text]
    parts = ([level2.text] if level2 else []) + versions[-200:]
    block = "\n".join(f"- {p}" for p in parts)
    text = ask_step(llm, HEMA_LEVEL2, source=block, values={"summaries": block})
    if level2 is None:
        return eng.memories.create(
            "summary", text, actor="assistant", scope="conversation",
            conversation_id=conversation_id, granularity="conversation",
            sources=[SourceRef(conversation_id=conversation_id, source_ref=f"memory:{current.id}")],
            note="HEMA second-level summary")
    return eng.memories.edit(level2.id, text, actor="assistant", note="HEMA second-level summary")


def _level2(eng: MemoryHome, conversation_id: str) -> Memory | None:
    found = [m for m in eng.memories.list(kinds=["summary"], conversation_id=conversation_id,
                                          limit=5) if m.granularity == "conversation"]
    return found[0] if found else None


def summarize_conversation(eng: MemoryHome, llm: LLM, conversation_id: str, *,
                           chunk_words: int = 600) -> Memory | None:
    """For an imported conversation: build the running summary over its whole visible
    thread, a chunk at a time, then its second level."""
    conv = eng.conversations.get(conversation_id)
    if conv.incognito:
        return None
    thread = [m for m in eng.conversations.thread(conversation_id)
              if m.role in ("user", "assistant") and not m.hidden and m.text.strip()]
    if not thread:
        return None
    summary = "(nothing yet)"
    person = person_label(eng)
    chunk: list[str] = []
    words = 0
    chunks: list[tuple[str, str]] = []       # (what the model reads, what grounds its answer)
    part: list = []
    for m in thread:
        line = f"{label_of(m, person)}: {truncate_words(m.text, chunk_words)}"
        chunk.append(line)
        part.append(m)
        words += len(line.split())
        if words >= chunk_words:
            chunks.append(("\n".join(chunk), _grounds(llm, part, person, chunk_words)))
            chunk, part, words = [], [], 0
    if chunk:
        chunks.append(("\n".join(chunk), _grounds(llm, part, person, chunk_words)))
    labels = _labels(thread, person)
    refused = None
    for text, grounds in chunks:
        # a refused chunk leaves the summary as it was; the next chunk goes on from there
        try:
            summary = ask_step(llm, HEMA_UPDATE, source=f"{summary}\n{grounds}",
                               values={"summary": summary, "exchange": text},
                               allowed_names=labels, one_sentence=True)
        except ModelAnswerError as exc:
            refused = exc
    if summary == "(nothing yet)":
        raise refused or ModelAnswerError("The conversation gave nothing to summarise")
    current = running_summary(eng, conversation_id)
    sources = [SourceRef(conversation_id=conversation_id, import_id=conv.import_id)]
    if current is None:
        current = eng.memories.create(
            "compact", summary, actor="assistant", scope="conversation",
            conversation_id=conversation_id, granularity="running", sources=sources,
            occurred_at=thread[-1].created_at, note="HEMA summary of an imported conversation")
    else:
        current = eng.memories.edit(current.id, summary, actor="assistant",
                                    note="HEMA summary of an imported conversation")
    return current


def _grounds(llm: LLM, messages, person: str, max_words: int) -> str:
    """What a summary's names, numbers and words may come from: the whole exchange for an
    instruct model; for a base model only what the person said (its own earlier replies are
    too often wrong: "My dog is called Pippi" would become the summary's dog)."""
    if model_kind(llm) == "base":
        messages = [m for m in messages if m.role == "user"]
    return "\n".join(f"{label_of(m, person)}: {truncate_words(m.text, max_words)}"
                     for m in messages if m.text.strip())


def _labels(messages, person: str) -> list[str]:
    """The speaker labels a summary may name (the person, "Assistant", an archive's names)."""
    return sorted({label_of(m, person) for m in messages} | {person, "User", "Assistant",
                                                               "Engram"})


def prune_old_chunks(eng: MemoryHome, *, now: float | None = None, limit: int = 5000) -> list[str]:
    """Forget old, low-value episodic chunks: value = content words / (1 + age in years).
    Only chunks held for more than 30 days, never recalled and not pinned, with a value below
    1 go: "ok thanks" after a month, a three-word remark after a few years.

    Age is how long Engram has held the chunk unused (as MemoryBank's retention counts it),
    not how old the conversation is: an archive imported today loses nothing today (on the
    LoCoMo dev split, ageing by the conversations' own dates forgot 34 of 385 turns of one
    sample at import, 2 of them evidence: recall within 1,000 tokens 0.890 -> 0.874)."""
    now = clock.now() if now is None else now
    forgotten = []
    for mid, text, at in eng.memories.prune_candidates(now - PRUNE_MIN_AGE_DAYS * DAY, limit):
        age_days = (now - at) / DAY
        value = chunk_value(text) / (1.0 + age_days / PRUNE_AGE_SCALE_DAYS)
        if value < PRUNE_VALUE_CUTOFF:
            eng.memories.forget(mid, actor="policy",
                                note=f"HEMA pruning: low value ({value:.2f}) at {math.floor(age_days)} days")
            forgotten.append(mid)
    return forgotten


def chunk_value(text: str) -> float:
    """Content words after the speaker labels: a crude measure of how much a chunk says."""
    from core.memory.retrieval import _STOPWORDS

    body = " ".join(line.split(":", 1)[1] if ":" in line else line
                    for line in text.splitlines())
    words = [w for w in re.findall(r"\w+", body.lower())
             if w not in _STOPWORDS and w not in FILLER]
    return float(len(words))
