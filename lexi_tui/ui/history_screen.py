"""`h`: the audit log of every action the app sent, newest first, filterable as you type."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from lexi_tui.history import HistoryEntry, filter_entries, read
from lexi_tui.text import clean

MAX_ENTRIES = 5_000
COLUMNS = (("Time", 19), ("Action", 8), ("Outcome", 15), ("Source", 14), ("Type", 15), ("Task", 40), ("Reason / detail", 30))


class HistoryScreen(ModalScreen[None]):
    """Read in a worker thread (the log grows all day); rows are plain, cleaned text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "Close", id="history.close"),
        Binding("slash", "focus_filter", "Filter", id="history.filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[HistoryEntry] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog history"):
            yield Label("History: every action sent from this machine, newest first", classes="dialog-title")
            yield Input(placeholder="/ filter: task, type, action, outcome, reason, rule…", id="history-filter", compact=True)
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="history-status")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for title, width in COLUMNS:
            table.add_column(title, width=width)  # Fixed widths: no measuring pass.
        table.focus()
        self._load()

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
        table.add_rows(
            [
                Text(clean(value or "", multiline=False))
                for value in (
                    entry.time.replace("T", " ")[:19],
                    entry.action,
                    entry.outcome.replace("_", " "),
                    entry.source,
                    entry.task_type,
                    entry.description,
                    entry.reason or entry.comment or entry.detail or "",
                )
            ]
            for entry in entries
        )
        status = f"{len(entries)} of {len(self.entries)} entries" if entries is not self.entries else f"{len(entries)} entries"
        if not self.entries:
            status = "No actions recorded yet."
        self.query_one("#history-status", Static).update(Text(status, style="dim"))

    @on(Input.Changed, "#history-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(filter_entries(self.entries, event.value) if event.value.strip() else self.entries)

    @on(Input.Submitted, "#history-filter")
    def _keep(self) -> None:
        self.query_one(DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_close(self) -> None:
        if self.query_one("#history-filter", Input).has_focus and self.query_one("#history-filter", Input).value:
            self.query_one("#history-filter", Input).value = ""
            return
        self.dismiss(None)
