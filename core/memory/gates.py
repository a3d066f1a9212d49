"""Quality gates: what a model wrote is checked before anything is stored.

A model's answer is untrusted input. Small models (the starter is a 270M base model) echo their
prompt, loop, or confidently invent a name or a time; a big model does it less often, never
never. Every memory step (facts, running and level-2 summaries, daily summaries, portraits)
passes its answer through these checks, and a refused answer is stored nowhere: the job fails
with the reason (see core.services.memory_worker).

The checks, each a plain function of text so they can be tested on their own:
- `empty`: no words at all;
- `too long`: over the step's word bound;
- `loop`: the same three words three times, the same sentence twice, or very few distinct
  words in a long answer;
- `echo`: a run of words copied from the prompt's own text (its instructions, its worked
  examples, the system prompt), which is never what was asked for;
- `not grounded`: a name, number or content word that does not come from the source text the
  answer must be based on (the turns a fact cites, the exchange a summary covers).

Chat replies are not refused but cut (`ReplyGuard`): at the start of a loop or of an echo,
with the reason kept with the reply.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.memory.retrieval import _STOPWORDS

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
# Words a fact may use without finding them in its source: they relate what the source says
# ("Lena *has* a dog *named* Pixel") rather than adding to it.
RELATION_WORDS = frozenset([
    "ago", "also", "are", "be", "been", "called", "can", "could", "currently", "did", "does",
    "doing", "enjoy", "enjoyed", "enjoys", "feel", "feels", "felt", "find", "finds", "found",
    "get", "gets", "goes", "going", "got", "had", "has", "have", "having", "he", "her", "hers",
    "herself", "him", "himself", "his", "is", "keep", "keeps", "last", "later", "like", "liked",
    "likes", "live", "lived", "lives", "lot", "love", "loved", "loves", "made", "make", "makes",
    "many", "much", "named", "next", "now", "often", "one", "own", "people",
    "person", "plan", "planned", "planning", "plans", "really", "recently", "said", "says",
    "she", "someone", "something", "sometimes", "soon", "still", "tells", "their", "them",
    "themselves", "they", "thing", "things", "think", "thinks", "told", "user", "user's",
    "usually", "very", "want", "wanted", "wants", "was", "went", "were", "will", "work",
    "worked", "working", "works", "would", "year", "years",
])
MIN_WORDS = 3               # "User:" or "Pixel." is not a memory
DIALOGUE_LINE = re.compile(r"^\s*[^\W\d_][\w .'-]{0,40}:(\s|$)")
ECHO_RUN_WORDS = 6          # this many words in a row copied from the prompt's own text
REPLY_ECHO_RUN_WORDS = 8    # in a chat reply (answers may quote a memory or two)
PARROT_RUN_WORDS = 7        # a reply saying this many words of the person's message back


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""

    @classmethod
    def refuse(cls, reason: str) -> Verdict:
        return cls(False, reason)


ACCEPTED = Verdict(True)


# -- words -------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _norm(word: str) -> str:
    return word.lower().replace("’", "'")


def stem(word: str) -> str:
    """A crude English stem, enough to match "paints" with "painting" and "kids" with "kid"."""
    w = _norm(word)
    w = w.removesuffix("'s")
    for suffix in ("ingly", "ings", "ing", "edly", "ies", "ied", "ed", "es", "ly", "s"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            w = w[: -len(suffix)]
            break
    if len(w) > 3 and w[-1] == w[-2]:      # swimming -> swimm -> swim
        w = w[:-1]
    return w[:6]


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in words(text) if _norm(w) not in _STOPWORDS}


def numbers_in(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:[.,:]\d+)*", text))


def names_in(text: str) -> list[str]:
    """Capitalised words that are not the first word of a sentence (likely names)."""
    out = []
    for sentence in _SENTENCE.findall(text):
        for w in words(sentence)[1:]:
            if w[:1].isupper() and w.lower() not in ("i", "i'm", "i've", "i'd", "i'll"):
                out.append(w)
    return out


# -- the checks --------------------------------------------------------------------------
def repetition(text: str) -> str:
    """Why `text` looks like a loop, or '' when it does not."""
    ws = [_norm(w) for w in words(text)]
    if len(ws) >= 9:
        grams = Counter(tuple(ws[i : i + 3]) for i in range(len(ws) - 2))
        gram, n = grams.most_common(1)[0]
        if n >= 3:
            return f"a loop ('{' '.join(gram)}' {n} times)"
    sentences = [" ".join(words(s)).lower() for s in _SENTENCE.findall(text)]
    sentences = [s for s in sentences if len(s.split()) >= 3]
    repeated = [s for s, n in Counter(sentences).items() if n >= 2]
    if repeated:
        return f"a loop (the sentence '{repeated[0][:60]}' twice)"
    if len(ws) >= 24 and len(set(ws)) / len(ws) < 0.35:
        return "a loop (few distinct words)"
    return ""


def copied_run(text: str, frames: Iterable[str], min_words: int) -> str:
    """The first run of `min_words` or more words of `text` found word for word in one of
    `frames`, or ''."""
    ws = [_norm(w) for w in words(text)]
    if len(ws) < min_words:
        return ""
    for frame in frames:
        fw = [_norm(w) for w in words(frame)]
        if len(fw) < min_words:
            continue
        grams = {tuple(fw[i : i + min_words]) for i in range(len(fw) - min_words + 1)}
        for i in range(len(ws) - min_words + 1):
            if tuple(ws[i : i + min_words]) in grams:
                return " ".join(ws[i : i + min_words])
    return ""


def check_text(text: str, *, frames: Sequence[str] = (), max_words: int = 60) -> Verdict:
    """The checks every stored model text passes: not empty, bounded, no loop, no echo, and
    in the third person (a memory is about someone: never to "you", never "I")."""
    ws = words(text)
    if not ws:
        return Verdict.refuse("empty")
    if len(ws) < MIN_WORDS:
        return Verdict.refuse(f"too short ({len(ws)} words)")
    if DIALOGUE_LINE.match(text):
        return Verdict.refuse("a line of dialogue, not a memory")
    if any(_norm(w) in SECOND_PERSON for w in ws):
        return Verdict.refuse("addressed to someone ('you'), not a memory")
    if any(_norm(w) in FIRST_PERSON for w in ws):
        return Verdict.refuse("in the first person ('I'): a copy of a message, not a memory")
    if len(ws) > max_words:
        return Verdict.refuse(f"too long ({len(ws)} words, at most {max_words})")
    loop = repetition(text)
    if loop:
        return Verdict.refuse(loop)
    run = copied_run(text, frames, ECHO_RUN_WORDS)
    if run:
        return Verdict.refuse(f"an echo of the prompt ('{run}')")
    return ACCEPTED


SECOND_PERSON = frozenset(["you", "your", "yours", "yourself", "you're", "you've", "you'd",
                           "you'll"])
FIRST_PERSON = frozenset(["i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll", "we",
                          "us", "our", "ours", "we're"])


def check_fact_form(text: str, subjects: Iterable[str]) -> Verdict:
    """A fact is a self-contained sentence about someone: it starts with the name of who it is
    about (one of `subjects`), is not a line of dialogue ("Tom: ...") and has no first person."""
    ws = words(text)
    if not ws:
        return Verdict.refuse("empty")
    if DIALOGUE_LINE.match(text):
        return Verdict.refuse("a line of dialogue, not a fact")
    names = {_norm(s) for s in subjects if s}
    first = _norm(ws[0]).removesuffix("'s")
    two = " ".join(_norm(w) for w in ws[:2]).removesuffix("'s")
    if first not in names and two not in names:
        shown = sorted({s for s in subjects if s and s[:1].isupper()}) or ["a speaker"]
        return Verdict.refuse(f"not about {' or '.join(shown)} (starts with '{ws[0]}')")
    if any(_norm(w) in FIRST_PERSON for w in ws):
        return Verdict.refuse("not self-contained (first person)")
    if any(_norm(w) in SECOND_PERSON for w in ws):
        return Verdict.refuse("not self-contained (second person)")
    return ACCEPTED


def check_example_words(text: str, source: str, frames: Sequence[str]) -> Verdict:
    """A content word of the prompt's own worked examples that the source does not have is a
    copy of the example ("tyre" in the summary of a chat about dogs)."""
    src = content_stems(source)
    example = set().union(*(content_stems(f) for f in frames)) - src if frames else set()
    for w in words(text):
        s = stem(w)
        if (_norm(w) not in _STOPWORDS and _norm(w) not in RELATION_WORDS and s in example
                and not any(_same_family(s, t) for t in src)):
            return Verdict.refuse(f"copies the prompt's example ('{w}')")
    return ACCEPTED


def _same_family(a: str, b: str) -> bool:
    """Two stems of one word family: "liv" (lives) and "live", "stud" (studies) and "study",
    "allerg" (allergic) and "allergy" or "allergen": the same once a final e/i/y goes, or one
    begins the other and they share at least five letters. (Only for the example-words gate:
    grounding keeps the finer stem, so "name" is not grounded by "named".)"""
    a2 = a[:-1] if len(a) > 3 and a[-1] in "eiy" else a
    b2 = b[:-1] if len(b) > 3 and b[-1] in "eiy" else b
    if a2 == b2:
        return True
    return min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a))


def grounding_sentence(text: str, source: str) -> str:
    """The sentence of `source` that shares the most content words with `text`."""
    stems = content_stems(text)
    pieces = [p for p in _SENTENCE.findall(source) if p.strip()] or [source]
    return max(pieces, key=lambda p: len(stems & content_stems(p)))


def check_speaker_side(fact: str, source: str) -> Verdict:
    """A fact about the speaker cannot rest on a sentence about someone else: "Your kids are
    amazing!" is no ground for "Caroline's kids are amazing", nor "Our dog Bolacha is three
    years old and loves the beach" for "Marta loves the beach" (the starter wrote that)."""
    sentence = grounding_sentence(fact, source)
    ws = {_norm(w) for w in words(sentence)}
    if ws & SECOND_PERSON and not ws & FIRST_PERSON:
        return Verdict.refuse("about the listener, not the speaker (its source says 'you')")
    owner = _said_of_another(fact, sentence)
    if owner:
        return Verdict.refuse(f"about someone else: its source says it of '{owner}'")
    return ACCEPTED


