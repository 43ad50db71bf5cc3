"""Plain-text output of the commands: the task table, cutting to the terminal's width, stdout.

Everything shown here came from a server and was cleaned where the API models were built
(`lexi_tui.api.text.clean`): control characters arrive as visible stand-ins. Stdlib only.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC
from typing import Any


def task_table(tasks: Sequence[Any], status: str, width: int = 80, *, prefixes: bool = True) -> list[str]:
    """Lines of a plain-text table of `tasks` (id, type, status, age, description) that fits
    `width` cells. Ids are cut to the shortest prefix that still tells them apart (at least 8
    characters), which `approve` and `dismiss` accept, so descriptions get the room. Without
    `prefixes` (a provider whose ids are complete numbers: Chamelio) ids are shown whole."""
    from datetime import datetime

    if not tasks:
        return [f"No {status} tasks."]
    full = [task.id for task in tasks]
    id_w = 8
    while id_w < max(map(len, full)) and (not prefixes or len({i[:id_w] for i in full}) < len(set(full))):
        id_w += 1
    id_w = min(id_w, 36)
    type_w = min(16, max(4, *(_cells(str(t.type)) for t in tasks)))
    status_w = min(10, max(6, *(_cells(str(t.status)) for t in tasks)))
    desc_w = max(10, width - id_w - type_w - status_w - 4 - 8)
    now = datetime.now(UTC)

    def row(*cells: str) -> str:
        parts = [_pad(c, w) for c, w in zip(cells, (id_w, type_w, status_w, 4), strict=False)]
        return "  ".join(parts + [fit(cells[4], desc_w)]).rstrip()

    lines = [row("ID", "TYPE", "STATUS", "AGE", "DESCRIPTION")]
    for task in tasks:
        short = task.id[:id_w] if len(task.id) <= 36 else fit(task.id, id_w)
        lines.append(row(short, str(task.type), str(task.status), _age(task.created_at, now), task.description))
    noun = "task" if len(tasks) == 1 else "tasks"
    shortened = status == "pending" and id_w < max(map(len, full))
    note = " (ids shortened: a unique prefix works with approve and dismiss)" if shortened else ""
    lines.append(fit(f"{len(tasks)} {status} {noun}{note}", width))
    return lines


def fit(text: str, width: int) -> str:
    """`text` cut to `width` terminal cells, ending in … when cut (wide characters count 2)."""
    if _cells(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        cell = _cells(ch)
        if used + cell > width - 1:
            break
        out.append(ch)
        used += cell
    return "".join(out) + "…"


def _pad(text: str, width: int) -> str:
    text = fit(text, width)
    return text + " " * (width - _cells(text))


def _cells(text: str) -> int:
    import unicodedata

    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _age(created: Any, now: Any) -> str:
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def terminal_width() -> int:
    """The terminal's width in cells (80 when not a terminal; at least 60)."""
    import shutil

    return max(60, shutil.get_terminal_size((80, 24)).columns)


def out(text: str) -> None:
    """Print to stdout; a closed pipe (`| head`) ends the output, never the run itself."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def err(text: str) -> None:
    """A line on stderr."""
    print(text, file=sys.stderr, flush=True)
