"""Asking the model for memory text (summaries, portraits, facts), in the form its kind needs,
and refusing what fails the quality gates.

A base model gets the step's completion frame (`assets/prompts/base/STEP.txt`: worked examples,
then the real input, then the label its answer follows); an instruct model gets the step's
instruction (`assets/prompts/instruct/STEP.txt`) as a chat message. Either way the answer is
checked (core.memory.gates) before anyone stores it: not empty, bounded, no loop, no copy of
the prompt's own words, and grounded in the source text it summarises. An answer that fails
gets one more draw (small models fail now and then, not every time); if that fails too, the
step raises `ModelAnswerError` with the reason, and its job is marked failed with it.

Everything goes through the `core.base.llm.LLM` protocol, so a remote backend or the scripted fake
used in tests works the same as the local runtime.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.base.errors import EngramError
from core.base.llm import LLM, ChatMessage, GenerationParams
from core.base.prompts import frame_text, prompt
from core.memory.gates import Verdict, check_example_words, check_grounded, check_text
from core.memory.statement_gates import check_statement

# A sampled answer that is refused gets one more draw (a new seed) before the job is given up.
DRAWS = 2


class ModelAnswerError(EngramError):
    """The model's answer could not be used (empty, or refused by a quality gate)."""


@dataclass(frozen=True)
class StepSpec:
    """How one memory step is asked and bounded."""
    name: str                       # prompt file name under assets/prompts/<kind>/
    max_tokens: int
    max_words: int
    # a base model's answer ends at a blank line or where the frame's next example would
    # begin; its first line is the answer (it may open with a line break)
    base_stops: tuple[str, ...] = ("\n\n", "\nEarlier summary:", "\nConversation:",
                                   "\nParts:", "\nSaid on", "\nMessages from", "\nDays:",
                                   "\nNew observations:")
    grounded_share: float = 0.6     # share of content words that must come from the source


HEMA_UPDATE = StepSpec("hema_update", 90, 45)
HEMA_LEVEL2 = StepSpec("hema_level2", 160, 90)
DAILY_SUMMARY = StepSpec("daily_summary", 160, 90)
GLOBAL_SUMMARY = StepSpec("global_summary", 200, 110)
PORTRAIT_DAILY = StepSpec("portrait_daily", 120, 70, grounded_share=0.5)
PORTRAIT_OVERALL = StepSpec("portrait_overall", 200, 110, grounded_share=0.5)


def model_kind(llm: LLM) -> str:
    kind = getattr(llm, "kind", "instruct")
    return kind if kind in ("base", "instruct") else "instruct"


def generate(llm: LLM, kind: str, text: str, *, max_tokens: int, stops: Sequence[str],
             seed: int | None = None, grammar: str | None = None) -> str:
    """One draw: a completion for a base model, a chat turn for an instruct model."""
    params = GenerationParams(max_tokens=max_tokens, temperature=0.2, top_p=0.9,
                              repeat_penalty=1.1, seed=seed, grammar=grammar)
    if kind == "base":
        params.stop = list(stops)
        answer, _ = llm.complete(text, params)
    else:
        answer, _ = llm.chat([ChatMessage("user", text)], params)
    return answer


def ask_step(llm: LLM, spec: StepSpec, *, source: str, values: dict[str, str],
             allowed_names: Iterable[str] = (), one_sentence: bool = False,
             about: Iterable[str] | None = None, seed: int | None = None) -> str:
    """The step's answer, checked; ModelAnswerError (with the reason) when every draw fails.
    `about`: the names a portrait must start with (it is about the person)."""
    allowed_names = list(allowed_names)
    about = None if about is None else list(about)
    kind = model_kind(llm)
    text = prompt(spec.name, kind, **values)
    frames = [frame_text(spec.name, kind)]
    reason = ""
    for draw in range(DRAWS):
        answer = generate(llm, kind, text, max_tokens=spec.max_tokens, stops=spec.base_stops,
                          seed=None if seed is None else seed + draw)
        cleaned = clean_answer(answer, one_sentence=one_sentence, first_line=kind == "base")
        verdict = check_answer(cleaned, spec, source=source, frames=frames,
                               allowed_names=allowed_names, has_examples=kind == "base",
                               about=about)
        if verdict.ok:
            return cleaned
        reason = verdict.reason
    raise ModelAnswerError(f"The model's {spec.name.replace('_', ' ')} was refused: {reason} "
                           f"({DRAWS} tries)")


def check_answer(text: str, spec: StepSpec, *, source: str, frames: Sequence[str],
                 allowed_names: Iterable[str] = (), has_examples: bool = False,
                 about: Iterable[str] | None = None) -> Verdict:
    """`has_examples`: the frames hold worked examples (the base forms), whose own words an
    answer must not borrow; an instruct form's instruction words ("summary") are fair game.
    After the word-by-word gates, the answer must be a statement its source makes
    (core.memory.statement_gates): no copied line, question, instruction, fragment, broken-off
    sentence, borrowed possession or question turned into a deed; a portrait (`about`)
    starts with the person."""
    allowed_names = list(allowed_names)
    verdict = check_text(text, frames=frames, max_words=spec.max_words)
    if verdict.ok and has_examples:
        verdict = check_example_words(text, source, frames)
    if verdict.ok:
        verdict = check_grounded(text, source, allowed_names=allowed_names,
                                 min_content_share=spec.grounded_share)
    if not verdict.ok:
        return verdict
    return check_statement(text, source, speakers=allowed_names, about=about)


def clean_answer(text: str, *, one_sentence: bool = False, first_line: bool = False) -> str:
    """Trim a model's answer: no leading labels or quotes, collapsed spaces; optionally only
    its first non-empty line, or its first sentence."""
    if first_line:
        text = next((line for line in text.splitlines() if line.strip()), "")
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
