"""Facts: what people said about themselves and their world, distilled from conversations.

This is Think-in-Memory's post-thinking with exact provenance: after each answer (and, as a
resumable background job, over imported conversations a few turns at a time) the model is
asked for short third-person facts about the people in the exchange, in the form its kind needs
(a worked-example frame for a base model, an instruction for an instruct model). Each line of
its answer then has to pass, or it is refused with a reason and stored nowhere:
- the common gates (not empty, bounded, no loop, no copy of the prompt's own words);
- the form of a fact: it starts with the name of a person who spoke in the exchange, is not a
  line of dialogue and has no first person ("Lena works nights", not "I work nights");
- grounding: it cites the one message of that person that supports it best, and its names,
  numbers and most content words must come from that message. An assistant's words never
  become a fact about the person (a fact's subject must be a person, its source their message).

Accepted facts go through `core.memory.thoughts.add_distilled` (LSH buckets, near-duplicates
merged). Each records its source turn (`meta.turn`) so that retrieval can use the fact as a key
that leads back to the turn, as windows do for their anchor.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from core.base.llm import LLM
from core.base.prompts import frame_text, prompt
from core.memory.episodic import is_rememberable
from core.memory.gates import (
    FIRST_PERSON,
    Verdict,
    check_example_words,
    check_fact_form,
    check_grounded,
    check_speaker_side,
    check_text,
    content_stems,
    grounding_sentence,
    names_in,
    words,
)
from core.memory.generation import generate, model_kind, truncate_words
from core.memory.home import MemoryHome
from core.memory.person import (
    USER_LABEL,
    introduced_name,
    label_of,
    person_name,
    third_person,
)
from core.memory.thoughts import add_distilled
from core.store.conversations import Message
from core.store.memories import SourceRef

STEP = "facts"
MAX_FACTS = 6
MAX_FACT_WORDS = 40
MIN_GROUNDED_SHARE = 0.75
MESSAGE_WORDS = 250            # a long message is cut to this many words in the prompt
# Conversations are read this many messages at a time (with the one before as context).
# Measured on the LoCoMo dev split, starter model, 5 sessions: 6 at a time found 0.116 of
# the gold observations, 3 found 0.302, 2 found 0.233.
CHUNK_MESSAGES = 3
_PRONOUN_SUBJECT = {"she": "", "he": "", "they": "", "her": "'s", "his": "'s", "their": "'s",
                    "she's": " is", "he's": " is", "they're": " are", "she'd": " would",
                    "he'd": " would", "she'll": " will", "he'll": " will"}


@dataclass
class Refusal:
    text: str
    reason: str


@dataclass
class FactOutcome:
    stored: list[str] = field(default_factory=list)     # new fact ids
    merged: list[str] = field(default_factory=list)     # older facts superseded by new ones
    refused: list[Refusal] = field(default_factory=list)
    duplicates: int = 0                                 # already known, nothing stored
    answered: bool = False                              # the model was asked

    def add(self, other: FactOutcome) -> None:
        self.stored += other.stored
        self.merged += other.merged
        self.refused += other.refused
        self.duplicates += other.duplicates
        self.answered = self.answered or other.answered


@dataclass(frozen=True)
class Candidate:
    """A line of the model's answer, normalised, with the message it cites (or why not)."""
    text: str
    source: Message | None
    verdict: Verdict


def is_person_message(msg: Message) -> bool:
    """Written by a person: the user, or a named participant an importer marked as a person
    (e.g. both friends of a LoCoMo dialogue)."""
    return msg.role == "user" or (isinstance(msg.meta, dict)
                                  and msg.meta.get("author") == "person")


class Labeller:
    """The name each speaker goes by in the prompt: an archive's speaker name, else the
    person's name (known, or introduced in these very messages), else "User"."""

    def __init__(self, known_name: str | None, messages: Sequence[Message]) -> None:
        intro = next((n for m in messages if is_person_message(m)
                      for n in [introduced_name(m.text)] if n), None)
        self.intro = intro
        self.person = intro or known_name or USER_LABEL

    def label(self, msg: Message) -> str:
        return label_of(msg, self.person)


