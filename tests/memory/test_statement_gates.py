"""The summary and portrait gates: what the starter model wrote from imported archives and a
short chat, every word grounded and still nothing to store, must be refused with its reason;
good summaries must pass."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.base.prompts import frame_text
from core.memory import hema, memorybank
from core.memory.generation import (
    DAILY_SUMMARY,
    HEMA_UPDATE,
    PORTRAIT_DAILY,
    ModelAnswerError,
    check_answer,
)
from core.memory.statement_gates import check_statement
from tests.memory.fake_llm import ScriptedFakeLLM

# what the person said, as a summary's source shows it (a base model's grounds: their lines)
CHAT = (
    "User: Turn this into a bash command\n"
    "User: How do I write a function in JavaScript that returns the name of an object?\n"
    "User: My cat is called Biscuit.\n"
    "User: I'm learning the oud, it's my first instrument since school.\n"
    "User: My daughter Layla starts school in September. What's her teacher's name and when "
    "does she start school?")
LABELS = ["User", "Assistant", "Engram"]


@pytest.mark.parametrize("answer, reason", [
    ("Turn this into a bash command.", "a copy of a line of its source"),
    ("Biscuit's cat is called.", "an unfinished sentence (ends after 'called')"),
    ("User wrote a function in JavaScript that would return the name of an object.",
     "not what its source says (it asks 'How do I write a function"),
    ("User's instrument is learning the oud.", "does not say the instrument is learning"),
    ("User's guitar is learning the oud.", "does not say User has one: 'User's guitar'"),
    ("Layla's name and when does she start school.", "a question, not a statement"),
    ("User's bash script to turn this into a bash command.", "a fragment without a verb"),
    ("What is the name of the cat?", "a question"),
    ("Explain the cat to Biscuit.", "an instruction"),
    # the starter's running summary of the imported chat "Bash Command for OpenAI API"
    ("User turned this into a bash command.", "it asks 'Turn this into a bash command'"),
    ("The user's cat is named.", "an unfinished sentence"),
])
def test_what_a_summary_must_never_be(answer, reason) -> None:
    verdict = check_statement(answer, CHAT, speakers=LABELS)
    assert not verdict.ok
    assert reason in verdict.reason


def test_the_walkthrough_strings_are_refused_by_the_summary_step_itself() -> None:
    """Through the step's whole gate (check_answer, base frames), not one check alone."""
    frames = [frame_text("daily_summary", "base")]
    for answer in ("Turn this into a bash command.", "Biscuit's cat is called.",
                   "User wrote a function in JavaScript that would return the name of an object.",
                   "User's instrument is learning the oud.",
                   "Layla's name and when does she start school.",
                   "User's bash script to turn this into a bash command."):
        verdict = check_answer(answer, DAILY_SUMMARY, source=CHAT, frames=frames,
                               allowed_names=LABELS, has_examples=True)
        assert not verdict.ok, answer


def test_a_portrait_is_about_the_person() -> None:
    frames = [frame_text("portrait_daily", "base")]
    verdict = check_answer("Layla starts school in September.", PORTRAIT_DAILY, source=CHAT, frames=frames,
                           allowed_names=LABELS, has_examples=True, about=["User"])
    assert not verdict.ok and "not about User" in verdict.reason
    copied = check_answer("Turn this into a bash command.", PORTRAIT_DAILY, source=CHAT,
                          frames=frames, allowed_names=LABELS, has_examples=True,
                          about=["User"])
    assert not copied.ok


OMAR = ("Omar: I teach maths in Leeds. My sister Yasmin is visiting next week.\n"
        "Assistant: That sounds lovely!\n"
        "Omar: I have a dog named Pixel and I finally ran my first 10k this morning.\n"
        "Omar: How do I make bread without yeast?")


@pytest.mark.parametrize("answer", [
    "Omar teaches maths in Leeds and his sister Yasmin is visiting next week.",
    "Omar's sister Yasmin is visiting next week.",
    "Omar's dog Pixel and Omar ran a first 10k.",
    "Omar ran his first 10k this morning.",
    "Omar asked how to make bread without yeast.",
    "Omar teaches maths in Leeds; his sister Yasmin visits next week.",
])
def test_good_summaries_pass(answer) -> None:
    frames = [frame_text("daily_summary", "base")]
    verdict = check_answer(answer, DAILY_SUMMARY, source=OMAR, frames=frames,
                           allowed_names=["Omar", *LABELS], has_examples=True)
    assert verdict.ok, verdict.reason


