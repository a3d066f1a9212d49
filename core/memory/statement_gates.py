"""Gates for the model's summaries and portraits: a stored summary must be a statement that
its source makes, not a copy of one of its lines.

The common gates (core.memory.gates) check that an answer is bounded, no loop, no echo and
grounded word by word. Every word can be grounded and the sentence still be nothing one should
store; the starter model wrote all of these from imported archives and a short chat:
- a copy of one source line: "Turn this into a bash command." (a daily portrait);
- not a statement: a question, an instruction, a fragment without a verb ("User's bash script
  to turn this into a bash command."), a sentence broken off ("Biscuit's cat is called.");
- a portrait that is not about the person it portrays;
- someone's thing the source does not give them ("User's instrument is learning the oud.",
  "Biscuit's cat ...", from "my cat is called Biscuit");
- a question made a deed: "User wrote a function in JavaScript ..." from "How do I write a
  function in JavaScript?".
Each check is a plain function of text, and `check_statement` runs them in order.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from core.memory.gates import (
    ACCEPTED,
    DIALOGUE_LINE,
    FIRST_PERSON,
    Verdict,
    _same_family,
    content_stems,
    stem,
    words,
)
from core.memory.person import introduced_name


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
# a copy: a run of words of one line of dialogue that is most of the line and of the answer
COPY_LINE_SHARE = 0.8
COPY_SHARE = 0.85

AUXILIARIES = _word_set("""am is are was were be been being has have had does do did will
would can could should shall may might must isn't aren't wasn't weren't hasn't haven't hadn't
doesn't don't didn't won't wouldn't can't couldn't shouldn't he's she's it's they're they've
he'd she'd they'd he'll she'll they'll there's""")
QUESTION_WORDS = _word_set("what when where who whom whose why how which")
# a sentence that opens with one of these is asking for something, not saying it
IMPERATIVES = _word_set("""add answer build calculate change check compare convert create
define describe do draft edit explain find fix generate give help imagine list make name
please pretend provide read remember rewrite say show suggest summarise summarize tell
translate try turn use write""")
# a finite verb that does not end in -ed or -s
IRREGULAR_PAST = _word_set("""ate became began bought brought built came caught chose did drew
drank drove fell felt fought found flew forgot gave got grew had heard held hid hurt kept knew
learnt left lent lost made meant met paid put quit ran rang read rode said sang sat saw sent
set shook shot sang slept sold spent spoke stood stole swam taught thought threw told took
understood went woke won wore wrote""")
# a sentence that ends on one of these was broken off ("Biscuit's cat is called.")
DANGLING = _word_set("""a an the and or but of to for from with in on at by as about into
than that which who whose is are was were be been has have had called named his her their its
my your our this these those very also""")
# not a noun after "'s": "Tom's going", "Tom's been", "Tom's not"
_NOT_NOUN = AUXILIARIES | _word_set("""a an the not also been got gotten going just never
always still very really now""")
# a summary of a question says it was one
ASKING = _word_set("""ask asked asking asks advice curious help helped how ideas inquired
learn learning looked looking question questions request requested requests seeking sought
suggestion suggestions tips want wanted wanting wants whether wonder wondered wondering
wonders""")
DETERMINERS = _word_set("""a an the his her their its my our your two three four some many
several these those of and every each no any other""")


def _norm(word: str) -> str:
    return word.lower().replace("’", "'")


def _norm_words(text: str) -> list[str]:
    return [_norm(w) for w in words(text)]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if words(s)]


def dialogue_lines(source: str) -> list[str]:
    """The source's lines of dialogue ("Tom: ..."), without their speaker label."""
    return [line.split(":", 1)[1].strip() for line in source.splitlines()
            if DIALOGUE_LINE.match(line)]