def extract_facts(eng: MemoryHome, llm: LLM, messages: Sequence[Message], *,
                  context: Sequence[Message] = (), seed: int | None = None) -> FactOutcome:
    """Ask for the facts in `messages` (with `context` shown before them), check each one and
    store what passes. Only messages by a person can be cited."""
    messages = [m for m in messages if is_rememberable(m)]
    people = [m for m in messages if is_person_message(m)]
    outcome = FactOutcome()
    if not people or not any(len(words(m.text)) >= 3 for m in people):
        return outcome
    labels = Labeller(person_name(eng), [*context, *messages])
    shown = [m for m in context if is_rememberable(m)] + messages
    conversation = "\n".join(
        f"{labels.label(m)}: {truncate_words(' '.join(m.text.split()), MESSAGE_WORDS)}"
        for m in shown)
    subjects = sorted({labels.label(m) for m in people})
    kind = model_kind(llm)
    text = prompt(STEP, kind, conversation=conversation, names=", ".join(subjects))
    answer = generate(llm, kind, text, max_tokens=220, stops=("\n\n", "Conversation:"),
                      seed=seed)
    outcome.answered = True
    frames = [frame_text(STEP, kind)]
    shown_people = {labels.label(m).lower() for m in shown if is_person_message(m)}
    for cand in read_candidates(answer, people, labels, frames=frames,
                                has_examples=kind == "base", shown_people=shown_people):
        if not cand.verdict.ok:
            outcome.refused.append(Refusal(cand.text, cand.verdict.reason))
            continue
        outcome.add(_store(eng, llm, cand, labels))
    return outcome


def read_candidates(answer: str, people: Sequence[Message], labels: Labeller, *,
                    frames: Sequence[str], has_examples: bool = True,
                    shown_people: Iterable[str] = ()) -> list[Candidate]:
    """The answer's lines as checked candidates (pure: nothing is stored).

    A fact's subject is a person who spoke (by label, "The user", or the name they introduced)
    or something one of them named ("Pixel is Lena's dog"); it cites the best-matching message
    of that person, or of whoever named that thing. A person shown in the conversation
    (`shown_people`, labels in lower case) is never cited through someone else's message that
    names them: "Caroline is a supportive person." from Melanie's "Glad you have support,
    Caroline!" is what the other speaker said."""
    person = labels.person
    shown = set(shown_people)
    speakers: dict[str, list[Message]] = {}
    for m in people:
        speakers.setdefault(labels.label(m).lower(), []).append(m)
    for alias in (third_person(person), "the user", "user", labels.intro or ""):
        if alias and person.lower() in speakers:
            speakers.setdefault(alias.lower(), speakers[person.lower()])
    named: dict[str, list[Message]] = {}        # things the people named ("Pixel")
    for m in people:
        for name in set(names_in(m.text)) - FIRST_PERSON_WORDS:
            named.setdefault(name.lower(), []).append(m)
    labels_ = sorted({labels.label(m) for m in people} | ({labels.intro} if labels.intro else set()))
    out: list[Candidate] = []
    previous = ""
    for raw in _lines(answer)[:MAX_FACTS]:
        text = _normalise(raw, previous, labels_, person)
        text = _first_person_to_third(text, people, labels)
        text = _resolve_pronoun(text, people, labels)
        verdict = check_text(text, frames=frames, max_words=MAX_FACT_WORDS)
        if verdict.ok and has_examples:
            verdict = check_example_words(text, "\n".join(m.text for m in people), frames)
        subject, source = "", None
        if verdict.ok:
            subjects = [*labels_, third_person(person), *(n for n in named if n not in speakers)]
            verdict = check_fact_form(text, subjects)
        if verdict.ok:
            subject = _subject_of(text, [*labels_, third_person(person), *named])
            key = subject.lower()
            pool = speakers.get(key) or ([] if key in shown else named.get(key, []))
            source = best_source(text, pool)
            if source is None and key in shown and key not in speakers:
                who = text[: len(subject)] if text.lower().startswith(key) else subject
                verdict = Verdict.refuse(f"{who} says nothing here: a fact about them needs "
                                         "their own words")
            elif source is None:
                verdict = Verdict.refuse(f"no message of {subject} says this")
        if verdict.ok:
            verdict = check_grounded(text, source.text,
                                     allowed_names=[*labels_, USER_LABEL, person],
                                     min_content_share=MIN_GROUNDED_SHARE, one_sentence=True)
        if verdict.ok and subject.lower() in speakers:
            verdict = check_speaker_side(text, source.text)
        if verdict.ok and subject.lower() in speakers:
            previous = subject
        out.append(Candidate(text, source if verdict.ok else None, verdict))
    return out


FIRST_PERSON_WORDS = frozenset(["I", "I'm", "I've", "I'd", "I'll", "My", "Me", "We", "Our"])
_BE = {"i'm": "is", "i am": "is", "i've": "has", "i have": "has", "i was": "was",
       "i'd": "would", "i will": "will", "i'll": "will", "i can": "can"}


