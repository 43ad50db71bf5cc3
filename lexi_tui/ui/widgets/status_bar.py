"""The header line: who and where (profile, host), the connection state, the budget.

A plain one-line Static: it repaints only when something it shows changes, never on a
clock, so an idle app writes next to nothing to a slow SSH link.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from lexi_tui.api.ratelimit import RateLimit

CONNECTION_LABELS: dict[str, tuple[str, str]] = {
    "connecting": ("◌ connecting", "status-bar--connecting"),
    "online": ("● online", "status-bar--online"),
    "offline": ("○ offline", "status-bar--offline"),
    "rate-limited": ("◍ rate-limited", "status-bar--limited"),
    "login": ("○ signed out", "status-bar--offline"),
}


class StatusBar(Static):
    """`lexi-tui · default @ data.leadlex.com · ● online · 7/10 calls left, resets 14:05:09`."""

    COMPONENT_CLASSES = {
        "status-bar--title",
        "status-bar--online",
        "status-bar--offline",
        "status-bar--connecting",
        "status-bar--limited",
        "status-bar--dim",
    }

    connection: reactive[str] = reactive("connecting")
    detail: reactive[str] = reactive("")
    rate_limit: reactive[RateLimit | None] = reactive(None)
    location: reactive[str] = reactive("")
    marked: reactive[int] = reactive(0)
    held: reactive[int] = reactive(0)
    rules: reactive[str] = reactive("")
    """"on", "paused", or "" when no rules are configured."""

    def render(self) -> Text:
        label, style_name = CONNECTION_LABELS.get(self.connection, (self.connection, "status-bar--dim"))
        dim = self.get_component_rich_style("status-bar--dim", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" lexi-tui ", self.get_component_rich_style("status-bar--title", partial=True))
        text.append(" ")
        text.append(self.location)
        text.append("  ")
        text.append(label, self.get_component_rich_style(style_name, partial=True))
        after = self._indicators(dim)
        if self.detail:
            # The detail ("retrying in 8 s (could not connect …)") takes only the room the
            # marked/held/rules indicators and the budget leave: those must stay on screen.
            room = self.content_size.width - text.cell_len - after.cell_len
            if room >= 6:
                detail = Text(f" {self.detail}", dim)
                detail.truncate(room, overflow="ellipsis")
                text.append_text(detail)
        text.append_text(after)
        return text

    def _indicators(self, dim: Style) -> Text:
        """What follows the connection state: marks, rules, held actions, the budget."""
        text = Text()
        if self.marked:
            text.append(f"  ◆ {self.marked} marked", self.get_component_rich_style("status-bar--limited", partial=True))
        if self.rules:
            style = "status-bar--online" if self.rules == "on" else "status-bar--limited"
            text.append(f"  rules {self.rules}", self.get_component_rich_style(style, partial=True))
        if self.held:
            text.append(f"  ⏳ {self.held} to send (u undoes)", self.get_component_rich_style("status-bar--connecting", partial=True))
        rate = self.rate_limit
        if rate is not None and rate.limit is not None:
            text.append("  ")
            remaining = "?" if rate.remaining is None else str(rate.remaining)
            text.append(f"{remaining}/{rate.limit} calls left", dim)
            if rate.reset_at is not None and rate.reset_at > time.time():
                reset = datetime.fromtimestamp(rate.reset_at).strftime("%H:%M:%S")
                text.append(f", resets {reset}", dim)
        return text
