"""Which introductions teach Engram the person's name, and which never do (a wrong name would
go on every fact that follows)."""
from __future__ import annotations

import pytest

from core.memory.person import introduced_name


@pytest.mark.parametrize(("text", "name"), [
    ("Hi! My name is Lena and I live in Ghent.", "Lena"),
    ("Call me Jo.", "Jo"),
    ("Hello, I'm Omar. I'm learning to play the cello.", "Omar"),
    ("I'm Tomasz and I grow tomatoes on my balcony.", "Tomasz"),
    ("I am Priya.", "Priya"),
    ("hi, I'm Ana", "Ana"),
    ("I'm Anne-Marie, nice to meet you", "Anne-Marie"),
    ("We moved last year. I'm Sven, by the way.", "Sven"),
])
def test_an_introduction_gives_the_name(text: str, name: str) -> None:
    assert introduced_name(text) == name


@pytest.mark.parametrize("text", [
    "I'm Belgian and I live in Ghent.",      # a people
    "I am Catholic.",                        # a faith
    "I'm Spanish",
    "I'm Fine, thanks",                      # emphasis
    "I'm Tired.",
    "I'm Happy to help",                     # the clause goes on
    "Sometimes I feel I'm French",           # not where an introduction starts
    "I'm in Berlin",
    "I'm from Spain",
    "I'm Paris Hilton's biggest fan",
    "My dog is called Pixel.",               # someone else's name
])
def test_what_is_no_introduction_gives_no_name(text: str) -> None:
    assert introduced_name(text) is None