def _first_person_to_third(text: str, people: Sequence[Message], labels: Labeller) -> str:
    """ "I work nights as a nurse." -> "Lena works nights as a nurse.": a fact the model wrote
    in its speaker's own words, put in the third person, with the speaker whose message
    matches it best. Only a leading "I ..." or "My ..." is rewritten; any other first person
    stays (and the fact is refused)."""
    ws = words(text)
    if not ws or ws[0] not in ("I", "I'm", "I've", "I'd", "I'll", "My"):
        return text
    source = best_source(text, people)
    if source is None:
        return text
    name = third_person(labels.label(source))
    low = text.lower()
    for start, verb in sorted(_BE.items(), key=lambda kv: -len(kv[0])):
        if low.startswith(start + " "):
            return f"{name} {verb} {text[len(start) + 1:]}"
    if ws[0] == "My":
        return f"{name}'s {text[3:]}"
    rest = text[2:]
    adverb = ""
    head, _, after = rest.partition(" ")
    if head.lower() in _ADVERBS and after:
        adverb, rest = head + " ", after
    verb, sep, tail = rest.partition(" ")
    return f"{name} {adverb}{_third_person_verb(verb)}{sep}{tail}"


_ADVERBS = frozenset(["really", "also", "just", "usually", "often", "always", "never", "still",
                      "sometimes", "recently", "finally", "actually"])


def _resolve_pronoun(text: str, people: Sequence[Message], labels: Labeller) -> str:
    """ "She loves camping with her kids." with no earlier subject: the speaker whose message
    says it best (most shared words), as the grounding check will then verify."""
    ws = words(text)
    if not ws or ws[0].lower() not in _PRONOUN_SUBJECT:
        return text
    source = best_source(text, people)
    if source is None:
        return text
    # only when the speaker said it of themselves ("I love camping"): in "My brother moved.
    # He loves skiing." the "he" is someone else
    said = {w.lower() for w in words(grounding_sentence(text, source.text))}
    if not said & FIRST_PERSON or said & {"he", "she", "they", "him", "her", "them"}:
        return text
    tail = _PRONOUN_SUBJECT[ws[0].lower()]
    return third_person(labels.label(source)) + tail + text[len(ws[0]):]


