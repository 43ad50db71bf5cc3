"""The yardstick: a bare Textual app (Header, a 200-row DataTable, Footer).

Every timing the harness reports is also given as a ratio to this app doing the matching
operation in the same session, so a slow CI box and a fast laptop give comparable ratios.
Run by path (`python benchmarks/baseline_app.py`) it exits right after its first frame, like
`lexi-tui --exit-after-load`; `--stay` keeps it running for key-latency and idle probes.
"""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

ROWS = 200
COLUMNS = ("", "Type", "Description", "Age")


def baseline_rows(count: int = ROWS) -> list[tuple[str, str, str, str]]:
    """Rows shaped like the task list's: a mark, a type, a description and an age."""
    kinds = ("prospect_search", "contact_update", "list_operation", "campaign_start")
    return [("●", kinds[n % 4], f"Find {10 + n % 190} CFOs at fintech companies in Berlin #{n}", f"{n % 59 + 1}m")
            for n in range(count)]


class BaselineApp(App[None]):
    """Header, DataTable, Footer; optionally exits once the first frame with its rows is drawn."""

    def __init__(self, *, rows: int = ROWS, exit_after_first_frame: bool = True) -> None:
        super().__init__()
        self.row_count = rows
        self.exit_after_first_frame = exit_after_first_frame

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        table.add_rows(baseline_rows(self.row_count))
        table.focus()
        if self.exit_after_first_frame:
            self.call_after_refresh(self.exit)

    def reload(self, rows: list[tuple[str, str, str, str]]) -> None:
        """What a naive refresh does: clear the table and add every row again."""
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(rows)


if __name__ == "__main__":
    BaselineApp(exit_after_first_frame="--stay" not in sys.argv[1:]).run()
