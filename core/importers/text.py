"""Text hygiene for imported archives.

- `clean`: what every stored string goes through: BOM, lone surrogates (which SQLite cannot
  store), text double-encoded through cp1252 ("Ã©" for "é", "â€™" for "'"), a length bound.
- `memory_text`: additionally drops ChatGPT's private-use citation markers (U+E200-U+E206),
  which are invisible garbage once out of ChatGPT's renderer.
"""
from __future__ import annotations

import re

MAX_TEXT_CHARS = 2_000_000
TRUNCATION_NOTE = "\n[... truncated by Engram's importer]"

_SURROGATES = re.compile("[\ud800-\udfff]")
# Runs of characters that cp1252 maps bytes 0x80-0xFF to: where mojibake lives.
_CP1252_SPECIALS = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_HIGH_RUN = re.compile(f"[\u0080-\u00ff{_CP1252_SPECIALS}]{{2,}}")
_MOJIBAKE_HINT = re.compile(f"[\u00c2-\u00f4][\u0080-\u00bf{_CP1252_SPECIALS}]")
_CITATION_SPAN = re.compile("\ue200(?:cite|filecite|navlist|image_group|video)"
                            "[^\ue200\ue201]{0,2000}\ue201")
_CITATION_MARKS = re.compile("[\ue200-\ue206]")
_BYTE_OF = {ch: bytes([b]) for b in range(0x80, 0x100)
            for ch in [bytes([b]).decode("cp1252", errors="ignore") or chr(b)]}


def clean(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not text:
        return ""
    if text[0] == "\ufeff":
        text = text.lstrip("\ufeff")
    if len(text) > limit:
        text = text[:limit] + TRUNCATION_NOTE
    if text.isascii():
        return text
    if _SURROGATES.search(text):
        text = fix_surrogates(text)
    if _MOJIBAKE_HINT.search(text):
        text = fix_mojibake(text)
    return text


def fix_surrogates(text: str) -> str:
    """Join surrogate pairs that arrived as two characters (CESU-8 style); replace lone ones."""
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _SURROGATES.sub("\ufffd", joined)


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 bytes that were decoded as cp1252, run by run, only where the bytes form
    valid UTF-8 (so real Latin-1 words such as "café" are left alone)."""

    def repair(match: re.Match[str]) -> str:
        run = match.group(0)
        try:
            raw = b"".join(_BYTE_OF[ch] for ch in run)
            return raw.decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            return _repair_prefixes(run)

    return _HIGH_RUN.sub(repair, text)


def _repair_prefixes(run: str) -> str:
    """A run may mix repairable sequences with ordinary accented letters: fix greedily."""
    out, i = [], 0
    while i < len(run):
        for size in (4, 3, 2):
            chunk = run[i:i + size]
            if len(chunk) < size:
                continue
            try:
                raw = b"".join(_BYTE_OF[ch] for ch in chunk)
                decoded = raw.decode("utf-8")
            except (KeyError, UnicodeDecodeError):
                continue
            out.append(decoded)
            i += size
            break
        else:
            out.append(run[i])
            i += 1
    return "".join(out)


def memory_text(text: str) -> str:
    """Text fit for a memory: citation spans and markers removed, whitespace tidied."""
    if not text.isascii() and _CITATION_MARKS.search(text):
        text = _CITATION_SPAN.sub("", text)
        text = _CITATION_MARKS.sub("", text)
    return text.strip()


def strip_html(html: str) -> str:
    """Plain text from the small HTML fragments Google Takeout stores responses in."""
    import html as html_lib

    text = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</h\d>|</div>", "\n", html)
    text = re.sub(r"<[^>]{0,1000}>", "", text)
    text = html_lib.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
