"""The detail pane: the selected task's fields, then its metadata as highlighted JSON.

It re-renders only when the selection or the task itself changes, never on a refresh
where nothing changed (a Rich table per refresh would cost more than the list).
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from lexi_tui.ui import clock
from lexi_tui.api.models import Task
from lexi_tui.ui.json_view import JsonView
from lexi_tui.ui.task_table import STATUS_MARKS


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
    stamp = created.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({relative})"


class TaskDetail(Vertical):
    """Fields of one task, and a scrollable view of its metadata."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: Task | None = None
        self.border_title = "Details"

    def compose(self) -> ComposeResult:
        yield Static(Text("Select a task to see its details.", style="dim"), id="detail-fields")
        yield JsonView(id="detail-json")

    @property
    def json_view(self) -> JsonView:
        return self.query_one(JsonView)

    def show(self, task: Task | None, *, note: str | None = None) -> None:
        """Show `task`; a task equal to the one shown is not re-rendered."""
        if task is not None and task == self.shown and task.metadata == getattr(self.shown, "metadata", None):
            self._show_fields(task, note)
            return
        self.shown = task
        self._show_fields(task, note)
        if task is None:
            self.json_view.show_note("(no task selected)")
        elif task.metadata is None:
            self.json_view.show_note("(no metadata)")
        else:
            self.json_view.show(task.metadata)

    def _show_fields(self, task: Task | None, note: str | None) -> None:
        """Description first (what a person decides on), then type, status, time and id.

        Three lines, so the metadata keeps most of the pane even at 80x24.
        """
        fields = self.query_one("#detail-fields", Static)
        if task is None:
            fields.update(Text("No task selected.", style="dim"))
            return
        mark, _ = STATUS_MARKS.get(task.status, ("?", "unknown"))
        text = Text()
        text.append(task.description or "(no description)", style="bold")
        text.append("\n")
        text.append(str(task.type) + ("" if task.type.is_known else " (unknown type)"), style="italic")
        text.append(f"  {mark} {task.status}" + ("" if task.status.is_known else " (unknown status)"))
        text.append(f"  {describe_time(task.created_at)}", style="dim")
        text.append("\n")
        text.append("ID ", style="dim")
        text.append(task.id or "(none)")
        if note:
            text.append("\n")
            text.append(note, style="italic")
        fields.update(text)
