"""One place for 'now', so tests and imports can speak of time consistently.

Times are stored as float Unix seconds (UTC) everywhere in the database.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def to_iso(ts: float | None) -> str | None:
    """Human-readable UTC time for reports and exports."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def from_iso(text: str) -> float:
    """Parse an ISO-8601 time (a trailing Z is accepted; naive times are taken as UTC)."""
    dt = datetime.fromisoformat(text.strip())     # Python 3.11 reads a trailing Z
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
