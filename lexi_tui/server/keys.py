"""API keys of the service: where they come from, and how they are shown.

Keys reach `lexi-tui serve` from its options (`--key`, visible in `ps`), from key files
(`--key-file`, `--chamelio-key-file`: one key per line, `#` starts a comment) and from the
environment (`LEXI_SERVE_KEYS`, `LEXI_SERVE_CHAMELIO_KEYS`: separated by commas or
whitespace). Wherever the service shows a key itself — the start-up banner, every `/_admin`
answer — it shows it masked: `wbk_…1a2b`. The masking is written here again on purpose rather
than borrowed from the client (the service must not import the client).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Environment variable with extra Lexi keys (lexi permission), comma- or whitespace-separated.
ENV_KEYS = "LEXI_SERVE_KEYS"
#: Environment variable with extra Chamelio keys (active), comma- or whitespace-separated.
ENV_CHAMELIO_KEYS = "LEXI_SERVE_CHAMELIO_KEYS"

ELLIPSIS = "…"
_PREFIX = re.compile(r"^[A-Za-z]{1,8}_")
_SEPARATORS = re.compile(r"[\s,]+")


class KeySourceError(ValueError):
    """A key file cannot be read or holds something that is not a key; says where."""


def mask_key(key: str) -> str:
    """`wbk_…1a2b`: the key's prefix (letters up to the first `_`), an ellipsis, the last four.

    A key too short to hide at least four characters besides those shows no tail at all
    (`ca_one` -> `ca_…`), so masking never gives most of a short key away.
    """
    match = _PREFIX.match(key)
    prefix = match.group(0) if match else ""
    hidden = len(key) - len(prefix) - 4
    return f"{prefix}{ELLIPSIS}{key[-4:]}" if hidden >= 4 else f"{prefix}{ELLIPSIS}"


def key_labels(keys: Iterable[str]) -> dict[str, str]:
    """A masked label per key, unique even when two keys mask alike (`wbk_…0001 (2)`)."""
    labels: dict[str, str] = {}
    taken: set[str] = set()
    for key in keys:
        if key in labels:
            continue
        label = base = mask_key(key)
        number = 2
        while label in taken:
            label = f"{base} ({number})"
            number += 1
        labels[key] = label
        taken.add(label)
    return labels


def account_id(key: str) -> str:
    """A stable id for the workspace a key belongs to, safe to store (a hash, not the key)."""
    return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def parse_key_text(text: str, source: str) -> list[str]:
    """Keys in a key file's text: one per line; blank lines and `#` comments are skipped.

    Raises KeySourceError naming `source` and the line when a line holds more than one word.
    """
    keys: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        if len(content.split()) != 1:
            raise KeySourceError(f"{source}, line {number}: expected one key per line")
        keys.append(content)
    return keys


def read_key_file(path: str | Path) -> list[str]:
    """The keys of a key file; KeySourceError when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeySourceError(f"cannot read key file {str(path)!r}: {exc}") from None
    return parse_key_text(text, f"key file {str(path)!r}")


def keys_from_environment(name: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Keys in environment variable `name` (comma- or whitespace-separated); [] when unset."""
    value = (os.environ if environ is None else environ).get(name, "")
    return [key for key in _SEPARATORS.split(value) if key]


def merge_keys(*sources: Iterable[str]) -> tuple[str, ...]:
    """All keys of all sources in order, each once."""
    return tuple(dict.fromkeys(key for source in sources for key in source))