def _longest_run(a: list[str], b: list[str]) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def check_not_copied(text: str, source: str) -> Verdict:
    """A summary is not one of the lines it summarises: refused when a line of dialogue (or
    one sentence of it) is copied, all or most of it, and the copy is nearly all of the
    answer ("Turn this into a bash command."). A line in the first person is restated, not
    copied ("My dog Pixel is sick": "Lena's dog Pixel is sick"), and "User asked how to ..."
    is more than the question it reports."""
    ans = _norm_words(text)
    if len(ans) < 3:
        return ACCEPTED
    for line in dialogue_lines(source):
        for piece in dict.fromkeys([line, *_sentences(line)]):
            said = _norm_words(piece)
            if set(said) & FIRST_PERSON:
                continue        # put in the third person, it is a restatement, not a copy
            run = _longest_run(ans, said)
            if run >= 3 and run >= COPY_LINE_SHARE * len(said) and run >= COPY_SHARE * len(ans):
                return Verdict.refuse(f"a copy of a line of its source ('{piece[:60]}')")
    return ACCEPTED


def is_question(sentence: str) -> bool:
    ws = _norm_words(sentence)
    if not ws:
        return False
    if sentence.rstrip().endswith("?"):
        return True
    # "What about 10 year old model", "Is it for a fully loaded car" (chat drops the "?")
    if ws[0] in QUESTION_WORDS or (ws[0] in AUXILIARIES and "'" not in ws[0]):
        return True
    # "Layla's name and when does she start school": a question inside the sentence
    return any(a in QUESTION_WORDS and b in AUXILIARIES and c not in AUXILIARIES
               and c not in DETERMINERS and i > 0
               for i, (a, b, c) in enumerate(zip(ws, ws[1:], ws[2:], strict=False)))


def has_finite_verb(sentence: str) -> bool:
    """A crude test for a verb that makes a sentence a statement: an auxiliary, an irregular
    past, a word in -ed (not "named"/"called" after a noun), or a word in -s after its
    subject (not after "a", "the", "two" ...)."""
    ws = _norm_words(sentence)
    for i, w in enumerate(ws):
        if w in AUXILIARIES or w in IRREGULAR_PAST:
            return True
        if i == 0 or w.endswith("'s"):
            continue
        prev = ws[i - 1]
        if w.endswith("ed") and len(w) > 4 and w not in ("named", "called"):
            return True
        if (w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3
                and prev not in DETERMINERS and not prev.endswith("'s")):
            return True
    return False


def check_statement_form(text: str) -> Verdict:
    """Each sentence says something: not a question, not an instruction, not broken off,
    not without a verb."""
    for sentence in _sentences(text):
        ws = _norm_words(sentence)
        if is_question(sentence):
            return Verdict.refuse(f"a question, not a statement ('{sentence[:60]}')")
        if ws[0] in IMPERATIVES and (len(ws) < 2 or ws[1] not in AUXILIARIES):
            return Verdict.refuse(f"an instruction, not a statement ('{sentence[:60]}')")
        if ws[-1] in DANGLING or ws[-1].endswith("'s"):
            return Verdict.refuse(f"an unfinished sentence (ends after '{words(sentence)[-1]}')")
        if not has_finite_verb(sentence):
            return Verdict.refuse(f"a fragment without a verb ('{sentence[:60]}')")
    return ACCEPTED


def check_about(text: str, subjects: Iterable[str]) -> Verdict:
    """A portrait starts with the person it portrays ("Tom ...", "Tom's ...", "The user ...")."""
    names = {_norm(s) for s in subjects if s} | {"the user", "user"}
    ws = _norm_words(text)
    if not ws:
        return Verdict.refuse("empty")
    first, two = ws[0].removesuffix("'s"), " ".join(ws[:2]).removesuffix("'s")
    if first in names or two in names:
        return ACCEPTED
    shown = sorted({s for s in subjects if s and s[:1].isupper()}) or ["the person"]
    return Verdict.refuse(f"not about {' or '.join(shown)} (starts with '{words(text)[0]}')")


_POSSESSION = re.compile(r"\b([A-Z][\w-]*|user)['’]s\s+([a-z][\w-]*)")
_HAS = r"(?:has|had|have|owns|own|got|adopted|bought|keeps|keep)"
_MINE = rf"\b(?:my|our)\b|\b(?:i|we)\s+(?:{_HAS}|'ve\s+got)\b|\b(?:i've|we've)(?:\s+got)?\b"


_I_AM = r"\b(?:i'm|i am|i was)\b"


