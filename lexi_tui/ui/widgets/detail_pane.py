"""The detail pane: the selected task's fields, then its metadata as highlighted JSON.

It re-renders only when the selection or the task itself changes, never on a refresh
where nothing changed (a Rich table per refresh would cost more than the list).
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from lexi_tui.api.models import Task
from lexi_tui.ui import clock
from lexi_tui.ui.widgets.json_view import JsonView
from lexi_tui.ui.widgets.task_table import STATUS_MARKS


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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: Task | None = None
        self.border_title = "Details"
        self.known_types = True
        """False when task types are free text (a workflow name): no "(unknown type)" note."""
        self._files: dict[tuple[str, object], list[str]] = {}
        self._fields_height = -1

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
        line.append("Step ", style="dim")
        line.append(f"{step.get('name') or '(none)'}")
        if step.get("type"):
            line.append(f" ({step['type']})", style="dim")
        if metadata.get("assignee"):
            line.append("  assignee ", style="dim")
            line.append(str(metadata["assignee"]))
        return line

    def _show_fields(self, task: Task | None, note: str | None) -> None:
        """Description first (what a person decides on), then type, status, time and id.

        Three lines, so the metadata keeps most of the pane even at 80x24.
        """
        fields = self.query_one("#detail-fields", Static)
        if task is None:
            fields.update(Text("No task selected.", style="dim"))
            self._fields_height = -1
            return
        mark, _ = STATUS_MARKS.get(task.status, ("?", "unknown"))
        text = Text()
        text.append(task.description or "(no description)", style="bold")
        text.append("\n")
        unknown = not task.type.is_known and self.known_types
        text.append(str(task.type) + (" (unknown type)" if unknown else ""), style="italic")
        text.append(f"  {mark} {str(task.status).replace('_', ' ')}"
                    + ("" if task.status.is_known or not self.known_types else " (unknown status)"))
        text.append(f"  {describe_time(task.created_at)}", style="dim")
        text.append("\n")
        text.append("ID ", style="dim")
        text.append(task.id or "(none)")
        step = self._step_line(task)
        if step is not None:
            text.append("\n")
            text.append_text(step)
        files = self._files.get(self._files_key(task))
        if files:
            text.append("\n")
            text.append("Files ", style="dim")
            text.append(", ".join(files))
        if note:
            text.append("\n")
            text.append(note, style="italic")
        # A layout pass repaints the whole screen; it is only needed when the height changes,
        # and moving between tasks usually keeps it (this runs on every cursor move).
        width = fields.content_region.width
        height = len(text.wrap(self.app.console, width)) if width > 0 else -1
        fields.update(text, layout=height != self._fields_height or height < 0)
        self._fields_height = height
