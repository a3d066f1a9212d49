"""Time in a question: "two weeks ago", "in May", "last Saturday", "when did I first ...".

`time_hint(question, now)` reads the first time expression it understands and returns a range
of Unix seconds (UTC) and/or an ordering that retrieval turns into a boost (never a filter:
the day a thing was said is not always the day it happened). Understood, in English:

- days: today, yesterday, the day before yesterday, last/this <weekday>, on <weekday>;
- relative: N days/weeks/months/years ago ("a couple of", "a few", one..twelve, digits),
  the past/last N days/weeks/months/years, last/this week, month, year, recently, lately;
- named: in <month> [<year>], <month> <day> / <day> <month> [<year>], in <year>, Christmas,
  New Year's Eve/Day, Valentine's Day, Halloween;
- order: first / originally / at first / initially / used to / previously -> older first;
  now / currently / these days / latest / most recent / so far / still -> newer first.

A few of the same in German, French and Spanish (gestern, hier, ayer; letzte Woche, la semaine
dernière, la semana pasada; vor N Tagen, il y a N jours, hace N días; month names).
Anything else (e.g. "before my trip", which needs the trip's own date) gives no hint.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAY = 86400.0

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
    # de / fr / es, where they differ from the English
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10,
    "dezember": 12, "janvier": 1, "février": 2, "mars": 3, "avril": 4, "juin": 6,
    "juillet": 7, "août": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
            "saturday": 5, "sunday": 6}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
           "a couple of": 2, "couple of": 2, "a few": 3, "few": 3, "several": 4,
           "zwei": 2, "drei": 3, "vier": 4, "deux": 2, "trois": 3, "quatre": 4, "dos": 2,
           "tres": 3, "cuatro": 4, "einem": 1, "einer": 1, "un": 1, "une": 1, "una": 1}
UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365,
         "years": 365, "tag": 1, "tagen": 1, "woche": 7, "wochen": 7, "monat": 30, "monaten": 30,
         "jour": 1, "jours": 1, "semaine": 7, "semaines": 7, "mois": 30, "día": 1, "días": 1,
         "semana": 7, "semanas": 7, "mes": 30, "meses": 30}
HOLIDAYS = {"christmas": (12, 25), "christmas eve": (12, 24), "new year's eve": (12, 31),
            "new year's day": (1, 1), "valentine's day": (2, 14), "valentines day": (2, 14),
            "halloween": (10, 31)}
OLDER = r"\b(first|at first|originally|initially|used to|previously|earliest|the first time)\b"
NEWER = (r"\b(now|currently|current|these days|latest|most recent|most recently|so far|"
         r"still|nowadays|at the moment|anymore)\b")

_NUM = "(" + "|".join([r"\d+", *sorted(NUMBERS, key=len, reverse=True)]) + ")"
_UNIT = "|".join(sorted(UNITS, key=len, reverse=True))
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))


@dataclass(frozen=True)
class TimeHint:
    phrase: str                      # the words it was read from
    start: float | None = None       # a range, Unix seconds (UTC), end exclusive
    end: float | None = None
    explicit: bool = False           # a named date (a month, a day, a year), not "recently"
    order: str | None = None         # "older" or "newer": which end of a topic comes first

    def contains(self, ts: float | None) -> bool:
        return (ts is not None and self.start is not None and self.end is not None
                and self.start <= ts < self.end)


def _day_start(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def _span(start: datetime, end: datetime, phrase: str, explicit: bool = False,
          margin_days: float = 0.0) -> TimeHint:
    return TimeHint(phrase, start.timestamp() - margin_days * DAY,
                    end.timestamp() + margin_days * DAY, explicit)


def _number(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else NUMBERS.get(text, 1)


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _latest_date(now: datetime, month: int, day: int) -> datetime:
    """The most recent <month> <day> on or before `now`."""
    for year in (now.year, now.year - 1):
        try:
            dt = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            continue
        if dt <= now:
            return dt
    return datetime(now.year - 1, month, min(day, 28), tzinfo=UTC)


def _range(q: str, now: datetime) -> TimeHint | None:
    today = _day_start(now)
    if m := re.search(r"\b(the day before yesterday|vorgestern|avant-hier|anteayer)\b", q):
        return _span(today - timedelta(days=2), today - timedelta(days=1), m.group(0), True)
    if m := re.search(r"\b(yesterday|gestern|hier|ayer)\b", q):
        return _span(today - timedelta(days=1), today, m.group(0), True)
    if m := re.search(r"\b(today|earlier today|heute|aujourd'hui|hoy)\b", q):
        return _span(today, now + timedelta(seconds=1), m.group(0), True)
    if m := re.search(rf"\b(?:vor|il y a|hace)\s+{_NUM}\s+({_UNIT})\b", q):
        return _ago(_number(m.group(1)), UNITS[m.group(2)], now, m.group(0))
    if m := re.search(rf"\b{_NUM}\s+({_UNIT})\s+ago\b", q):
        return _ago(_number(m.group(1)), UNITS[m.group(2)], now, m.group(0))
    if m := re.search(rf"\b(?:in |over |during |within )?the (?:past|last)\s+{_NUM}\s+({_UNIT})\b",
                      q):
        days = _number(m.group(1)) * UNITS[m.group(2)]
        return _span(now - timedelta(days=days), now + timedelta(seconds=1), m.group(0))
    if m := re.search(r"\b(?:the )?(?:past|last) (week|month|year)\b", q):
        return _last_period(m.group(1), now, m.group(0))
    if m := re.search(r"\b(letzte woche|la semaine dernière|la semana pasada)\b", q):
        return _last_period("week", now, m.group(0))
    if m := re.search(r"\bthis (week|month|year)\b", q):
        unit = m.group(1)
        start = (today - timedelta(days=today.weekday()) if unit == "week"
                 else today.replace(day=1) if unit == "month" else today.replace(month=1, day=1))
        return _span(start, now + timedelta(seconds=1), m.group(0))
    if m := re.search(r"\b(?:last|this past|on|this) (" + "|".join(WEEKDAYS) + r")\b", q):
        back = (today.weekday() - WEEKDAYS[m.group(1)]) % 7 or 7
        day = today - timedelta(days=back)
        return _span(day, day + timedelta(days=1), m.group(0), True, margin_days=1)
    for name, (month, day) in HOLIDAYS.items():
        if name in q:
            dt = _latest_date(now, month, day)
            return _span(dt, dt + timedelta(days=1), name, True, margin_days=2)
    if m := re.search(rf"\b({_MONTH})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b(?:,? (\d{{4}}))?", q) or \
            re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?: of)? ({_MONTH})\b(?:,? (\d{{4}}))?", q):
        first, second, year = m.groups()
        month, day = (MONTHS[first], int(second)) if first in MONTHS else (MONTHS[second],
                                                                           int(first))
        if 1 <= day <= 31:
            try:
                dt = (datetime(int(year), month, day, tzinfo=UTC) if year
                      else _latest_date(now, month, day))
            except ValueError:
                dt = None
            if dt is not None:
                return _span(dt, dt + timedelta(days=1), m.group(0), True, margin_days=1)
    if m := re.search(rf"\b(?:in|during|since|im|en) ({_MONTH})\b(?:,? (\d{{4}}))?", q):
        month = MONTHS[m.group(1)]
        if m.group(1) in ("may", "mar") and not m.group(2) and q[m.end():m.end() + 1] == " " \
                and re.match(r" (i|we|you|he|she|they)\b", q[m.end():]):
            return None            # "in may I ..." is a verb, not the month
        year = int(m.group(2)) if m.group(2) else (now.year if month <= now.month
                                                   else now.year - 1)
        return _span(*_month_range(year, month), m.group(0), True)
    if m := re.search(r"\b(?:in|during|since) ((?:19|20)\d{2})\b", q):
        year = int(m.group(1))
        return _span(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC),
                     m.group(0), True)
    if m := re.search(r"\b(recently|lately|kürzlich|récemment|recientemente)\b", q):
        return _span(now - timedelta(days=30), now + timedelta(seconds=1), m.group(0))
    return None


def _ago(n: int, unit_days: int, now: datetime, phrase: str) -> TimeHint:
    """Around N units before now: a day either side for days, a third of the span else."""
    centre = now - timedelta(days=n * unit_days)
    margin = 1.0 if unit_days == 1 else max(2.0, n * unit_days / 3)
    day = _day_start(centre)
    return _span(day, day + timedelta(days=1), phrase, False, margin_days=margin)


def _last_period(unit: str, now: datetime, phrase: str) -> TimeHint:
    today = _day_start(now)
    if unit == "week":
        start = today - timedelta(days=today.weekday() + 7)
        return _span(start, start + timedelta(days=7), phrase, margin_days=1)
    if unit == "month":
        year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
        return _span(*_month_range(year, month), phrase, margin_days=2)
    return _span(datetime(now.year - 1, 1, 1, tzinfo=UTC), datetime(now.year, 1, 1, tzinfo=UTC),
                 phrase)


def time_hint(question: str, now: float) -> TimeHint | None:
    """The time range and/or ordering a question asks about, or None."""
    q = " ".join(question.lower().replace("’", "'").split())
    dt = datetime.fromtimestamp(now, tz=UTC)
    hint = _range(q, dt)
    order = None
    comparing = " or " in q        # "which came first, A or B?" needs both ends
    if not comparing and (m := re.search(OLDER, q)):
        order, phrase = "older", m.group(0)
    elif m := re.search(NEWER, q):
        order, phrase = "newer", m.group(0)
    if hint is None:
        return TimeHint(phrase, order=order) if order else None
    return TimeHint(hint.phrase, hint.start, hint.end, hint.explicit, order)