def _words_after(pattern: str, source: str, n: int) -> set[str]:
    """The stems of the `n` words after each match of `pattern` (case-insensitive)."""
    out: set[str] = set()
    for m in re.finditer(pattern, source, flags=re.IGNORECASE):
        out |= {stem(w) for w in words(source[m.end():])[:n]}
    return out


def speakers_of(source: str, speakers: Iterable[str]) -> set[str]:
    """Who speaks in `source` (its "Tom:" labels, the names they introduce, "I'm Omar"), and
    `speakers`: their "my" and "I'm" are about themselves."""
    own = {_norm(s) for s in speakers if s} | {"user"}
    for line in source.splitlines():
        if DIALOGUE_LINE.match(line):
            label, said = line.split(":", 1)
            own |= {_norm(label), _norm(introduced_name(said) or "")}
    return own - {""}


def check_possessions(text: str, source: str, speakers: Iterable[str]) -> Verdict:
    """ "Tom's bike" needs a source that gives Tom a bike: "Tom's bike", or, when Tom is a
    speaker, "my bike" / "I have a bike" in what was said; for anyone else "Tom has a bike".
    "Biscuit's cat" from "My cat is called Biscuit" is refused."""
    own = speakers_of(source, speakers)
    for name, word in _POSSESSION.findall(text):
        w = _norm(word)
        if w in _NOT_NOUN or w.endswith("ing"):
            continue
        n = re.escape(name)
        given = _words_after(rf"\b{n}['’]s\b", source, 1)
        given |= _words_after(rf"\b{n}\s+{_HAS}\b", source, 4)
        if _norm(name) in own:        # "my bike", "I have a bike"; "I'm allergic" (Tom's = is)
            given |= _words_after(_MINE, source, 3) | _words_after(_I_AM, source, 2)
        else:
            given |= _words_after(rf"\b{n}\s+(?:is|was)\b", source, 2)
        if stem(w) not in given:
            return Verdict.refuse(f"not grounded (its source does not say {name} has "
                                  f"one: '{name}'s {word}')")
    return check_doer(text, source)


_DOING = re.compile(r"\b(?:[A-Z][\w-]*|user)['’]s\s+([a-z][\w-]*)\s+(?:is|was|are|were)\s+"
                    r"([a-z]+ing)\b")


def check_doer(text: str, source: str) -> Verdict:
    """ "User's instrument is learning the oud" from "I'm learning the oud": what the speaker
    does is not done by their thing. "Tom's daughter is learning the oud" needs "my daughter
    (Layla) is learning"."""
    for word, doing in _DOING.findall(text):
        said = rf"(?i)\b{re.escape(word)}\w*\s+(?:[\w-]+\s+){{0,2}}?(?:is|was|are|were|'s)\s+" \
               rf"{re.escape(doing)}"
        if not re.search(said, source):
            return Verdict.refuse(f"not grounded (its source does not say the {word} is "
                                  f"{doing})")
    return ACCEPTED


_KIND = re.compile(r"\b([A-Z][\w-]*|user)\s+(?:is|was)\s+(?:a|an)\s+([^.,;!?]+)")
_PHRASE_END = re.compile(r"\s(?:who|that|which|and|with|in|at|from|of|for|to|on|living|"
                         r"working|whose)\s.*$")


def check_kind(text: str, source: str, speakers: Iterable[str]) -> Verdict:
    """ "Omar is a 10 year old model." needs a source that says so: "I'm a ... model" or
    "I work as a model" when Omar speaks, "Omar is a ... model" for anyone; a word of the
    same family in the person's own sentence will do ("I teach maths": a maths teacher)."""
    own = speakers_of(source, speakers)
    for name, phrase in _KIND.findall(text):
        head_words = words(_PHRASE_END.sub("", " " + phrase))
        if not head_words:
            continue
        head = stem(head_words[-1])
        n = re.escape(name)
        grounds = _words_after(rf"\b{n}\s+(?:is|was)\s+(?:a|an)\b", source, 5)
        if _norm(name) in own:
            grounds |= _words_after(r"\b(?:i'm|i am|i was|i work as|i'm working as)\s+"
                                    r"(?:a|an)\b", source, 5)
            for piece in _SENTENCE.findall(source):
                ws = _norm_words(piece.split(":", 1)[1] if DIALOGUE_LINE.match(piece) else piece)
                if "i" in ws or "i'm" in ws:
                    grounds |= {stem(w) for w in ws}
        if not any(head == g or _same_family(head, g) for g in grounds):
            return Verdict.refuse(f"not grounded (its source does not say {name} is a "
                                  f"{head_words[-1]})")
    return ACCEPTED