def _third_person_verb(verb: str) -> str:
    v = verb.lower()
    if v.endswith("ed") or v in _IRREGULAR_PAST or not v.isalpha():
        return verb
    if v in ("do", "go"):
        return verb + "es"
    if v.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if v.endswith("y") and len(v) > 2 and v[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


_IRREGULAR_PAST = frozenset([
    "went", "got", "had", "made", "took", "saw", "came", "gave", "found", "thought", "told",
    "became", "left", "felt", "brought", "began", "kept", "held", "wrote", "stood", "heard",
    "let", "meant", "set", "met", "ran", "paid", "sat", "spoke", "lay", "led", "read", "grew",
    "lost", "fell", "sent", "built", "understood", "drew", "broke", "spent", "cut", "rose",
    "drove", "bought", "wore", "chose",
])


def best_source(fact: str, messages: Sequence[Message]) -> Message | None:
    """The message sharing the most content words with `fact` (None when none shares any)."""
    stems = content_stems(fact)
    scored = [(len(stems & content_stems(m.text)), i, m) for i, m in enumerate(messages)]
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None
    return max(scored, key=lambda s: (s[0], -s[1]))[2]


def _lines(answer: str) -> list[str]:
    """'- fact' lines (the base frame's answer begins after its first '-')."""
    out = []
    for i, line in enumerate(answer.splitlines()):
        line = line.strip()
        if line.startswith(("-", "*", "•")):
            line = line[1:].strip()
        elif i > 0 or not line:
            continue
        if line and not re.fullmatch(r"\(?none\)?\.?", line, re.IGNORECASE):
            out.append(line)
    return out


def _normalise(text: str, previous: str, names: Sequence[str], person: str) -> str:
    """Resolve a leading pronoun to the previous fact's subject, a nickname to the full name
    ("Mel" -> "Melanie") and "User" to the person's name (or "The user")."""
    text = " ".join(text.split()).strip('"')
    first = re.match(r"(.+?[.!?])(\s|$)", text)      # a fact is one sentence
    if first:
        text = first.group(1)
    ws = words(text)
    if not ws:
        return text
    first = ws[0]
    low = first.lower()
    if low in _PRONOUN_SUBJECT and previous:
        return previous + _PRONOUN_SUBJECT[low] + text[len(first):]
    if low in ("user", "user's"):
        return third_person(person) + text[len("User"):]
    if text.lower().startswith("the user") and person != USER_LABEL:
        return person + text[len("the user"):]
    for name in names:
        if len(first) >= 3 and name.lower() != low and name.lower().startswith(low):
            return name + text[len(first):]
    return text


def _subject_of(text: str, names: Sequence[str]) -> str:
    low = text.lower()
    return max((n for n in names if low.startswith(n.lower())), key=len, default="")


def _store(eng: MemoryHome, llm: LLM, cand: Candidate, labels: Labeller) -> FactOutcome:
    out = FactOutcome()
    src = cand.source
    existing = {m.text.lower(): m for m in eng.memories.list(
        kinds=["fact"], text=cand.text, limit=20)}
    if cand.text.lower() in existing:
        out.duplicates += 1
        return out
    meta = {"speaker": labels.label(src), "model": llm.name, "step": STEP}
    if labels.intro and labels.intro.lower() in cand.text.lower() \
            and introduced_name(src.text) == labels.intro:
        meta["intro_name"] = labels.intro
    turn = eng.memories.turn_of_message(src.id)
    if turn:
        meta["turn"] = turn
    op = add_distilled(eng, "fact", cand.text, subject=_subject_of(
        cand.text, [labels.label(src), third_person(labels.person)]).lower(),
        sources=[SourceRef(message_id=src.id, conversation_id=src.conversation_id,
                           import_id=src.import_id)],
        conversation_id=src.conversation_id, occurred_at=src.created_at, meta=meta,
        actor="assistant", note="facts distilled from the conversation")
    out.stored.append(op.thought_id)
    out.merged += op.replaced
    return out


def post_think(eng: MemoryHome, llm: LLM, conversation_id: str, message_id: str) -> FactOutcome:
    """After an answer: the facts of the latest exchange (the person's message and the reply),
    with the turn before it as context."""
    conv = eng.conversations.get(conversation_id)
    if conv.incognito:
        return FactOutcome()
    reply = eng.conversations.get_message(message_id)
    exchange = [reply]
    context: list[Message] = []
    if reply.parent_id:
        user = eng.conversations.get_message(reply.parent_id)
        exchange.insert(0, user)
        if user.parent_id:
            context = [eng.conversations.get_message(user.parent_id)]
    return extract_facts(eng, llm, exchange, context=context)


def extractable_thread(eng: MemoryHome, conversation_id: str) -> list[Message]:
    """The visible messages facts are read from (none for an incognito conversation)."""
    if eng.conversations.get(conversation_id).incognito:
        return []
    return [m for m in eng.conversations.thread(conversation_id) if is_rememberable(m)]


def extract_thread(eng: MemoryHome, llm: LLM, thread: Sequence[Message], *, cursor: int = 0,
                   should_yield: Callable[[], bool] = lambda: False,
                   on_progress: Callable[[int], None] = lambda end: None,
                   seed: int | None = None) -> tuple[FactOutcome, int | None]:
    """Facts over `thread` from message `cursor` on, a chunk at a time, each chunk shown with
    the message before it. Returns the outcome and, when `should_yield` stopped it at a chunk
    boundary, where to resume (else None). `on_progress(end)` follows each chunk."""
    total = FactOutcome()
    for start, end in chunks(thread):
        if end <= cursor:
            continue
        if should_yield():
            return total, start
        total.add(extract_facts(eng, llm, thread[start:end],
                                context=thread[max(0, start - 1):start], seed=seed))
        on_progress(end)
    return total, None


def chunks(thread: Sequence[Message], size: int = CHUNK_MESSAGES) -> list[tuple[int, int]]:
    """(start, end) index ranges over a thread, `size` messages each."""
    return [(i, min(i + size, len(thread))) for i in range(0, len(thread), size)]


def describe(outcome: FactOutcome) -> str:
    """One line for a job's record: what was stored and what was refused, and why."""
    parts = [f"{len(outcome.stored)} stored"]
    if outcome.merged:
        parts.append(f"{len(outcome.merged)} merged")
    if outcome.duplicates:
        parts.append(f"{outcome.duplicates} already known")
    if outcome.refused:
        reasons = "; ".join(f"'{r.text[:60]}': {r.reason}" for r in outcome.refused[:3])
        parts.append(f"{len(outcome.refused)} refused ({reasons})")
    return ", ".join(parts)
