"""Streaming JSON: one record at a time from a top-level array (or a single object), and a
cheap look at the first record's keys for format detection. Parser errors become ArchiveError."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ijson

from core.importers.model import ArchiveError, Skipped
from core.importers.stream import SafeReader

SNIFF_EVENTS = 200_000


def _where(reader: SafeReader, exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
    return f"{reader.name} is not valid JSON ({detail})"


def iter_records(reader: SafeReader) -> Iterator[Any]:
    """Items of a top-level array, or the one top-level object."""
    first = reader.peek_nonspace()
    if not first:
        return
    if first not in (b"[", b"{"):
        raise ArchiveError(f"{reader.name} is not JSON (it starts with {first!r})")
    path = "item" if first == b"[" else ""
    try:
        yield from ijson.items(reader, path, use_float=True)
    except ijson.JSONError as exc:
        raise ArchiveError(_where(reader, exc)) from exc
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise ArchiveError(_where(reader, exc)) from exc


def sniff(reader: SafeReader) -> tuple[str, list[str]]:
    """("array"|"object"|"empty"|"scalar"|"invalid", keys of the first record at depth one)."""
    first = reader.peek_nonspace()
    if not first:
        return "empty", []
    if first not in (b"[", b"{"):
        return "scalar" if first in b'"-0123456789tfn' else "invalid", []
    base = "item" if first == b"[" else ""
    keys: list[str] = []
    try:
        for n, (prefix, event, value) in enumerate(ijson.parse(reader)):
            if event == "map_key" and prefix == base:
                keys.append(value)
            elif event == "end_map" and prefix == base or base == "item" and prefix == "" and event == "end_array":
                break
            elif base == "item" and event == "start_array" and prefix == "item":
                break          # an array of arrays: no keys to see
            if n > SNIFF_EVENTS:
                break
    except (ijson.JSONError, ValueError, UnicodeError):
        if not keys:
            return "invalid", []
    return ("array" if base else "object"), keys


def iter_json_lines(reader: SafeReader) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or the ArchiveError for that line) for each non-blank line."""
    number = 0
    while True:
        line = reader.readline()
        if not line:
            return
        number += 1
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield number, ArchiveError(f"line {number}: not JSON ({str(exc)[:80]})")



def conversation_objects(reader: SafeReader) -> Iterator[dict[str, Any] | Skipped]:
    """The records of a JSON archive: each object as it is, anything else as a Skipped item
    (which an importer passes on to its report)."""
    for index, record in enumerate(iter_records(reader)):
        if isinstance(record, dict):
            yield record
        else:
            yield Skipped("not a conversation object", item=f"{reader.name}#{index}")
