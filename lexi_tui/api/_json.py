"""Decoding a response body into JSON without letting one bad value hide the whole answer.

`json.loads` refuses a whole document when any part of it is nested more deeply than the
interpreter's recursion limit allows (about 1,000 levels), or holds an integer of more than
4,300 digits: one task whose metadata nests 100,000 arrays would hide every other task. And
it accepts text that is not Unicode at all:
`"\\ud800"` escapes (and, from bytes, encoded surrogates) become lone surrogates that no
terminal or UTF-8 file can take. `decode` handles both, and costs nothing on a normal body:

* The normal path is one `json.loads` plus one scan of the bytes for a surrogate escape.
* Only when `json.loads` raises RecursionError (or the integer-length ValueError) does a
  bounded parse run: it walks the first `SPLIT_DEPTH` levels itself (for a task list: the
  envelope, `data`, `tasks`) and decodes each value below them with the C decoder on its
  own; a value that still cannot be read is skipped (bracket matching) and replaced by an
  `Unreadable` marker, `TOO_DEEP` or `TOO_BIG`. No recursion here depends on the input: the
  walk recurses at most `SPLIT_DEPTH` levels.
* A body that is not valid UTF-8 is decoded with `surrogateescape`, so the bytes that are not
  text become lone surrogates too, and the value holding them is flagged like any other.

Callers decide what a flagged value means (`may_hold_bad_text`, `partial`): the task list
skips the task and says so; a single-object answer is refused as malformed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

SPLIT_DEPTH = 3
"""Levels the bounded parse walks itself: `{"data": {"tasks": [ <task>, ... ]}}`."""


class Unreadable:
    """Stands in for a value a bounded parse could not read; `reason` says why, in words
    that complete "a task ... was skipped"."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<{self.reason}>"


TOO_DEEP: Final = Unreadable("nested too deeply to read")
TOO_BIG: Final = Unreadable("holding a number too long to read")


class _Invalid:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<not JSON>"


INVALID: Final = _Invalid()
"""`Decoded.value` of a body that is empty or not JSON."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded body and what is known about its text.

    Attributes:
        value: the JSON value, or `INVALID`.
        problem: for `INVALID`, what the body was in words ("empty body", "invalid or
            truncated JSON"); else None.
        may_hold_bad_text: some string (key or value) may hold a lone surrogate; check the
            strings you keep with `has_bad_text`. False means none can: the bytes held no
            surrogate escape and were valid UTF-8.
        skipped: the reasons of the values a bounded parse replaced by `Unreadable`
            markers, in document order (empty after a normal parse).
    """

    value: Any
    problem: str | None = None
    may_hold_bad_text: bool = False
    skipped: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.value is not INVALID

    @property
    def partial(self) -> bool:
        """Some value could not be read and stands as an `Unreadable` marker."""
        return bool(self.skipped)


# A surrogate escape (`\ud800`..`\udfff`); and a UTF-8-encoded surrogate (ED A0..BF), which
# `json.loads` on bytes lets through ('surrogatepass'). Each has one literal first byte, so
# the regular expression engine scans for it fast (about 1 ms for 5 MB).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_ENCODED_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
_LOW_ESCAPE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_WS = re.compile(r"[ \t\n\r]*")
# Strings (skipped whole) and runs of brackets, for skipping a value too deep to decode.
_SKIP = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+')
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def decode(content: bytes, *, piecewise: bool = False) -> Decoded:
    """Decode a body; never raises on any input (see the module docstring).

    Args:
        piecewise: decode the values below the first `SPLIT_DEPTH` levels one by one (the
            bounded parse) rather than the whole body in one `json.loads`, for a large body
            decoded in a thread: one C call holds the interpreter lock until it returns (over
            100 ms for 50,000 tasks), and so stops the event loop; one call per task lets the
            loop run between them. Same value, a little more time in all.
    """
    if not content or content.isspace():
        return Decoded(INVALID, "empty body")
    encoding = json.detect_encoding(content)
    if piecewise:
        bad_text = not encoding.startswith("utf-8") or _may_hold_surrogates(content)
        text = _as_text(content, encoding)
        if not bad_text and not text.isascii() and _SURROGATE.search(text):
            bad_text = True  # Bytes that were not UTF-8, turned into lone surrogates.
        return _bounded(text, bad_text=bad_text)
    bad_text = False
    try:
        value = json.loads(content)
    except UnicodeDecodeError:
        # Not valid UTF-8: undecodable bytes become lone surrogates, flagged where they sit.
        text = content.decode(encoding if encoding.startswith("utf-8") else "utf-8", "surrogateescape")
        return _decode_text(text)
    except json.JSONDecodeError:
        return Decoded(INVALID, "invalid or truncated JSON")
    except (RecursionError, ValueError):  # too deep, or an integer of over 4,300 digits
        bad_text = not encoding.startswith("utf-8") or _may_hold_surrogates(content)
        return _bounded(_as_text(content, encoding), bad_text=bad_text)
    if not encoding.startswith("utf-8"):
        bad_text = True  # UTF-16/32 bodies: rare; check their strings rather than their bytes.
    else:
        bad_text = _may_hold_surrogates(content)
    return Decoded(value, may_hold_bad_text=bad_text)


