"""The quality gates on their own: what a model writes that must never be stored, and what a
good answer looks like that must pass."""
from __future__ import annotations

import pytest

from core.base.prompts import frame_text
from core.memory.gates import (
    ReplyGuard,
    check_example_words,
    check_fact_form,
    check_grounded,
    check_text,
    cut_reply,
)

LENA = "Hi! My name is Lena and I live in Ghent. I have a dog named Pixel."
SYSTEM = frame_text("system", "instruct")


@pytest.mark.parametrize("answer, reason", [
    ("", "empty"),
    ("User:", "too short"),
    ("Keep a one-sentence running summary of a conversation.", "echo of the prompt"),
    ("Lena likes dogs. Lena likes dogs. Lena likes dogs.", "loop"),
    ("the dog the dog the dog ran and the dog the dog", "loop"),
    ("Your dog is called Pixel.", "addressed to someone"),
    ("Lena: I have a dog named Pixel.", "a line of dialogue"),
    (" ".join(["word"] * 5 + [f"w{i}" for i in range(80)]), "too long"),
])
def test_what_is_never_stored(answer, reason) -> None:
    frames = [frame_text("hema_update", "instruct")]
    verdict = check_text(answer, frames=frames, max_words=60)
    assert not verdict.ok and reason in verdict.reason


def test_a_plain_true_sentence_passes() -> None:
    assert check_text("Lena lives in Ghent and has a dog named Pixel.",
                      frames=[frame_text("facts", "base")]).ok


@pytest.mark.parametrize("fact, reason", [
    ("Lena has a cat named Pixel.", "cat"),                          # a content word invented
    ("Lena lives in Ghent with her husband Marc.", "'Marc'"),        # an invented name
    ("Lena has had Pixel for 12 years.", "12"),                      # an invented number
    ("Lena's name is a dog.", "one sentence"),                       # words from two sentences
    ("Pixel has a dog named Pixel.", "more often"),                  # a word used twice
])
def test_an_ungrounded_fact_is_refused_with_the_reason(fact, reason) -> None:
    verdict = check_grounded(fact, LENA, allowed_names=["Lena", "User"], one_sentence=True)
    assert not verdict.ok and reason in verdict.reason


@pytest.mark.parametrize("fact", ["Lena lives in Ghent.", "Lena has a dog named Pixel.",
                                  "Pixel is a dog."])
def test_a_grounded_fact_passes(fact) -> None:
    assert check_grounded(fact, LENA, allowed_names=["Lena", "User"], one_sentence=True).ok


@pytest.mark.parametrize("fact, reason", [
    ("I live in Ghent.", "not about"),
    ("Tom: I live in Ghent.", "dialogue"),
    ("Lena thinks I am nice.", "first person"),
    ("Lena says you are nice.", "second person"),
    ("Anna lives in Ghent.", "not about"),
])
def test_a_fact_is_about_a_speaker_and_self_contained(fact, reason) -> None:
    verdict = check_fact_form(fact, ["Lena", "The user"])
    assert not verdict.ok and reason in verdict.reason
    assert check_fact_form("Lena's dog is called Pixel.", ["Lena"]).ok


def test_a_word_of_the_worked_example_is_refused() -> None:
    frames = [frame_text("hema_update", "base")]
    verdict = check_example_words("Lena's dog got a flat tyre.", LENA, frames)
    assert not verdict.ok and ("tyre" in verdict.reason or "flat" in verdict.reason)
    assert check_example_words("Lena lives in Ghent with a dog.", LENA, frames).ok


def test_replies_are_cut_at_a_loop_or_an_echo_and_kept_otherwise() -> None:
    assert cut_reply("Pixel. Pixel is a dog. Pixel is a dog. Pixel is a dog.") == (
        "Pixel. Pixel is a dog.", "loop")
    kept, why = cut_reply("Your dog is called Pixel. " + SYSTEM, [(SYSTEM, 8)])
    assert (kept, why) == ("Your dog is called Pixel.", "echo of the prompt")
    memory = "[2026-12-01] User: My favourite food is waffles with strawberries and cream"
    kept, why = cut_reply(f"Sure! {memory}", [(memory, 12)])
    assert kept == "Sure!" and why == "echo of the prompt"
    # quoting a memory briefly is fine; so is a normal answer
    assert cut_reply("You love waffles with strawberries.", [(memory, 12)])[1] == ""
    assert cut_reply("Sure, here is a plan for your week.") == (
        "Sure, here is a plan for your week.", "")


