"""The header line: who and where, the connection state with what happens next, and the marks.

Three parts side by side: where (` lexi-tui  default @ data.leadlex.com`), the connection line
(`countdown.Countdown`: "● online · 63 calls left today · next refresh 14:05 (in 4 min)") and
the indicators (marked, rules, actions waiting to be sent). The indicators always stay whole;
the connection line takes the room left and gives way first (its detail is cut), and at narrow
widths where names only the profile. Only the connection line follows the clock, so an idle
app writes next to nothing to a slow SSH link.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static

from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.refresh import ConnectionState, Link
from lexi_tui.ui.first_frame import cached_marker
from lexi_tui.ui.widgets.countdown import Countdown

CONNECTION_NAMES: dict[Link, str] = {
    Link.CONNECTING: "connecting",
    Link.ONLINE: "online",
    Link.FAILING: "failing",
    Link.OFFLINE: "offline",
    Link.RATE_LIMITED: "rate-limited",
    Link.DAY_OVER: "day-over",
    Link.SIGNED_OUT: "signed-out",
}
"""`StatusBar.connection`: one word per state, for tests and scripts."""

ROOM_FOR_THE_LINE = 48
"""Cells the connection line should keep before where gives up the host and the title."""


class StatusBar(Horizontal):
    """`lexi-tui · default @ data.leadlex.com · ● online · … · ◆ 2 marked  rules on`."""

    DEFAULT_CSS = """
    StatusBar > #bar-where { width: auto; }
    StatusBar > #bar-marks { width: auto; }
    """

    COMPONENT_CLASSES = {
        "status-bar--title",
        "status-bar--online",
        "status-bar--offline",
        "status-bar--connecting",
        "status-bar--limited",
        "status-bar--dim",
    }

    location: reactive[str] = reactive("", layout=False, repaint=False)
    marked: reactive[int] = reactive(0, repaint=False)
    held: reactive[int] = reactive(0, repaint=False)
    rules: reactive[str] = reactive("", repaint=False)
    """"on", "paused", or "" when no rules are configured."""
    cached_as_of: reactive[str] = reactive("", repaint=False)
    """When the list on screen is the cached one, when it is from ("14:02"); "" once the
    server's list has replaced it. The bar then says so, in words that follow the connection."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.connection = "connecting"
        """The state in one word (`CONNECTION_NAMES`)."""
        self.rate_limit: RateLimit | None = None
        """The rate-limit headers of the latest answer (not drawn: the line says calls left today)."""
        self._where_full = True
        self._drawn: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="bar-where")
        yield Countdown(id="bar-link")
        yield Static("", id="bar-marks")

    def on_mount(self) -> None:
        self._redraw_where()
        self._redraw_marks()

    @property
    def countdown(self) -> Countdown:
        return self.query_one(Countdown)

    @property
    def detail(self) -> str:
        """The connection line's words as drawn (without the symbol)."""
        return self.countdown.text.partition(" ")[2]

    @property
    def line(self) -> str:
        """The whole bar as plain text, as it reads on screen."""
        parts = [str(self.query_one("#bar-where", Static).render()), self.countdown.text,
                 str(self.query_one("#bar-marks", Static).render())]
        return "".join(parts)

    def show(self, state: ConnectionState, *, routine_every: float | None = None) -> None:
        """Show the engine's connection state.

        Args:
            state: the state to show.
            routine_every: seconds between short routine refreshes (said as a pace), else None.
        """
        self.connection = CONNECTION_NAMES.get(state.link, str(state.link))
        self.countdown.show(state, routine_every=routine_every)
        if self.cached_as_of:
            self._redraw_marks()  # The cached list's words follow the connection ("the refresh failed").
        self._redraw_where()  # A short sentence leaves room for the host at 80 columns.

    # -- the parts that do not follow the clock ------------------------------------------------

    def watch_location(self) -> None:
        self._redraw_where()

    def watch_marked(self) -> None:
        self._redraw_marks()

    def watch_held(self) -> None:
        self._redraw_marks()

    def watch_rules(self) -> None:
        self._redraw_marks()

    def watch_cached_as_of(self) -> None:
        self._redraw_marks()

    @property
    def cached_note(self) -> str:
        """The cached list's marker as drawn ("as of 14:02, refreshing…"), "" when none."""
        return cached_marker(self.cached_as_of, self.connection) if self.cached_as_of else ""

    def on_resize(self) -> None:
        self._redraw_where()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"status-bar--{name}", partial=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted:  # A new theme: the parts are drawn again in its colours.
            self._redraw_marks()  # (It redraws where too.) Nothing is sent if nothing changed.
            self.countdown.refresh()

    def _redraw_where(self) -> None:
        if not self.is_mounted:
            return
        marks = self._marks_text().cell_len
        full = Text.assemble((" lexi-tui ", self._style("title")), " ", self.location, "  ")
        width = self.size.width
        sentence = len(self.countdown.text) + 1 if self.countdown.text else ROOM_FOR_THE_LINE
        self._where_full = not width or width - full.cell_len - marks >= min(ROOM_FOR_THE_LINE, sentence)
        if self._where_full:
            text = full
        else:  # Narrow: the profile's name only ("default"), the host gives way to the state.
            text = Text(f" {self.location.split(' @ ')[0]} ")
        if text != self._drawn.get("where"):  # Updating lays the bar out again: only on a change.
            self._drawn["where"] = text
            self.query_one("#bar-where", Static).update(text)

    def _marks_text(self) -> Text:
        text = Text(no_wrap=True, end="")
        if self.cached_as_of:
            text.append(f"  {self.cached_note}", self._style("limited"))
        if self.marked:
            text.append(f"  ◆ {self.marked} marked", self._style("limited"))
        if self.rules:
            style = "online" if self.rules == "on" else "limited"
            text.append(f"  rules {self.rules}", self._style(style))
        if self.held:
            text.append(f"  ⏳ {self.held} to send (u undoes)", self._style("connecting"))
        if text.cell_len:
            text.append(" ")
        return text

    def _redraw_marks(self) -> None:
        if not self.is_mounted:
            return
        text = self._marks_text()
        before = self._drawn.get("marks")
        if text != before:
            self._drawn["marks"] = text
            # Same width ("4 to send" after "3 to send"): no layout of the screen, which every
            # approval in a burst cost (~10 ms each); a new width lays the bar out again.
            same_width = before is not None and before.cell_len == text.cell_len
            self.query_one("#bar-marks", Static).update(text, layout=not same_width)
        self._redraw_where()