def _decode_text(text: str) -> Decoded:
    try:
        return Decoded(json.loads(text), may_hold_bad_text=True)
    except json.JSONDecodeError:
        return Decoded(INVALID, "invalid or truncated JSON")
    except (RecursionError, ValueError):
        return _bounded(text, bad_text=True)


def _as_text(content: bytes, encoding: str) -> str:
    try:
        return content.decode(encoding, "surrogatepass")
    except UnicodeDecodeError:
        return content.decode("utf-8", "surrogateescape")


def _may_hold_surrogates(content: bytes) -> bool:
    """False when no string in the UTF-8 body can hold a lone surrogate.

    Properly paired escapes (`\\ud83d\\ude00`, an emoji) are fine; anything else that looks
    like a surrogate, including an escaped backslash before `ud800`, answers True (the
    strings are then checked one by one, which is exact). A body without a backslash or a
    non-ASCII byte, the common case, costs two byte scans.
    """
    if not content.isascii() and _ENCODED_SURROGATE.search(content):
        return True
    if b"\\" not in content:
        return False
    position = 0
    while True:
        found = _SURROGATE_ESCAPE.search(content, position)
        if found is None:
            return False
        if found.group()[3] not in b"89abAB":
            return True  # a low surrogate escape on its own
        if not _LOW_ESCAPE.match(content, found.end()):
            return True  # a high surrogate escape not followed by a low one
        position = found.end() + 6


def has_bad_text(value: Any) -> bool:
    """Whether any string in `value` (keys included) holds a lone surrogate. Iterative: any
    depth is fine. An `Unreadable` marker counts as bad (it is not readable text either)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                    return True
                if not isinstance(child, (int, float, bool)) and child is not None:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(child for child in item if isinstance(child, (str, dict, list, Unreadable)))
        elif isinstance(item, Unreadable):
            return True
    return False


# -- the bounded parse ------------------------------------------------------------------------


def _bounded(text: str, *, bad_text: bool) -> Decoded:
    parser = _Bounded(text)
    try:
        value = parser.document()
    except (ValueError, RecursionError):
        return Decoded(INVALID, "invalid or truncated JSON")
    return Decoded(value, may_hold_bad_text=bad_text, skipped=tuple(parser.skipped))


class _Bounded:
    """Walks the first SPLIT_DEPTH levels; decodes everything below with the C decoder."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()
        self.skipped: list[str] = []

    def document(self) -> Any:
        value, end = self.value(self.ws(0), 0)
        if self.ws(end) != len(self.text):
            raise json.JSONDecodeError("Extra data", self.text, end)
        return value

    def ws(self, position: int) -> int:
        match = _WS.match(self.text, position)
        return match.end() if match else position

    def value(self, position: int, depth: int) -> tuple[Any, int]:
        head = self.text[position:position + 1]
        if depth < SPLIT_DEPTH and head == "{":
            return self.object(position, depth)
        if depth < SPLIT_DEPTH and head == "[":
            return self.array(position, depth)
        try:
            return self.decoder.raw_decode(self.text, position)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as exc:
            marker = TOO_DEEP if isinstance(exc, RecursionError) else TOO_BIG
            self.skipped.append(marker.reason)
            return marker, self.skip(position)

    def object(self, position: int, depth: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        position = self.ws(position + 1)
        if self.text[position:position + 1] == "}":
            return result, position + 1
        while True:
            if self.text[position:position + 1] != '"':
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", self.text, position)
            key, position = self.decoder.raw_decode(self.text, position)
            position = self.ws(position)
            if self.text[position:position + 1] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", self.text, position)
            result[key], position = self.value(self.ws(position + 1), depth + 1)
            position = self.ws(position)
            head = self.text[position:position + 1]
            if head == "}":
                return result, position + 1
            if head != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", self.text, position)
            position = self.ws(position + 1)

    def array(self, position: int, depth: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        position = self.ws(position + 1)
        if self.text[position:position + 1] == "]":
            return result, position + 1
        while True:
            item, position = self.value(position, depth + 1)
            result.append(item)
            position = self.ws(position)
            head = self.text[position:position + 1]
            if head == "]":
                return result, position + 1
            if head != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", self.text, position)
            position = self.ws(position + 1)

    def skip(self, position: int) -> int:
        """The end of the value starting at `position`: a number, or a container by bracket
        matching (strings are skipped whole, so brackets inside them do not count)."""
        number = _NUMBER.match(self.text, position)
        if number is not None and number.end() > position:
            return number.end()
        depth = 0
        for match in _SKIP.finditer(self.text, position):
            token = match.group()
            if token[0] == '"':
                continue
            if token[0] in "[{":
                depth += len(token)
            elif len(token) >= depth:
                return match.start() + depth
            else:
                depth -= len(token)
        raise json.JSONDecodeError("Unterminated value", self.text, position)
