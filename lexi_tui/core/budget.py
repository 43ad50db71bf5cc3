"""How often live refresh may poll, given the rate limit the server reports.

LeadLex's Starter plan allows 10 calls a minute across everything a key does, so
background polling must leave room for the person's own approvals, dismissals and chat.
The policy: background refresh may spend at most `share` of the limit (half, by default),
and stops altogether, until the window resets, when fewer than `reserve` calls remain.
At 10 a minute that is one poll every 12 s at most, with at least 3 calls always kept for
the user; at Pro's 50 a minute, one poll every 2.4 s (or the configured interval, if
longer).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from lexi_tui.api.ratelimit import RateLimit

WINDOW_SECONDS = 60.0
"""Lexi's limits are per minute; the headers give the count, not the window's length."""


@dataclass(frozen=True, slots=True)
class RefreshBudget:
    """The refresh policy: a configured interval, bounded by the server's budget."""

    interval: float
    """The configured seconds between refreshes; 0 turns live refresh off."""
    share: float = 0.5
    window: float = WINDOW_SECONDS

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def reserve(self, limit: int) -> int:
        """Calls kept back for the user's own actions."""
        return max(2, math.ceil(limit * (1 - self.share) * 0.6))

    def delay(self, rate: RateLimit | None, calls: int = 1, now: float | None = None) -> float:
        """Seconds to wait before the next background refresh that will make `calls` calls."""
        base = max(self.interval, 1.0)
        if rate is None or not rate.limit:
            return base
        now = time.time() if now is None else now
        per_call = self.window / max(1.0, rate.limit * self.share)
        base = max(base, per_call * max(1, calls))
        if rate.remaining is not None and rate.remaining - calls < self.reserve(rate.limit):
            wait = rate.seconds_until_reset(now)
            if wait is not None:
                base = max(base, wait + 0.5)
        return base

    def describe(self, rate: RateLimit | None) -> str:
        """One line for the help screen and the README: how the budget is spent now."""
        if not self.enabled:
            return "Live refresh is off (refresh_interval = 0); press r to refresh."
        if rate is None or not rate.limit:
            return f"Refreshing every {self.interval:g} s; the server reports no rate limit."
        every = max(self.interval, self.window / max(1.0, rate.limit * self.share))
        return (
            f"Limit {rate.limit}/min: background refresh every {every:g} s at most, "
            f"pausing when fewer than {self.reserve(rate.limit)} calls remain."
        )
