"""Prompt texts for the chat and the memory's model steps, kept as files in `assets/prompts/`.

Each step has one form per kind of model (see core.runtime.model_kind): `base/NAME.txt`, a
completion frame with worked examples for a base model, and `instruct/NAME.txt`, an
instruction for an instruction-tuned one. Placeholders are `$name` (string.Template), so
prompts may contain JSON braces freely; a missing placeholder value is an error rather than a
silently broken prompt.

`frame_text` is a prompt's own words (the template with its placeholders removed): what a
model's answer must never copy (core.memory.gates).
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from string import Template

from core.base.errors import EngramError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "assets" / "prompts"
KINDS = ("base", "instruct")


@cache
def _template(name: str) -> Template:
    path = PROMPTS_DIR / f"{name}.txt"
    try:
        return Template(path.read_text("utf-8").strip())
    except OSError as exc:
        raise EngramError(f"The prompt file {path} is missing: reinstall Engram") from exc


def _name(name: str, kind: str | None) -> str:
    if kind is None:
        return name
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}")
    return f"{kind}/{name}"


def prompt(name: str, kind: str | None = None, /, **values: str) -> str:
    """The prompt `name` (in its form for `kind`, when given) with its placeholders filled."""
    full = _name(name, kind)
    try:
        return _template(full).substitute(**values)
    except KeyError as exc:
        raise ValueError(f"prompt {full!r} needs a value for {exc}") from exc


@cache
def frame_text(name: str, kind: str | None = None) -> str:
    """The prompt's own text: its template without the placeholders."""
    return re.sub(r"\$\{?\w+\}?", " ", _template(_name(name, kind)).template)