def test_a_reply_using_a_name_of_the_frames_example_is_cut() -> None:
    guard = ReplyGuard([], example_names=["Miso", "Leeds"])
    assert guard.cut("My dog is called Miso.") == ("", "echo of the prompt's example ('Miso')")
    assert guard.cut("Hi there. You moved to Leeds, right?")[0] == "Hi there"
    assert guard.cut("Your dog is called Pixel.")[1] == ""


def test_a_relation_turned_round_or_a_kind_given_to_someone_else_is_refused() -> None:
    """Written by the starter model from "My sister Ana has two cats, Miro and Tosca.": every
    word is in the source and both sentences are false."""
    source = "My sister Ana has two cats, Miro and Tosca."
    speakers = ["Tomas", "The user"]
    inverted = check_grounded("Ana's sister has two cats, Miro and Tosca.", source,
                              allowed_names=speakers, one_sentence=True)
    assert not inverted.ok and "relation round" in inverted.reason
    kind = check_grounded("Ana is a cat.", source, allowed_names=speakers, one_sentence=True)
    assert not kind.ok and "does not call Ana a cat" in kind.reason
    # what the source does say stays accepted
    for fact in ("Miro is a cat.", "Tosca is a cat.", "The user's sister Ana has two cats."):
        assert check_grounded(fact, source, allowed_names=speakers, one_sentence=True).ok, fact
    assert check_grounded("Pixel is a dog.", "I have a dog named Pixel.",
                          allowed_names=["Lena"], one_sentence=True).ok
    # a speaker says what they are in the first person
    assert check_grounded("Lena is a nurse.", "I work as a nurse, mostly night shifts.",
                          allowed_names=["Lena"], one_sentence=True).ok


@pytest.mark.parametrize("fact, said", [
    ("The user has a peanut allergy.", "I'm allergic to peanuts."),
    ("Sam moves house every year.", "I move house every year."),
    ("Sam studies law in Lyon.", "I study law in Lyon."),
])
def test_a_word_of_the_same_family_as_the_source_is_no_copy_of_the_example(fact, said) -> None:
    """The example-words gate compares word families: "allergy" is in "I'm allergic", "moves"
    in "I move" (the facts frame's example has "allergic" and "moved")."""
    assert check_example_words(fact, said, [frame_text("facts", "base")]).ok


def test_an_example_word_the_source_lacks_is_still_refused() -> None:
    verdict = check_example_words("Sam is allergic to cats.", "I study law in Lyon.",
                                  [frame_text("facts", "base")])
    assert not verdict.ok and "allergic" in verdict.reason


def test_a_fact_about_the_speaker_is_not_what_they_said_of_someone_else() -> None:
    """The starter model, fresh folder: "Our dog Bolacha is three years old and loves the
    beach." became "Marta loves the beach." (stored: false)."""
    from core.memory.gates import check_speaker_side

    said = ("Hi! I'm Marta and I live in Porto with my husband Rui. I work as a pharmacist. "
            "Our dog Bolacha is three years old and loves the beach.")
    for wrong in ("Marta loves the beach.", "Marta is three years old."):
        verdict = check_speaker_side(wrong, said)
        assert not verdict.ok and "'our dog bolacha'" in verdict.reason, wrong
    for right in ("Marta lives in Porto with her husband.", "Marta works as a pharmacist.",
                  "Marta's dog Bolacha loves the beach.", "Bolacha loves the beach."):
        assert check_speaker_side(right, said).ok, right
    assert check_speaker_side("Lena loves the beach.", "My sister and I love the beach.").ok
    assert check_speaker_side("Lena likes ramen.", "My favourite food is ramen.").ok


def test_the_person_is_only_what_they_say_they_are() -> None:
    """"The user is a dog." was stored by the starter from "Our dog Bolacha is three years
    old ..." (the identity check read only capitalised names, and skipped speakers)."""
    from core.memory.gates import check_relations

    dog = check_relations("The user is a dog.", "Our dog Bolacha is three years old.")
    assert not dog.ok and "no 'I'm a dog'" in dog.reason
    assert not check_relations("Caroline is a counselor.", "I'm keen on counseling.",
                               ["Caroline"]).ok
    for fact, said in (("Lena is a nurse.", "I work as a nurse, mostly nights."),
                       ("Lena is a nurse.", "I'm a nurse."),
                       ("The user is a student.", "I am a student at the university.")):
        assert check_relations(fact, said, ["Lena"]).ok, fact
    assert check_relations("Pixel is a dog.", "I have a dog named Pixel.", ["Lena"]).ok