_SUBJECT_PRONOUNS = frozenset(["i", "i'm", "i've", "i'd", "i'll", "we", "we're", "we've",
                               "we'd", "we'll"])
_POSSESSORS = frozenset(["my", "our", "his", "her", "their"])
_AUXILIARIES = frozenset(["is", "was", "are", "were", "has", "had", "have", "'s"])


def _said_of_another(fact: str, sentence: str) -> str:
    """The noun phrase ("our dog Bolacha") that the source sentence starts with and says the
    fact's predicate of, when no "I" or "we" stands between it and the predicate; "" otherwise
    ("Losing my job pushed me to ..." is not about the job). Only
    for a fact that starts with the person ("Marta loves ..."), not with what they have
    ("Marta's dog ...")."""
    fw = [_norm(w) for w in words(fact)]
    at = next((i for i, w in enumerate(words(fact)) if w[:1].islower() and w != "user"), None)
    if at is None or at == 0 or fw[at - 1].endswith("'s"):
        return ""
    anchor = fw[at + 1] if fw[at] in _AUXILIARIES and at + 1 < len(fw) else fw[at]
    sw = [_norm(w) for w in words(sentence)]
    place = next((i for i, w in enumerate(sw) if stem(w) == stem(anchor)), None)
    if place is None:
        return ""
    before = sw[:place]
    if set(before) & (_SUBJECT_PRONOUNS | set(fw[:at])):    # "I ...", or the fact's own subject
        return ""
    if len(before) < 2 or before[0] not in _POSSESSORS:     # the sentence is about "our dog"
        return ""
    return " ".join(before[:3])


