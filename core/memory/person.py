"""Who "the person" is: the name facts and summaries use for the one Engram talks with.

Until the person says their name, their messages are labelled "User" and facts about them read
"The user ...". A name is learned only from an introduction in their own words ("my name is
Lena", "call me Lena", and "I'm Omar" / "Hi, I'm Omar and ..." where the word is not one that
follows "I'm" without being a name: guessing from "I'm Belgian" would put a wrong name on every
fact). The name lives on the fact that recorded it (meta `intro_name`), so forgetting or
purging that fact forgets the name too.
"""
from __future__ import annotations

import re

from core.memory.home import MemoryHome

_INTRO = re.compile(r"\b(?:my name is|my name's|call me|i am called|i'm called)\s+"
                    r"([A-Z][a-zà-ÿ]+(?:[-'][A-Z][a-zà-ÿ]+)?)\b")
# "I'm Omar." / "Hello, I'm Omar and I ..." at the start of a sentence, the word then ending
# the clause: "I'm Omar" inside a longer clause ("I'm Catholic but ...") is not taken.
_SELF = re.compile(r"(?:^|[.!?]\s+)(?:(?:[Hh]i|[Hh]ello|[Hh]ey|[Hh]owdy)(?:\s+there)?[,!.]?\s+)?"
                   r"(?:I'm|I’m|I am)\s+([A-Z][a-zà-ÿ]+(?:[-'][A-Z][a-zà-ÿ]+)?)"
                   r"(?=\s*(?:[,.!?;:]|$)|\s+(?:and|from|here)\b)")
# Capitalised words that follow "I'm" and are not names: peoples, languages, faiths, zodiac
# signs, and words written with a capital for emphasis.
_NOT_NAMES = frozenset("""
afghan african albanian algerian american andorran angolan arab argentine argentinian armenian
asian australian austrian azerbaijani bangladeshi basque bavarian belarusian belgian bengali
bolivian bosnian brazilian breton british bulgarian burmese cambodian cameroonian canadian
catalan chilean chinese colombian congolese croatian cuban cypriot czech danish dominican dutch
ecuadorian egyptian emirati english eritrean estonian ethiopian european filipino finnish
flemish french frisian galician georgian german ghanaian greek guatemalan haitian honduran
hungarian icelandic indian indonesian iranian iraqi irish israeli italian ivorian jamaican
japanese jordanian kazakh kenyan korean kosovar kurdish kuwaiti kyrgyz laotian latvian
lebanese libyan lithuanian luxembourgish macedonian malagasy malaysian maltese maori mexican
moldovan mongolian montenegrin moroccan mozambican namibian nepalese nepali nigerian
nicaraguan norwegian pakistani palestinian panamanian paraguayan persian peruvian polish
portuguese puerto rican qatari romanian russian rwandan salvadoran samoan saudi scottish
senegalese serbian sicilian singaporean slovak slovakian slovenian somali spanish sri lankan
sudanese swedish swiss syrian taiwanese tajik tamil tanzanian thai tibetan tunisian turkish
turkmen ugandan ukrainian uruguayan uzbek venezuelan vietnamese welsh yemeni zambian
zimbabwean latino latina latinx hispanic caucasian black white indigenous native aboriginal
inuit roma jewish muslim christian catholic protestant orthodox hindu buddhist sikh jain
mormon lutheran anglican baptist methodist evangelical atheist agnostic pagan quaker
aries taurus gemini cancer leo virgo libra scorpio sagittarius capricorn aquarius pisces
fine good great okay sorry sure glad happy sad tired ready done back home here new not so
very really just also still always never too only the a an in on at from with sick ill busy
free late early lost confused curious excited nervous stressed bored hungry thirsty cold
hot alone single married divorced pregnant retired unemployed vegan vegetarian gay lesbian
bi trans queer straight autistic deaf blind left right
""".split())  # noqa: SIM905 - a word list reads best as words
USER_LABEL = "User"


def introduced_name(text: str) -> str | None:
    """The name a message introduces its author with, if it says so: "my name is Lena",
    "call me Lena", "I'm Omar." (not "I'm Belgian.")."""
    match = _INTRO.search(text.replace("My name", "my name").replace("Call me", "call me"))
    if match:
        return match.group(1)
    for found in _SELF.finditer(text.strip()):
        if found.group(1).lower() not in _NOT_NAMES:
            return found.group(1)
    return None


def person_name(eng: MemoryHome) -> str | None:
    """The name the person introduced themselves with, from the newest active fact that
    recorded it."""
    for mem in eng.memories.list(kinds=["fact"], order="created_at DESC", limit=500):
        name = mem.meta.get("intro_name")
        if isinstance(name, str) and name:
            return name
    return None


def person_label(eng: MemoryHome) -> str:
    """How the person is called in prompts: their name when known, else "User"."""
    return person_name(eng) or USER_LABEL


def third_person(label: str) -> str:
    """How a fact names the person: "Lena", or "The user" while the name is unknown."""
    return "The user" if label == USER_LABEL else label


def label_of(msg, person: str = USER_LABEL) -> str:
    """A message's speaker as prompts show it: an archive's speaker name, the person's label for
    their own messages, "Assistant" for the assistant's."""
    name = msg.meta.get("speaker") if isinstance(msg.meta, dict) else None
    if isinstance(name, str) and name.strip():
        return name.strip()[:60]
    return person if msg.role == "user" else "Assistant"