def test_a_speaker_who_introduced_themselves_owns_what_they_call_mine() -> None:
    source = "(nothing yet)\nUser: Hi, I'm Omar. My cat is called Biscuit."
    assert check_statement("Omar's cat is called Biscuit.", source, speakers=LABELS).ok
    refused = check_statement("Omar's dog is called Biscuit.", source, speakers=LABELS)
    assert not refused.ok and "'Omar's dog'" in refused.reason


def test_a_portrait_is_not_a_kind_that_only_a_question_mentions() -> None:
    """From an imported chat about a van (all questions, without their "?"), the starter
    wrote the daily and the overall portrait "Omar is a 10 year old model."."""
    source = ("Omar: What is the fuel consumption of vw transporter with 8 people in l/km\n"
              "Omar: What about 10 year old model\n"
              "Omar: Is it for fully loaded car?")
    verdict = check_statement("Omar is a 10 year old model.", source, speakers=["Omar"],
                              about=["Omar"])
    assert not verdict.ok and "does not say Omar is a model" in verdict.reason
    said = "Omar: I teach maths in Leeds. I'm allergic to peanuts."
    for good in ("Omar is a maths teacher in Leeds.", "Omar's allergic to peanuts."):
        assert check_statement(good, said, speakers=["Omar"], about=["Omar"]).ok, good


def test_a_good_portrait_passes() -> None:
    frames = [frame_text("portrait_daily", "base")]
    verdict = check_answer("Omar teaches maths in Leeds and has a dog named Pixel.",
                           PORTRAIT_DAILY, source=OMAR, frames=frames,
                           allowed_names=["Omar", *LABELS], has_examples=True, about=["Omar"])
    assert verdict.ok, verdict.reason


def test_a_running_summary_keeps_an_earlier_summary_word_for_word() -> None:
    """Copying is of lines of dialogue; an unchanged earlier summary is no copy."""
    source = "Omar teaches maths in Leeds.\nOmar: ok thanks"
    verdict = check_answer("Omar teaches maths in Leeds.", HEMA_UPDATE, source=source,
                           frames=[frame_text("hema_update", "base")],
                           allowed_names=["Omar", *LABELS], has_examples=True)
    assert verdict.ok, verdict.reason


def test_a_copied_portrait_is_stored_nowhere(engram, say) -> None:
    day = datetime(2024, 10, 18, 10, tzinfo=UTC).timestamp()
    conv = engram.conversations.create("c")
    say(conv.id, "user", "Turn this into a bash command", created_at=day)
    llm = ScriptedFakeLLM(["Turn this into a bash command."], kind="base")
    with pytest.raises(ModelAnswerError, match="copy of a line"):
        memorybank.daily_portrait(engram, llm, "2024-10-18")
    assert not engram.memories.list(kinds=["portrait"])


def test_a_question_does_not_become_a_done_deed_in_the_running_summary(engram, say) -> None:
    conv = engram.conversations.create("c")
    user = say(conv.id, "user", "How do I write a function in JavaScript that returns the "
                                "name of an object?")
    reply = say(conv.id, "assistant", "Use the function keyword.", parent_id=user.id)
    wrote = "User wrote a function in JavaScript that would return the name of an object."
    llm = ScriptedFakeLLM([wrote], kind="base")
    with pytest.raises(ModelAnswerError, match="it asks"):
        hema.update_running_summary(engram, llm, conv.id, reply.id)
    assert hema.running_summary(engram, conv.id) is None
    asked = "User asked how to write a function in JavaScript that returns the name of an object."
    good = ScriptedFakeLLM([asked], kind="base")
    stored = hema.update_running_summary(engram, good, conv.id, reply.id)
    assert stored.text.startswith("User asked how to write a function in JavaScript")


def test_a_clause_about_one_speaker_does_not_rest_on_what_the_other_said() -> None:
    """LoCoMo conv-26: Melanie went swimming with the kids; the starter's daily summary gave
    it to Caroline."""
    source = ("Melanie: Yep, Caroline. Taking care of ourselves is vital. I'm off to go "
              "swimming with the kids.\n"
              "Caroline: I'm keen on counseling or working in mental health.")
    wrong = check_statement("Melanie takes care of herself, while Caroline went swimming with "
                            "the kids.", source, speakers=LABELS)
    assert not wrong.ok and "what Melanie said" in wrong.reason
    she = check_statement("Caroline took care of herself. She went swimming with the kids.",
                          source, speakers=LABELS)
    assert not she.ok and "what Melanie said" in she.reason
    assert check_statement("Melanie went swimming with the kids and Caroline is keen on "
                           "counseling.", source, speakers=LABELS).ok