_POSSESSIVE = re.compile(r"\b([A-Z][\w-]+)'s\s+([a-z]+)\b")
_IDENTITY = re.compile(r"\b(The user|[A-Z][\w-]+)\s+(?:is|was)\s+(?:a|an)\s+([a-z]+)\b")


def check_relations(text: str, source: str, speakers: Iterable[str] = ()) -> Verdict:
    """Who is whose, and who is what, as the source says it. The words can all be in the
    source and the sentence still be false: "My sister Ana has two cats" is no ground for
    "Ana's sister has two cats" (the relation turned round) nor for "Ana is a cat" (a name
    given a kind the source gives someone else). A `speaker` (and "The user") says what they
    are in the first person ("I'm a counselor", "I work as a nurse"): without that, "The user
    is a dog." (from "Our dog Bolacha ...", stored by the starter) is refused."""
    own = {_norm(n) for n in speakers} | {"the user"}
    for name, word in _POSSESSIVE.findall(text):
        n, w = re.escape(name), re.escape(word)
        if (re.search(rf"(?i:\b{w})\s+{n}\b", source)
                and not re.search(rf"\b{n}'s\s+(?i:{w})", source)):
            return Verdict.refuse(f"turns the relation round ('{name}'s {word}'; its source "
                                  f"says '{word} {name}')")
    for name, word in _IDENTITY.findall(text):
        w = re.escape(stem(word))
        if _norm(name) in own:
            first_person = (rf"(?i:\bI(?:'m|’m|\s+am|\s+was)\s+(?:\w+\s+)?(?:a|an)\s+{w}"
                            rf"|\bas\s+(?:a|an)\s+{w})")
            if not re.search(first_person, source):
                return Verdict.refuse(f"not grounded (its source has no 'I'm a {word}')")
            continue
        n = re.escape(name)
        named_as = (rf"(?i:\b{w}\w*),?\s+(?:(?i:named|called)\s+)?"
                    rf"(?:[A-Z][\w-]+,?\s+(?:and\s+)?)*{n}\b")
        says_is = rf"\b{n}(?:\s+(?i:is|was)|'s|,\s+(?i:a|an|the|my|our))\b"
        if not re.search(named_as, source) and not re.search(says_is, source):
            return Verdict.refuse(f"not grounded (its source does not call {name} a {word})")
    return ACCEPTED


