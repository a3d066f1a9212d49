"""Google Takeout, Gemini Apps activity (`My Activity.json`): an array of activity records
`{header, title: "Prompted ...", time (ISO), products, safeHtmlItem: [{html}]}`, newest first.

Takeout has no notion of conversation, so the prompts and responses of one (UTC) day become
one conversation, in time order. Records without a prompt (feedback, settings) are skipped.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from core.base.ids import stable_id
from core.importers.jsonio import iter_records
from core.importers.model import ParsedConversation, ParsedMessage, Skipped, as_text, as_time
from core.importers.stream import SafeReader
from core.importers.text import clean, strip_html

FORMAT = "gemini"
_PROMPT_PREFIXES = ("Prompted ", "Asked ")


def parse(reader: SafeReader) -> Iterator[ParsedConversation | Skipped]:
    day: str | None = None
    batch: list[tuple[float, str, str, str]] = []
    for index, record in enumerate(iter_records(reader)):
        item = _record(record, index)
        if isinstance(item, Skipped):
            yield item
            continue
        when = item[0]
        this_day = datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%d")
        if day is not None and this_day != day and batch:
            yield _conversation(day, batch)
            batch = []
        day = this_day
        batch.append(item)
    if batch and day:
        yield _conversation(day, batch)


def _record(record: Any, index: int) -> tuple[float, str, str, str] | Skipped:
    if not isinstance(record, dict):
        return Skipped("not an activity record", item=f"#{index}")
    title = as_text(record.get("title"))
    when = as_time(record.get("time"))
    if when is None:
        return Skipped("activity without a time", item=f"#{index}")
    prompt = title
    for prefix in _PROMPT_PREFIXES:
        if title.startswith(prefix):
            prompt = title[len(prefix):]
            break
    htmls = record.get("safeHtmlItem")
    response = ""
    if isinstance(htmls, list):
        response = "\n\n".join(strip_html(as_text(h.get("html")))
                               for h in htmls if isinstance(h, dict))
    if not response and prompt == title:
        return Skipped("activity without a prompt and response", item=f"#{index}")
    rid = stable_id(as_text(record.get("time")), title)
    return when, clean(prompt).strip(), clean(response).strip(), rid


def _conversation(day: str, batch: list[tuple[float, str, str, str]]) -> ParsedConversation:
    batch.sort(key=lambda item: item[0])
    messages: list[ParsedMessage] = []
    parent: str | None = None
    for when, prompt, response, rid in batch:
        if prompt:
            messages.append(ParsedMessage(f"{rid}:u", parent, "user", prompt, when))
            parent = f"{rid}:u"
        if response:
            messages.append(ParsedMessage(f"{rid}:a", parent, "assistant", response, when))
            parent = f"{rid}:a"
    return ParsedConversation(FORMAT, f"day:{day}", f"Gemini, {day}", batch[0][0], batch[-1][0],
                              messages, parent)
