"""Recognising archive formats from a look at each file, never from its name alone.

JSON files are recognised by the keys of their first record (read with a streaming parser,
so a multi-GB file costs a few milliseconds); JSONL by its first line; Markdown and text by
role-labelled lines near the top.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core.importers import chatgpt, claude, gemini, lmstudio, openwebui, sillytavern, transcript
from core.importers.containers import Container, Entry
from core.importers.model import ArchiveError, ParsedConversation, Skipped
from core.importers.stream import SafeReader

Parser = Callable[[SafeReader], Iterator[ParsedConversation | Skipped]]

PARSERS: dict[str, Parser] = {
    "chatgpt": chatgpt.parse, "claude": claude.parse, "openwebui": openwebui.parse,
    "lmstudio": lmstudio.parse, "gemini": gemini.parse, "sillytavern": sillytavern.parse,
    "markdown": transcript.parse_markdown, "jsonl": transcript.parse_jsonl,
}
LABELS = {"chatgpt": "ChatGPT", "claude": "Claude", "openwebui": "Open WebUI",
          "lmstudio": "LM Studio", "gemini": "Gemini (Google Takeout)",
          "sillytavern": "SillyTavern", "markdown": "Markdown transcript",
          "jsonl": "JSONL transcript"}
KNOWN = ", ".join(LABELS.values())
_SPLIT_CHATGPT = re.compile(r"(^|/)conversations-\d+\.json$")


@dataclass
class DetectedFormat:
    """What an archive holds: a format for each readable file, and what was not recognised."""
    path: str
    container: str                                   # file, zip, folder
    files: dict[str, str] = field(default_factory=dict)      # entry name -> format
    unrecognised: dict[str, str] = field(default_factory=dict)  # entry name -> what it looked like

    @property
    def formats(self) -> list[str]:
        return sorted(set(self.files.values()))

    @property
    def label(self) -> str:
        return ", ".join(LABELS[f] for f in self.formats) or "nothing recognised"


def classify_keys(keys: set[str]) -> str | None:
    if "mapping" in keys or "current_node" in keys:
        return "chatgpt"
    if "chat_messages" in keys:
        return "claude"
    if "chat" in keys or "history" in keys:
        return "openwebui"
    if "messages" in keys and keys & {"createdAt", "systemPrompt", "tokenCount", "clientInput",
                                      "preset", "pinned"}:
        return "lmstudio"
    if "header" in keys and "time" in keys:
        return "gemini"
    return None


def sniff_entry(entry: Entry) -> tuple[str | None, str]:
    """(format or None, a short description of what the file looked like)."""
    from core.importers.jsonio import sniff

    suffix = entry.suffix
    reader = entry.open()
    try:
        if suffix == ".jsonl":
            return _sniff_jsonl(reader)
        if suffix in (".md", ".markdown", ".txt"):
            return _sniff_text(reader)
        if entry.basename == "export_manifest.json":
            return None, "the export manifest"
        shape, keys = sniff(reader)
        if shape in ("invalid", "scalar") and suffix != ".json":
            reader.close()
            reader = entry.open()
            return _sniff_text(reader)
        fmt = classify_keys(set(keys))
        if fmt is None and shape == "array" and not keys:
            if entry.basename == "conversations.json" or _SPLIT_CHATGPT.search(entry.name):
                fmt = "chatgpt"          # an empty export
            elif entry.basename == "My Activity.json":
                fmt = "gemini"
        if fmt:
            return fmt, ""
        what = {"array": "a JSON array whose first item has keys",
                "object": "a JSON object with keys", "empty": "an empty file",
                "invalid": "not valid JSON"}.get(shape, f"{shape} JSON")
        return None, f"{what} {', '.join(sorted(keys)[:12])}".strip()
    except ArchiveError as exc:
        return None, str(exc)
    finally:
        reader.close()


def _sniff_jsonl(reader: SafeReader) -> tuple[str | None, str]:
    line = reader.readline(limit=64 << 20)
    try:
        first = json.loads(line) if line.strip() else None
    except (ValueError, RecursionError):
        return None, "a .jsonl file whose first line is not JSON"
    if isinstance(first, dict):
        keys = set(first)
        if keys & sillytavern.HEADER_KEYS or {"is_user", "mes"} <= keys:
            return "sillytavern", ""
        if keys & {"role", "speaker", "author", "messages", "from"}:
            return "jsonl", ""
        return None, f"JSON lines with keys {', '.join(sorted(keys)[:12])}"
    return None, "JSON lines that are not objects"


def _sniff_text(reader: SafeReader) -> tuple[str | None, str]:
    labels = 0
    for _ in range(2000):
        raw = reader.readline(limit=64 << 20)
        if not raw:
            break
        if transcript.role_label(raw.decode("utf-8", "replace")):
            labels += 1
            if labels >= 2:
                return "markdown", ""
    return None, "text without role labels (User:, Assistant:)"


def detect_container(container: Container) -> DetectedFormat:
    found = DetectedFormat(str(container.path), container.kind)
    for entry in container.entries:
        fmt, description = sniff_entry(entry)
        if fmt:
            found.files[entry.name] = fmt
        else:
            found.unrecognised[entry.name] = description
    if not found.files:
        raise ArchiveError(unrecognised_message(container, found))
    return found


def unrecognised_message(container: Container, found: DetectedFormat) -> str:
    name = container.path.name
    if container.refused and not found.unrecognised:
        why = "; ".join(f"{s.item}: {s.reason}" for s in container.refused[:3])
        return f"Nothing importable in {name} ({why})."
    if not container.entries:
        what = "no .json, .jsonl, .md or .txt files" if container.kind != "file" else "nothing"
        return f"Could not recognise {name}: it holds {what}. Engram reads {KNOWN}."
    described = {n: d.removeprefix(f"{n}: ") for n, d in found.unrecognised.items()}
    if container.kind == "file" and len(described) == 1:   # the file is the entry: name it once
        return f"Could not recognise {name}: {next(iter(described.values()))}. Engram reads {KNOWN}."
    seen = "; ".join(f"{n}: {d}" for n, d in list(described.items())[:3])
    return f"Could not recognise {name} ({seen}). Engram reads {KNOWN}."
