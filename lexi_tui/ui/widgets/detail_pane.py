"""The detail pane: the selected task's fields, then its metadata as highlighted JSON.

It re-renders only when the selection or the task itself changes, never on a refresh
where nothing changed (a Rich table per refresh would cost more than the list).

What decides a task is in the first lines: the description, then type, status, the outcome
of a decided approval step (Chamelio's `metadata.outcome`: a rejected task is "completed"),
the number of contacts (`metadata.contact_count`), the time and the id as `display_id`.
A description longer than `DESCRIPTION_CHARS` is cut with a note; ⏎ on the metadata
(`JsonView.ShowAll`) shows the description and the metadata with nothing cut, formatted in a
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from lexi_tui.api.models import Task
from lexi_tui.ui import clock
from lexi_tui.ui.rows import OUTCOME_MARKS, STATUS_MARKS, contact_count, outcome
from lexi_tui.ui.text import cut, plain, size_words
from lexi_tui.ui.widgets.json_view import JsonView

DESCRIPTION_LINES = 4
"""Lines of the pane a description may fill; the rest is one key away (⏎ on the metadata), so
the status, outcome and id under it stay in view whatever its length."""
DESCRIPTION_CHARS = 2_000
"""Characters of a description shown before the pane has a width (its first layout)."""


def describe_time(created: datetime | None, now: datetime | None = None) -> str:
    """`2026-11-23 14:05:09 UTC (3 hours ago)`: absolute and relative."""
    if created is None:
        return "unknown"
    now = now or clock.now()
    seconds = int((now - created).total_seconds())
    if seconds < 0:
        relative = "in the future"
    elif seconds < 45:
        relative = "just now"
    else:
        for unit, size in (("year", 31_536_000), ("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
            if seconds >= size:
                count = seconds // size
                relative = f"{count} {unit}{'s' if count != 1 else ''} ago"
                break
        else:
            relative = f"{seconds} seconds ago"
    stamp = created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({relative})"


class TaskDetail(Vertical):
    """Fields of one task, and a scrollable view of its metadata."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "task-detail--label",
        "task-detail--note",
        "task-detail--outcome-approved",
        "task-detail--outcome-rejected",
    }

    def __init__(self, *, empty_text: Callable[[], str] | None = None, id: str | None = None) -> None:
        """
        Args:
            empty_text: what the pane says when no task is selected (the list is empty):
                the same words as the list ("No failed tasks", "Not fetched yet").
        """
        super().__init__(id=id)
        self.shown: Task | None = None
        self.empty_text: Callable[[], str] = empty_text or (lambda: "No task selected.")
        self._empty_shown: str | None = None
        self.border_title = "Details"
        self.known_types = True
        """False when task types are free text (a workflow name): no "(unknown type)" note."""
        self._files: dict[tuple[str, object], list[str]] = {}
        self._fields_height = -1

    def compose(self) -> ComposeResult:
        yield Static(Text("Select a task to see its details."), id="detail-fields", classes="-empty")
        yield JsonView(id="detail-json")

    @property
    def json_view(self) -> JsonView:
        return self.query_one(JsonView)

    def show(self, task: Task | None, *, note: str | None = None) -> None:
        """Show `task`; a task equal to the one shown is not re-rendered."""
        if task is None and self.shown is None and self._empty_shown == self.empty_text() and not note:
            return  # An empty view refreshed: nothing to repaint.
        if task is not None and task == self.shown and task.metadata == getattr(self.shown, "metadata", None):
            self._show_fields(task, note)
            return
        self.shown = task
        self._show_fields(task, note)
        view = self.json_view
        view.more_to_show = task is not None and len(task.description) > self._description_limit()
        if task is None:
            view.show_note("")
        elif task.metadata is None:
            view.show_note("(no metadata)")
        else:
            view.show(task.metadata)
        self._title()

    @on(JsonView.ShowAll)
    def show_all(self) -> None:
        """Everything the task holds, nothing cut (⏎ again: back to the short view)."""
        task, view = self.shown, self.json_view
        if task is None:
            return
        if view.everything:
            view.show(task.metadata) if task.metadata is not None else view.show_note("(no metadata)")
        else:
            view.show_everything(task.description, task.metadata)
        self._title()

    def _description_limit(self) -> int:
        """Characters of the description that fit `DESCRIPTION_LINES` lines with the note."""
        width = self.query_one("#detail-fields", Static).content_region.width
        if width <= 0:
            return DESCRIPTION_CHARS
        return max(120, width * DESCRIPTION_LINES - 50)

    def _title(self) -> None:
        title = "Details: everything (⏎ for the short view)" if self.json_view.everything else "Details"
        if self.border_title != title:
            self.border_title = title

    @staticmethod
    def _files_key(task: Task) -> tuple[str, object]:
        updated = task.metadata.get("updated_at") if isinstance(task.metadata, dict) else None
        return (task.id, updated)

    def has_files(self, task: Task) -> bool:
        """Whether the files of this version of the task are known."""
        return self._files_key(task) in self._files

    def set_files(self, task: Task, names: list[str]) -> None:
        """The names of the task's files (read from its approval step), shown under its fields."""
        self._files[self._files_key(task)] = names
        # Read by a worker: by the time it answers, the screen may be closing (its widgets gone).
        if self.is_mounted and self.shown is not None and self.shown.id == task.id:
            self._show_fields(self.shown, None)

    def _step_line(self, task: Task) -> Text | None:
        """`Step: Legal approval (approval) · assignee x@y`, when the metadata has a step."""
        metadata = task.metadata if isinstance(task.metadata, dict) else {}
        step = metadata.get("step")
        if self.known_types or not isinstance(step, dict):
            return None
        line = Text()
        line.append("Step ", style=self._muted)
        line.append_text(plain(str(step.get("name") or "(none)"), single_line=True, limit=200))
        if step.get("type"):
            line.append_text(plain(f" ({step['type']})", self._muted, single_line=True, limit=200))
        if metadata.get("assignee"):
            line.append("  assignee ", style=self._muted)
            line.append_text(plain(str(metadata["assignee"]), single_line=True, limit=200))
        return line

    @property
    def _muted(self) -> Style:
        """Labels ("ID", "Step"): the pane's own muted style (readable in every theme)."""
        return self.get_component_rich_style("task-detail--label", partial=True)

    def _show_fields(self, task: Task | None, note: str | None) -> None:
        """Description first (what a person decides on), then type, status, outcome,
        contacts, time and id.

        Three lines, so the metadata keeps most of the pane even at 80x24.
        """
        fields = self.query_one("#detail-fields", Static)
        if task is None:
            empty = self.empty_text()
            self._empty_shown = empty
            fields.update(Text(empty))
            fields.add_class("-empty")
            self._fields_height = -1
            return
        self._empty_shown = None
        fields.remove_class("-empty")
        muted = self._muted
        mark, _ = STATUS_MARKS.get(task.status, ("?", "unknown"))
        text = Text()
        limit = self._description_limit()
        description, left = cut(task.description or "(no description)", limit)
        text.append_text(plain(description, "bold", single_line=True, limit=limit))
        if left:
            text.append(f" … {size_words(left)} more (⏎, then ⏎ again, shows it all)",
                        self.get_component_rich_style("task-detail--note", partial=True))
        text.append("\n")
        unknown = not task.type.is_known and self.known_types
        text.append_text(plain(str(task.type) + (" (unknown type)" if unknown else ""), "italic", single_line=True,
                               limit=200))
        status = str(task.status).replace("_", " ")
        status += "" if task.status.is_known or not self.known_types else " (unknown status)"
        text.append_text(plain(f"  {mark} {status}", single_line=True, limit=200))
        decided = outcome(task)
        if decided is not None:
            words, style_name = OUTCOME_MARKS[decided]
            text.append("  ")
            text.append(words, self.get_component_rich_style(f"task-detail--{style_name}", partial=True))
        count = contact_count(task)
        if count is not None:
            text.append(f"  {count:,} contact{'s' if count != 1 else ''}", "bold")
        text.append(f"  {describe_time(task.created_at)}", muted)
        text.append("\n")
        text.append("ID ", muted)
        text.append(task.display_id or "(none)")
        step = self._step_line(task)
        if step is not None:
            text.append("\n")
            text.append_text(step)
        files = self._files.get(self._files_key(task))
        if files:
            text.append("\n")
            text.append("Files ", muted)
            text.append_text(plain(", ".join(files), single_line=True, limit=1_000))
        if note:
            text.append("\n")
            text.append_text(plain(note, "italic", limit=1_000))
        # A layout pass repaints the whole screen; it is only needed when the height changes,
        # and moving between tasks usually keeps it (this runs on every cursor move).
        width = fields.content_region.width
        height = len(text.wrap(self.app.console, width)) if width > 0 else -1
        fields.update(text, layout=height != self._fields_height or height < 0)
        self._fields_height = height
