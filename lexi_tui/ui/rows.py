"""What one row of the task list says, cell by cell, without Textual.

The task list (`ui.widgets.task_table.TaskTable`) styles these pieces with its component
classes; the first frame (`ui.first_frame`), drawn before Textual is imported, writes the same
pieces to the terminal. One description of a row, so the two cannot drift apart.

Widths are terminal cells (`rich.cells`, the table Textual measures with), not characters: a
wide character takes two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size

from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.ui import clock

STATUS_MARKS: dict[str, tuple[str, str]] = {
    TaskStatus.PENDING: ("●", "pending"),
    TaskStatus.APPROVED: ("▶", "approved"),
    TaskStatus.COMPLETED: ("✔", "completed"),
    TaskStatus.DISMISSED: ("✖", "dismissed"),
    TaskStatus.FAILED: ("✘", "failed"),
    "in_progress": ("▶", "approved"),  # Chamelio: open, at a step other than approval.
    "cancelled": ("✖", "dismissed"),
}
TYPE_WIDTH = 16
AGE_WIDTH = 4
INFO_WIDTH = 14
"""Widest right-hand note of a row ("12,345 contacts", "✖ rejected")."""
AGE_UNITS = (("y", 31_536_000), ("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60))
OUTCOME_MARKS: dict[str, tuple[str, str]] = {
    "approved": ("✔ approved", "outcome-approved"),
    "rejected": ("✖ rejected", "outcome-rejected"),
}


def contact_count(task: Task) -> int | None:
    """`metadata.contact_count` when it is a whole number (what decides a campaign_start)."""
    metadata = task.metadata if isinstance(task.metadata, dict) else {}
    count = metadata.get("contact_count")
    if isinstance(count, bool) or not isinstance(count, int):
        return None
    return count


def outcome(task: Task) -> str | None:
    """The decision of the task's approval step, `metadata.outcome` ("approved" or
    "rejected"), as providers without a decided status report it (Chamelio: a rejected task
    is "completed"); None when there is none."""
    metadata = task.metadata if isinstance(task.metadata, dict) else {}
    value = metadata.get("outcome")
    return value if value in ("approved", "rejected") else None


def row_note(task: Task) -> tuple[str, str] | None:
    """The right-hand note of a row and its style name: the outcome of a decided task, or the
    number of people a campaign_start contacts (kept in view at any width, where the
    description's "for 120 contacts" would be cut)."""
    decided = outcome(task)
    if decided is not None:
        return OUTCOME_MARKS[decided]
    if str(task.type) == "campaign_start":
        count = contact_count(task)
        if count is not None:
            text = f"{count:,} contact{'s' if count != 1 else ''}"
            return (text if len(text) <= INFO_WIDTH else f"{count:.1e} contacts"[:INFO_WIDTH]), "count"
    return None


def format_age(created: datetime | None, now: datetime | None = None) -> str:
    """A compact age: `now` (created in the future: clock skew), `<1m`, `12m`, `3h`, `5d`, `8w`,
    `2y`. Minutes at the finest, so ages are redrawn as minutes pass, not seconds."""
    if created is None:
        return "?"
    now = now or clock.now()
    seconds = int((now - created).total_seconds())
    if seconds < 0:
        return "now"
    for unit, size in AGE_UNITS:
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "<1m"


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells on one line: cut with an ellipsis, or padded.

    Only the start of `text` is measured (a cell holds at most two characters' worth, and a
    row is one line), so a description of megabytes costs what a short one does. The same
    cells as Rich's `Text.truncate(width, overflow="ellipsis", pad=True)`.
    """
    text = text[: width * 2 + 16]
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 0 else ""
    return text + " " * (width - length)


@dataclass(frozen=True, slots=True)
class Row:
    """One row, as pieces of text with the name of their style.

    Attributes:
        pieces: (text, style name) in order, `width` cells in all; "" is the table's own style.
        age: the age it shows (`format_age`), kept by the table to redraw it when it changes.
    """

    pieces: tuple[tuple[str, str], ...]
    age: str


def task_row(task: Task, width: int, *, marked: bool = False, new: bool = False, busy: str | None = None,
             error: str | None = None) -> Row:
    """What the list shows for `task` in `width` cells.

    Args:
        task: the task.
        width: the row's width in cells.
        marked: the task is marked (◆).
        new: the task arrived after the first load (+).
        busy: what is being done to it ("approving in 4s"), shown where the age is.
        error: why its last action failed, shown where the age is.
    """
    mark, status_style = STATUS_MARKS.get(task.status, ("?", "unknown"))
    if busy:
        mark, status_style = "…", "busy"
    elif error:
        mark, status_style = "!", "error"
    drawn_age = format_age(task.created_at)
    age = busy or error or drawn_age
    age_width = max(AGE_WIDTH, min(len(age), 28)) if (busy or error) else AGE_WIDTH
    note = None if (busy or error) else row_note(task)
    note_width = len(note[0]) + 1 if note else 0
    desc_width = max(1, width - 2 - 2 - TYPE_WIDTH - 1 - age_width - 1 - note_width)
    pieces: list[tuple[str, str]] = [
        ("◆" if marked else "+" if new else " ", "marked" if marked else "new"),
        (mark + " ", status_style),
        (" ", ""),
        (fit(str(task.type), TYPE_WIDTH), "type"),
        (" ", ""),
        (fit(task.description or "(no description)", desc_width), ""),
        (" ", ""),
    ]
    if note is not None:
        pieces.append((note[0] + " ", note[1]))  # The space in the same piece: one run of text.
    pieces.append((fit(age, age_width) if len(age) > age_width else age.rjust(age_width),
                   "busy" if busy else "error" if error else "age"))
    pieces.append((" ", ""))
    return Row(tuple(pieces), drawn_age)
