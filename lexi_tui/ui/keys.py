"""Key names as a person reads them: `ctrl+p` → `^p`, `question_mark` → `?`."""

from __future__ import annotations

_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "escape": "esc",
    "space": "space",
    "enter": "⏎",
}


def format_keys(keys: str) -> str:
    """`"up,k"` → `"up / k"`, with Textual's key names made readable."""
    shown = []
    for key in keys.split(","):
        key = key.strip()
        if key.startswith("ctrl+"):
            key = "^" + key[5:]
        shown.append(_NAMES.get(key, key))
    return " / ".join(shown)