def check_grounded(text: str, source: str, *, allowed_names: Iterable[str] = (),
                   min_content_share: float = 0.75, one_sentence: bool = False) -> Verdict:
    """Names and numbers of `text` must be in `source`; so must most of its content words.

    With `one_sentence` (facts) they must come from one sentence of the source, and no word
    may be used more often than there: "Lena's name is a dog" takes "name" and "dog" from two
    different sentences of "My name is Lena. I have a dog named Pixel." and is refused."""
    src_lower = source.lower()
    allowed = {_norm(n) for n in allowed_names}
    relation = check_relations(text, source, allowed)
    if not relation.ok:
        return relation
    for number in numbers_in(text):
        if number not in source:
            return Verdict.refuse(f"not grounded (the number {number} is not in its source)")
    for name in names_in(text):
        n = _norm(name)
        if n in allowed or n.removesuffix("'s") in allowed:
            continue
        if not re.search(rf"\b{re.escape(n.removesuffix(chr(39) + 's'))}", src_lower):
            return Verdict.refuse(f"not grounded (the name '{name}' is not in its source)")
    # names were checked above; the share is of the other words ("Pixel's dog lives in the
    # house": dog yes, house no)
    ws = words(text)
    capitalised = {_norm(w) for w in names_in(text)} | ({_norm(ws[0])} if ws and ws[0][:1]
                                                         .isupper() else set())
    kept = [w for w in ws if _norm(w) not in _STOPWORDS
            and _norm(w) not in RELATION_WORDS and _norm(w) not in allowed
            and _norm(w).removesuffix("'s") not in allowed and _norm(w) not in capitalised]
    if not kept:
        return ACCEPTED
    own = [stem(w) for w in kept]
    shown = dict(zip(own, kept, strict=True))
    pieces = [p for p in _SENTENCE.findall(source) if p.strip()] if one_sentence else [source]
    best_missing: list[str] = own
    best_piece = ""
    for piece in pieces or [source]:
        have = content_stems(piece)
        missing = [w for w in own if w not in have]
        if len(missing) < len(best_missing):
            best_missing, best_piece = missing, piece
    share = 1 - len(best_missing) / len(own)
    if share < min_content_share:
        where = "one sentence of its source" if one_sentence else "its source"
        missing = ", ".join(dict.fromkeys(shown[w] for w in best_missing[:4]))
        return Verdict.refuse(f"not grounded ({missing} not in {where})")
    if one_sentence:
        have = Counter(stem(w) for w in words(best_piece))
        counted = [w for w in ws if _norm(w) not in _STOPWORDS and _norm(w) not in RELATION_WORDS
                   and _norm(w).removesuffix("'s") not in allowed]
        for word, n in Counter(stem(w) for w in counted).items():
            if word in have and n > have[word]:
                shown_word = next(w for w in counted if stem(w) == word)
                return Verdict.refuse(f"not grounded ('{shown_word}' more often than in its "
                                      "source)")
    return ACCEPTED