def is_request(sentence: str) -> bool:
    """A question or an instruction ("Turn this into a bash command")."""
    ws = _norm_words(sentence)
    return is_question(sentence) or bool(ws) and ws[0] in IMPERATIVES


def check_not_a_deed(text: str, source: str) -> Verdict:
    """What the source asks for (a question, an instruction) is not a thing done: a sentence
    of the answer that rests on a request more than on any statement must say it was asked
    ("asked how to ..."): "User wrote a function ..." from "How do I write a function ...?"
    and "User turned this into a bash command." from "Turn this into a bash command" are
    refused."""
    pieces = [p for line in source.splitlines()
              for p in _sentences(line.split(":", 1)[1] if DIALOGUE_LINE.match(line) else line)]
    for sentence in _sentences(text):
        stems = content_stems(sentence)
        if not stems or set(_norm_words(sentence)) & ASKING:
            continue
        asked = max((len(stems & content_stems(p)) for p in pieces if is_request(p)),
                    default=0)
        said = max((len(stems & content_stems(p)) for p in pieces if not is_request(p)),
                   default=0)
        if asked > said and asked >= 2:
            request = max((p for p in pieces if is_request(p)),
                          key=lambda p: len(stems & content_stems(p)))
            return Verdict.refuse(f"not what its source says (it asks '{request[:60]}')")
    return ACCEPTED


_PRONOUNS = _word_set("she he they her his their")
_CLAUSE_BREAK = re.compile(r"[,;.!?]|\b(?:and|while|but|whereas)\b")


def check_who_said(text: str, source: str) -> Verdict:
    """A clause about a speaker ("Caroline went swimming with the kids") must rest on what
    that speaker said (or a sentence naming them) at least as much as on what someone else
    said of themselves ("I'm off to go swimming with the kids", said by Melanie)."""
    said: list[tuple[str, str]] = []            # (speaker, sentence)
    for line in source.splitlines():
        if DIALOGUE_LINE.match(line):
            label, rest = line.split(":", 1)
            said += [(_norm(label), p) for p in _sentences(rest)]
    speakers = {who for who, _ in said}
    if len(speakers) < 2:
        return ACCEPTED
    name = ""
    for clause in _CLAUSE_BREAK.split(text):
        ws = words(clause)
        if not ws:
            continue
        first = _norm(ws[0]).removesuffix("'s")
        if first in speakers:
            name = first
        elif not (name and first in _PRONOUNS):     # "She went swimming": the last named
            continue
        stems = content_stems(" ".join(ws[1:]))
        if len(stems) < 2:
            continue
        mine = max((len(stems & content_stems(p)) for who, p in said
                    if who == name or name in _norm_words(p)), default=0)
        other = max(((len(stems & content_stems(p)), who) for who, p in said
                     if who != name and name not in _norm_words(p)), default=(0, ""))
        if other[0] >= 2 and other[0] > mine:
            return Verdict.refuse(f"not grounded ('{clause.strip()[:50]}' is what "
                                  f"{other[1].title()} said of themselves)")
    return ACCEPTED


def check_statement(text: str, source: str, *, speakers: Iterable[str] = (),
                    about: Iterable[str] | None = None) -> Verdict:
    """The summary and portrait gates, in order; `about`: the names a portrait must start
    with (None for a summary)."""
    speakers = list(speakers)
    checks = [lambda: check_not_copied(text, source), lambda: check_statement_form(text)]
    if about is not None:
        checks.append(lambda: check_about(text, about))
    checks += [lambda: check_possessions(text, source, speakers),
               lambda: check_kind(text, source, speakers),
               lambda: check_not_a_deed(text, source),
               lambda: check_who_said(text, source)]
    for check in checks:
        verdict = check()
        if not verdict.ok:
            return verdict
    return ACCEPTED
