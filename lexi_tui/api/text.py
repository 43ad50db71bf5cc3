"""Make text from the server inert before it is shown anywhere.

Rich's `Text` strips only a handful of control characters and Textual writes ESC
through to the terminal, so a task description holding an OSC 2 or OSC 52 sequence
could retitle the terminal or write the clipboard (field notes). Every string that comes
from the server goes through `clean` once, where the API client builds its models.

Control characters are replaced by visible stand-ins rather than dropped, so that a
person can still see that something odd was there.

Ids are different: they are sent back to the server byte for byte, so they are never
cleaned. Code that *shows* an id uses `show_id`, an escaped form that is injective (two
different ids never look the same) and makes every invisible character visible.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# C0 controls except \t and \n, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
# Bidirectional overrides/isolates and other invisible format characters that can
# reorder or hide what a person reads (Trojan Source). Zero-width joiner (U+200D) is
# kept: emoji sequences need it and it cannot reorder text.
_INVISIBLE = re.compile(
    "[\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_WHITESPACE_RUN = re.compile(r"[\t\n]+")
# Lone surrogates (from `\ud800` escapes in JSON, or undecodable bytes): not text at all, and
# a terminal or a UTF-8 file cannot take them, so they are shown like format characters.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # U+2400 CONTROL PICTURES: ␛ for ESC, ␇ for BEL...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def _invisible(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def clean(value: str, *, multiline: bool = True) -> str:
    """Return `value` with every control and invisible-format character made visible.

    With `multiline=False`, tabs and newlines are collapsed to single spaces, for list
    rows and headers that must stay one line high.
    """
    if value.isprintable() and (multiline or "\n" not in value):
        return value  # Fast path: the common case allocates nothing.
    text = _CONTROL.sub(_picture, value)
    text = _INVISIBLE.sub(_invisible, text)
    text = _SURROGATE.sub(_invisible, text)
    # Remaining non-printables (unassigned, private use) are left alone unless they are
    # format characters (category Cf), which render invisibly.
    if any(unicodedata.category(ch) == "Cf" and ch != "\u200d" for ch in text):
        text = "".join(
            f"<U+{ord(ch):04X}>" if unicodedata.category(ch) == "Cf" and ch != "\u200d" else ch
            for ch in text
        )
    if not multiline:
        text = _WHITESPACE_RUN.sub(" ", text)
    return text


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, with an ellipsis when something was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def one_line(value: str, limit: int) -> str:
    """Server text for one line of a message or a log: cleaned, single-line, at most `limit` long.

    The client applies it at its boundary to every header value and reason phrase it uses
    (`X-Request-ID`, `Retry-After`, `X-RateLimit-*`, `Content-Type`) and to error texts.
    """
    return clip(clean(value[: limit * 4], multiline=False), limit)


def show_id(task_id: str) -> str:
    r"""How to *show* an id from the server; never send this form back (send `Task.id`).

    Injective: two different ids always show differently, so a hostile id cannot pass for
    another task's on screen, and every id can still be told apart and acted on. Plain
    printable ids are returned unchanged. Escaped, Python-style: the backslash itself
    (``\``), every character that is not printable (controls, format and invisible
    characters such as U+200B, lone surrogates, unassigned code points), every whitespace
    character including the plain space, and combining marks (so ``e`` + U+0301 does not pass
    for ``é``): ````, ``​``, `` ``, ``😀``-style escapes.

    Every place that shows an id (rows, the detail pane, dialogs, toasts, command output,
    the history view) must use this form, or `Task.display_id`.

    Look-alike letters from other scripts (Cyrillic ``а`` for Latin ``a``) are printable
    and are left alone; ids are documented as UUIDs, so they should not occur.
    """
    if task_id.isascii() and task_id.isprintable() and " " not in task_id and "\\" not in task_id:
        return task_id  # Fast path: a UUID, or any plain ASCII id.
    return "".join(_escape_id_char(ch) for ch in task_id)


def _escape_id_char(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch.isprintable() and not ch.isspace() and not unicodedata.category(ch).startswith("M"):
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def clean_any(value: object, *, multiline: bool = True) -> str:
    """Clean any JSON value as display text; non-strings are shown as their JSON form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean(value, multiline=multiline)
    import json

    try:
        rendered = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        rendered = repr(value)
    return clean(rendered, multiline=multiline)


def mask_key(key: str) -> str:
    """Show an API key the way the app always shows it: prefix, ellipsis, last four.

    `wbk_abcdef...1a2b` becomes `wbk_…1a2b`. Short keys reveal nothing but their prefix.
    """
    prefix, sep, _rest = key.partition("_")
    head = f"{prefix}_" if sep and len(prefix) <= 4 else ""
    if len(key) < 12:
        return f"{head}…"
    return f"{head}…{key[-4:]}"


# Every key shape the app knows: LeadLex (`wbk_…`), Chamelio (`ca_…`), and a bearer token in a
# header dump. Six or more token characters after the prefix, so prose such as "ca_fr" survives.
_KEY_SHAPED = re.compile(r"\b(?:wbk|ca)_[A-Za-z0-9_\-]{6,}|(?<=Bearer )[A-Za-z0-9_\-\.]{8,}")
_registered_secrets: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Add a key in use (the configured one, whatever its shape) to what `redact` masks."""
    if secret and len(secret) >= 6:
        _registered_secrets.add(secret)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every key masked: the ones given, the ones registered, and anything shaped
    like a key. The one masking rule for history, toasts, crash reports and command output."""
    for secret in sorted({*secrets, *_registered_secrets}, key=len, reverse=True):
        if secret and len(secret) >= 6 and secret in text:
            text = text.replace(secret, mask_key(secret))
    return _KEY_SHAPED.sub(lambda match: mask_key(match.group()), text)