def _grams(text: str, run: int) -> set[tuple[str, ...]]:
    """The runs of `run` words of `text` (none when it is shorter)."""
    fw = [_norm(w) for w in words(text)]
    return {tuple(fw[i : i + run]) for i in range(len(fw) - run + 1)}


class ReplyGuard:
    """Cuts a chat reply where it starts to loop or to copy its prompt.

    `frames` are (text, run) pairs: a run of `run` words copied from `text` is an echo (the
    system prompt and the frame's example need fewer words than the memories, which an answer
    may quote). The n-grams of the frames are computed once, so the guard can look at the
    growing reply after every streamed piece."""

    def __init__(self, frames: Sequence[tuple[str, int]] = (), *,
                 example_names: Iterable[str] = (), said: str = "") -> None:
        """`example_names`: names that appear only in the prompt's worked example (the cat
        "Miso" of the base frame): a reply that uses one is answering the example. `said`:
        the person's message, which a reply must not say back to them (all of it when it is
        short, else PARROT_RUN_WORDS of it in a row: a base model continues the person's
        voice, and "Hi, I'm Omar, I teach maths in Leeds." came back word for word)."""
        self._names = {_norm(n) for n in example_names}
        self._frames = [(run, _grams(text, run), "echo of the prompt") for text, run in frames]
        own = len(words(said))
        if own >= 3:
            run = min(PARROT_RUN_WORDS, own)
            self._frames.append((run, _grams(said, run), "repeats the person's message"))

    def cut(self, text: str) -> tuple[str, str]:
        """(kept text, reason); the reason is '' when nothing was cut."""
        cut_at, reason = len(text), ""
        seen: set[str] = set()
        for m in re.finditer(r"[^.!?\n]+[.!?]?\s*", text):
            key = " ".join(words(m.group())).lower()
            if len(key.split()) >= 3 and key in seen:
                cut_at, reason = m.start(), "loop"
                break
            seen.add(key)
        ws = list(_WORD.finditer(text))
        norm = [_norm(w.group()) for w in ws]
        first_at: dict[tuple[str, ...], int] = {}
        counts: Counter = Counter()
        for i in range(len(norm) - 2):
            gram = tuple(norm[i : i + 3])
            counts[gram] += 1
            first_at.setdefault(gram, i)
            if counts[gram] >= 3:
                second = next(j for j in range(first_at[gram] + 1, i + 1)
                              if tuple(norm[j : j + 3]) == gram)
                if ws[second].start() < cut_at:
                    cut_at, reason = ws[second].start(), "loop"
                break
        for i, w in enumerate(ws):
            if norm[i] in self._names and w.start() < cut_at:
                start = max([m.start() for m in re.finditer(r"(?:^|[.!?]\s+)", text)
                             if m.start() <= w.start()] or [0])
                cut_at, reason = start, f"echo of the prompt's example ('{w.group()}')"
                break
        for run, grams, why in self._frames:
            for i in range(len(norm) - run + 1):
                if tuple(norm[i : i + run]) in grams:
                    if ws[i].start() < cut_at:
                        cut_at, reason = ws[i].start(), why
                    break
        if not reason:
            return text, ""
        return text[:cut_at].rstrip(" ,;:-\n[(\"'"), reason


def cut_reply(text: str, frames: Sequence[tuple[str, int]] = ()) -> tuple[str, str]:
    """`ReplyGuard(frames).cut(text)`."""
    return ReplyGuard(frames).cut(text)
