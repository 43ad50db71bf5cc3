"""`h`: the audit log of every action the app sent, newest first, filterable as you type.

The table keeps to short columns so that it fits a terminal without scrolling sideways
(the task's description takes the width that is left); everything else an entry holds
(task id, full description, reason or comment, the error, the request id to quote to
support) is shown under the table for the highlighted row.

Everything shown is inert (`ui.text.plain`: the log holds server text), the task id is shown
as `show_id` (injective), and every field is cut to a bounded length. `/` moves to the filter;
Esc there goes back to the table (clearing the filter text, if any), so `h` or Esc then close.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from lexi_tui.api.text import show_id
from lexi_tui.core.history import HistoryEntry, filter_entries, read
from lexi_tui.ui.dialogs.inputs import SteadyInput
from lexi_tui.ui.text import plain

MAX_ENTRIES = 5_000
LEADING = (("Time", 19), ("Action", 7), ("Outcome", 15))
TRAILING = (("Source", 14), ("Type", 15))
COLUMNS = (*LEADING, *TRAILING)
"""Fixed widths (no measuring pass). The Task column, between the leading and the trailing
ones, gets the rest: on a narrow terminal it stays in view and Source and Type scroll off
(the line under the table names them too)."""
MIN_TASK_WIDTH = 20
_PADDING = 2 * (len(COLUMNS) + 1) + 2
"""Cell padding of every column, and room for the vertical scrollbar."""


class HistoryTable(DataTable):
    """A DataTable that tells its screen its width, so the Task column can fill it."""

    def on_resize(self, event: events.Resize) -> None:
        screen = self.screen
        if isinstance(screen, HistoryScreen):
            screen.fit_columns(event.size.width)


class HistoryScreen(ModalScreen[None]):
    """Read in a worker thread (the log grows all day); rows are plain, cleaned text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "Close", id="history.close",
                tooltip="Close the history (in the filter, Esc goes back to the table)"),
        Binding("slash", "focus_filter", "Filter", id="history.filter", tooltip="Filter the history as you type"),
    ]
    CELL_CHARS = 200
    """Characters of a cell (the column is narrower; a 30 MB description must not reach it)."""
    DETAIL_CHARS = 2_000

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[HistoryEntry] = []
        self.shown: list[HistoryEntry] = []
        """The entries in the table (after the filter), in row order."""
        self._task_width = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog history"):
            yield Label("History: every action sent from this machine, newest first", classes="dialog-title")
            yield SteadyInput(placeholder="/ filter: task, type, action, outcome, reason, rule…", id="history-filter", compact=True)
            yield HistoryTable(id="history-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="history-detail")
            yield Static("", id="history-status")

    def on_mount(self) -> None:
        self._set_columns(MIN_TASK_WIDTH)
        self.query_one(DataTable).focus()
        self._load()

    def fit_columns(self, table_width: int) -> None:
        """Give the Task column the width the fixed columns leave (called on resize)."""
        task_width = max(MIN_TASK_WIDTH, table_width - sum(width for _, width in COLUMNS) - _PADDING)
        if task_width != self._task_width:
            table = self.query_one(DataTable)
            row = table.cursor_row
            self._set_columns(task_width)
            self._fill(self.shown)
            if self.shown:
                table.move_cursor(row=min(row, len(self.shown) - 1))

    def _set_columns(self, task_width: int) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        self._task_width = task_width
        for title, width in (*LEADING, ("Task", task_width), *TRAILING):
            table.add_column(title, width=width)

    @work(thread=True, exclusive=True, group="history")
    def _load(self) -> None:
        entries = read(limit=MAX_ENTRIES)
        self.app.call_from_thread(self._show, entries)

    def _show(self, entries: list[HistoryEntry]) -> None:
        self.entries = entries
        self._fill(entries)

    def _fill(self, entries: list[HistoryEntry]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.shown = entries
        table.add_rows(
            [
                plain(value or "", single_line=True, no_wrap=True, limit=self.CELL_CHARS)
                for value in (
                    entry.time.replace("T", " ")[:19],
                    entry.action,
                    entry.outcome.replace("_", " "),
                    entry.description,
                    entry.source,
                    entry.task_type,
                )
            ]
            for entry in entries
        )
        self._show_detail(0 if entries else None)
        status = f"{len(entries)} of {len(self.entries)} entries" if entries is not self.entries else f"{len(entries)} entries"
        if not self.entries:
            status = "No actions recorded yet."
        self.query_one("#history-status", Static).update(Text(status))

    @on(DataTable.RowHighlighted, "#history-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, row: int | None) -> None:
        """Everything the highlighted entry holds, as plain text (it is server text)."""
        detail = self.query_one("#history-detail", Static)
        if row is None or not 0 <= row < len(self.shown):
            detail.update("")
            return
        entry = self.shown[row]

        limit = self.DETAIL_CHARS

        def line(*parts: str | None, style: str = "") -> Text:
            return plain(" · ".join(part[:limit] for part in parts if part), style, single_line=True, limit=limit)

        text = Text()
        text.append_text(line(entry.description or "(no description)", style="bold"))
        text.append("\n")
        text.append_text(line(f"task {show_id(entry.task_id)}" if entry.task_id else "no task id",
                              entry.task_type or None, entry.source or None,
                              f"profile {entry.profile}" if entry.profile else None))
        text.append("\n")
        text.append_text(line(f"request {entry.request_id}" if entry.request_id else "no request id"))
        notes = line(
            f"reason: {entry.reason}" if entry.reason else None,
            f"{'error' if entry.outcome == 'failed' else 'detail'}: {entry.detail}" if entry.detail else None,
            f"comment: {entry.comment}" if entry.comment else None,
            style="bold" if entry.outcome == "failed" else "",
        )
        if notes.plain:
            text.append(" · ")
            text.append_text(notes)
        detail.update(text)

    @on(Input.Changed, "#history-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(filter_entries(self.entries, event.value) if event.value.strip() else self.entries)

    @on(Input.Submitted, "#history-filter")
    def _keep(self) -> None:
        self.query_one(DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_close(self) -> None:
        """Esc in the filter goes back to the table (clearing the text); elsewhere it closes.
        (`h` typed in the filter is a letter of the filter, as in any text box.)"""
        box = self.query_one("#history-filter", Input)
        if box.has_focus:
            box.value = ""
            self.query_one(DataTable).focus()
            return
        self.dismiss(None)
