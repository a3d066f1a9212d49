"""Prompt texts for the memory's model steps, kept as files in `assets/prompts/`.

Placeholders are `$name` (string.Template), so prompts may contain JSON braces freely. A
missing placeholder value is an error rather than a silently broken prompt.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

from core.errors import EngramError

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "prompts"


@cache
def _template(name: str) -> Template:
    path = PROMPTS_DIR / f"{name}.txt"
    try:
        return Template(path.read_text("utf-8").strip())
    except OSError as exc:
        raise EngramError(f"The prompt file {path} is missing: reinstall Engram") from exc


def prompt(name: str, **values: str) -> str:
    """The prompt `name` with its placeholders filled."""
    try:
        return _template(name).substitute(**values)
    except KeyError as exc:
        raise ValueError(f"prompt {name!r} needs a value for {exc}") from exc
