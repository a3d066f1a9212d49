"""A guarded byte stream between an archive file and the JSON parser.

`SafeReader` wraps a binary file and hands the parser clean UTF-8, a chunk at a time:
- the UTF-8 BOM is dropped; invalid bytes become U+FFFD; surrogates encoded as UTF-8
  (CESU-8 style) are joined into real characters or replaced;
- JSON nesting deeper than `max_depth` and strings longer than `max_string_bytes` stop the
  import with an ArchiveError instead of exhausting memory (ijson's cost grows with the
  square of the depth: 100,000 brackets ask for gigabytes);
- more than `max_bytes` of (decompressed) data stops it too (zip bombs that lie about sizes);
- `counter` accumulates bytes consumed, for progress reports.
Nothing here holds more than one chunk.
"""
from __future__ import annotations

import codecs
import re
from typing import BinaryIO

from core.importers.model import ArchiveError

CHUNK = 1 << 20
MAX_DEPTH = 256
MAX_STRING_BYTES = 256 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def _lenient(err: UnicodeDecodeError) -> tuple[str, int]:
    data = err.object[err.start:err.start + 3]
    if len(data) == 3 and data[0] == 0xED and 0xA0 <= data[1] <= 0xBF and 0x80 <= data[2] <= 0xBF:
        return data.decode("utf-8", "surrogatepass"), err.start + 3
    return "\ufffd", err.start + 1


codecs.register_error("engram-import", _lenient)


class ByteCounter:
    def __init__(self) -> None:
        self.value = 0


class SafeReader:
    def __init__(self, raw: BinaryIO, *, name: str = "", counter: ByteCounter | None = None,
                 max_bytes: int | None = None, max_depth: int = MAX_DEPTH,
                 max_string_bytes: int = MAX_STRING_BYTES) -> None:
        self._raw = raw
        self.name = name
        self._counter = counter or ByteCounter()
        self._max_bytes = max_bytes
        self._read_total = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("engram-import")
        self._buffer = b""
        self._held = ""             # a high surrogate waiting for its pair
        self._first = True
        self._eof = False
        self._max_depth = max_depth
        self._max_string = max_string_bytes
        self._depth = 0
        self._in_string = False
        self._string_run = 0
        self._pending_backslash = False

    # -- the file-object protocol ijson needs ---------------------------------------------
    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 1 << 62
        while len(self._buffer) < size and not self._eof:
            self._fill()
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def peek_nonspace(self) -> bytes:
        """The first non-whitespace byte without consuming it (b'' at end of input)."""
        while True:
            stripped = self._buffer.lstrip()
            if stripped or self._eof:
                self._buffer = stripped
                return stripped[:1]
            self._fill()

    def readline(self, limit: int = 16 << 20) -> bytes:
        while b"\n" not in self._buffer and not self._eof and len(self._buffer) < limit:
            self._fill()
        cut = self._buffer.find(b"\n")
        end = (cut + 1) if cut >= 0 else min(len(self._buffer), limit)
        if cut < 0 and len(self._buffer) >= limit:
            raise ArchiveError(f"{self.name}: a line longer than {limit >> 20} MB")
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def close(self) -> None:
        self._raw.close()

    # -- internals ----------------------------------------------------------------------
    def _fill(self) -> None:
        raw = self._raw.read(CHUNK)
        final = not raw
        self._read_total += len(raw)
        self._counter.value += len(raw)
        if self._max_bytes is not None and self._read_total > self._max_bytes:
            raise ArchiveError(f"{self.name}: more data than the archive declares "
                               f"(over {self._max_bytes >> 20} MB); refusing a possible zip bomb")
        text = self._held + self._decoder.decode(raw, final)
        self._held = ""
        if self._first and text:
            text = text.lstrip("\ufeff")
            self._first = False
        if text and not final and "\ud800" <= text[-1] <= "\udbff":
            text, self._held = text[:-1], text[-1]
        if not text.isascii() and _SURROGATE.search(text):
            from core.importers.text import fix_surrogates

            text = fix_surrogates(text)
        data = text.encode("utf-8")
        self._guard(data)
        self._buffer += data
        self._eof = final

    def _guard(self, data: bytes) -> None:
        """Track JSON depth and string length, string-aware, with C-speed byte operations:
        escapes are dropped, then everything but quotes and brackets, so only a few bytes per
        kilobyte are looked at individually."""
        if not data:
            return
        work = data
        if self._pending_backslash:
            work = b"\\" + work
        trailing = len(work) - len(work.rstrip(b"\\"))
        self._pending_backslash = trailing % 2 == 1
        if self._pending_backslash:
            work = work[:-1]
        if b"\\" in work:
            # Drop escaped backslashes, then escaped quotes: every remaining quote is real.
            work = work.replace(b"\\\\", b"").replace(b'\\"', b"")
        # Longest run between quotes: an upper bound on any string's length.
        first = work.find(b'"')
        if first < 0:
            self._string_run += len(work)
        else:
            self._string_run += first
            if self._string_run > self._max_string:
                self._too_long()
            self._string_run = len(work) - work.rfind(b'"') - 1
        if self._string_run > self._max_string or (
                len(work) > self._max_string
                and max(map(len, work.split(b'"'))) > self._max_string):
            self._too_long()
        parts = work.translate(None, _NOT_STRUCTURE).split(b'"')
        outside = parts[1::2] if self._in_string else parts[0::2]
        if len(parts) % 2 == 0:          # an odd number of quotes flips the state
            self._in_string = not self._in_string
        structure = b"".join(outside)
        opens = structure.count(b"[") + structure.count(b"{")
        closes = len(structure) - opens
        if self._depth + opens > self._max_depth:
            depth = self._depth
            for ch in structure:
                depth += 1 if ch in (0x5B, 0x7B) else -1
                if depth > self._max_depth:
                    raise ArchiveError(f"{self.name}: JSON nested deeper than {self._max_depth} "
                                       "levels; this does not look like a conversation archive")
        self._depth += opens - closes

    def _too_long(self) -> None:
        raise ArchiveError(f"{self.name}: a text longer than {self._max_string >> 20} MB; "
                           "this does not look like a conversation archive")
