"""Make text from the server inert before it is shown anywhere.

Rich's `Text` strips only a handful of control characters and Textual writes ESC
through to the terminal, so a task description holding an OSC 2 or OSC 52 sequence
could retitle the terminal or write the clipboard (field notes). Every string that comes
from the server goes through `clean` once, where the API client builds its models.

Control characters are replaced by visible stand-ins rather than dropped, so that a
person can still see that something odd was there.
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
    # Remaining non-printables (unassigned, private use, surrogates) are left alone
    # unless they are format characters (category Cf), which render invisibly.
    if any(unicodedata.category(ch) == "Cf" and ch != "\u200d" for ch in text):
        text = "".join(
            f"<U+{ord(ch):04X}>" if unicodedata.category(ch) == "Cf" and ch != "\u200d" else ch
            for ch in text
        )
    if not multiline:
        text = _WHITESPACE_RUN.sub(" ", text)
    return text


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
