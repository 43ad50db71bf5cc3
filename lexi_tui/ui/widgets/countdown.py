"""The connection line: what the link to the server is doing, with what happens next and when.

One small widget, the only one on screen that follows the clock by the second: it redraws
itself (never the screen) once a second only while the person is there and it shows a
countdown under two minutes ("retrying 14:05:09 (in 8 s)"); otherwise once a minute while it
shows minutes ("next refresh 14:25 (in 19 min)"), and not at all when there is nothing to
count. While the person is away (the terminal lost focus, or no key for a while) it shows only
the absolute time ("retrying 14:05:09"), which stays true without ticking, and redraws once
when that time comes. A short routine refresh ("live refresh every 15 s") is not counted
down: a countdown that restarts every few seconds is noise, and costs bytes on a slow link.

The words are the engine's (`ConnectionState.describe`); when the line is too narrow, what
happens next moves before the error and the budget, and the rest is cut with an ellipsis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.timer import Timer
from textual.widget import Widget

from lexi_tui.core.budget import clock_text, span_text
from lexi_tui.core.refresh import ConnectionState, Link

TICK_UNDER = 120.0
"""Seconds: a countdown shorter than this ticks by the second (span_text shows seconds)."""
ROUTINE_UNDER = 120.0
"""A routine refresh at most this far after the last one is said as a pace, not counted down."""

SYMBOLS: dict[Link, tuple[str, str]] = {
    Link.CONNECTING: ("◌", "status-bar--connecting"),
    Link.ONLINE: ("●", "status-bar--online"),
    Link.FAILING: ("▲", "status-bar--offline"),
    Link.OFFLINE: ("○", "status-bar--offline"),
    Link.RATE_LIMITED: ("◍", "status-bar--limited"),
    Link.DAY_OVER: ("◍", "status-bar--limited"),
    Link.SIGNED_OUT: ("○", "status-bar--offline"),
}


@dataclass(frozen=True, slots=True)
class Shown:
    """What the line says now: its words and when they next change (None: not by themselves)."""

    text: str
    next_change: float | None


def _timed(state: ConnectionState, now: float, relative: bool) -> tuple[str, float | None]:
    """"retrying 14:05:09 (in 8 s)" and when that text changes; ("", None) if nothing is next."""
    at, what = state.next_at, state.next_what
    if at is None or not what:
        if state.link == Link.SIGNED_OUT:
            return "nothing is polled until you sign in again", None
        return "", None
    left = at - now
    if left <= 0:
        return f"{what} now", None
    absolute = f"{what} {clock_text(at, now)}"
    if not relative:
        # Only the time of day: true until then, and redrawn once when it comes.
        return absolute, at + 0.05
    text = f"{absolute} (in {span_text(left)})"
    if left < TICK_UNDER:
        # span_text rounds: "42 s" turns into "41 s" when `left` drops below 41.5.
        step = (left + 0.5) % 1.0
        return text, now + (step if step > 0.02 else 1.0)
    minutes = round(left / 60)
    change = left - (minutes - 0.5) * 60  # When round(left / 60) drops by one.
    change = min(change if change > 0.02 else 60.0, left - (TICK_UNDER - 0.5))
    return text, now + max(0.05, change)


def describe(state: ConnectionState, now: float, *, present: bool, routine_every: float | None,
             width: int | None = None) -> Shown:
    """The line's words at `now` (without the symbol), fitted to `width` cells when given.

    Args:
        state: the engine's connection state.
        now: the current time (the engine's clock).
        present: whether the person is at the keyboard (countdowns then show "in …").
        routine_every: seconds between routine refreshes when short (said as a pace), else None.
        width: the cells available after the symbol (None: no limit).
    """
    head = state.headline
    if state.error and state.link in (Link.FAILING, Link.OFFLINE, Link.SIGNED_OUT):
        when = f" at {time.strftime('%H:%M:%S', time.localtime(state.error_at))}" if state.error_at else ""
        error = f"{state.error}{when}"
    else:
        error = ""
    budget = state.budget if state.link != Link.DAY_OVER else ""
    if (routine_every is not None and state.link == Link.ONLINE and state.next_what == "next refresh"
            and not state.note):
        timed, change = f"live refresh every {span_text(routine_every)}", None
    else:
        timed, change = _timed(state, now, present)
    # The engine's order (ConnectionState.describe): head[: error] · budget · note · next.
    first = " · ".join(p for p in (head + (f": {error}" if error else ""), budget, state.note, timed) if p)
    if width is None or len(first) <= width:
        return Shown(first, change)
    # Narrow: what happens next comes right after the headline; the detail gives way.
    tight = " · ".join(p for p in (head, timed, budget, error, state.note) if p)
    if len(tight) > width:
        tight = tight[: max(0, width - 1)] + "…"
    return Shown(tight, change)


class Countdown(Widget):
    """The connection state in words, redrawn only when its words change.

    The colours are the status bar's component classes (`status-bar--online`, ...), read from
    the parent, so the bar's CSS styles the line.
    """

    DEFAULT_CSS = """
    Countdown {
        width: 1fr;
        height: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: ConnectionState | None = None
        self.clock: Callable[[], float] = time.time
        """The engine's clock (the screen sets it)."""
        self.present: Callable[[], bool] = lambda: True
        """Whether the person is at the keyboard (the engine's `active`)."""
        self.routine_every: float | None = None
        """Seconds between routine refreshes when they are short (said as a pace)."""
        self._timer: Timer | None = None
        self._drawn = ""
        self.redraws = 0
        """How often the line was redrawn (for tests: a tick that changes nothing draws nothing)."""

    @property
    def text(self) -> str:
        """The line as drawn last (the symbol and the words)."""
        return self._drawn

    def show(self, state: ConnectionState | None, *, routine_every: float | None = None) -> None:
        """Show `state` from now on.

        Args:
            state: the engine's latest connection state (None: nothing yet).
            routine_every: see `routine_every`.
        """
        self.state = state
        self.routine_every = routine_every
        self.update_now()

    def update_now(self) -> None:
        """Redraw if the words changed, and arm the timer for their next change."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        state = self.state
        if state is None or not self.is_mounted:
            return
        now = self.clock()
        symbol = SYMBOLS.get(state.link, ("?", ""))[0]
        width = self.content_size.width - len(symbol) - 1 if self.content_size.width else None
        shown = describe(state, now, present=self.present(), routine_every=self.routine_every, width=width)
        text = f"{symbol} {shown.text}"
        if text != self._drawn:
            self._drawn = text
            self.redraws += 1
            self.refresh()
        if shown.next_change is not None:
            delay = max(0.05, shown.next_change - now)
            self._timer = self.set_timer(delay, self.update_now, name="countdown")

    def on_resize(self) -> None:
        self.update_now()

    def render(self) -> Text:
        state = self.state
        if state is None:
            return Text("")
        symbol, style_name = SYMBOLS.get(state.link, ("?", "status-bar--dim"))
        bar = self.parent
        strong = bar.get_component_rich_style(style_name, partial=True) if isinstance(bar, Widget) else Style()
        dim = bar.get_component_rich_style("status-bar--dim", partial=True) if isinstance(bar, Widget) else Style()
        words = self._drawn[len(symbol) + 1:]
        head = state.headline
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        if not words.startswith(head):  # So narrow that the headline itself was cut.
            text.append(self._drawn, strong)
            return text
        text.append(symbol + " " + head, strong)
        text.append(words[len(head):], dim)
        return text
