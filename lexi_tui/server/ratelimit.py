"""Per-key rate limits as the LeadLex gateway applies them: a daily quota and a per-minute limit.

Documented (https://docs.leadlex.com/authentication, /quickstart):

* Plans: Starter 100 calls/day and 10/minute, Pro 1,000 and 50, Org 10,000 and 200. Both
  limits hold at once. The daily count resets at midnight UTC.
* The headers' example (`X-RateLimit-Limit: 1000`, `Remaining: 995`, `Reset: 1708905600`, a
  midnight UTC) describes the **daily** window, Reset being a Unix time.
* A 429 is `rate_limited`, "Rate limit exceeded". No page mentions `Retry-After`.

Assumptions, where the docs are silent:

* The per-minute limit is a fixed window per key that starts with the key's first counted call
  and lasts `window` (virtual) seconds, not a window aligned to wall-clock minutes or a sliding
  one. Starting it per key keeps tests from straddling a boundary. (This is also what
  `--rate-window` has always meant without a plan.)
* Requests answered 429 consume neither budget; unauthenticated requests never reach here.
* A key is a workspace: the docs scope each key to one workspace, so counters are per key.
* Calls are counted even while no limit is on, so `/_admin/ratelimit` can show calls spent.

All times go through the service's `ScaledClock`: with `--time-scale K` a day lasts 86,400/K
real seconds and ends at a true (virtual) midnight UTC; `Reset` is the real Unix time of that
boundary, rounded up.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from typing import Any

from .clock import DAY_SECONDS, ScaledClock, day_index, iso_utc

DAILY = "daily"
MINUTE = "minute"
_EPSILON = 1e-6  # float noise when turning a virtual boundary back into real time


@dataclasses.dataclass(frozen=True)
class Window:
    """One limit's state for one key, after the current request was counted (or refused)."""

    name: str  # DAILY or MINUTE
    limit: int
    used: int
    ends_at: float  # real Unix time at which the window ends (its count starts again)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def reset_epoch(self) -> int:
        """`X-RateLimit-Reset`: the real Unix time the window ends, rounded up."""
        return math.ceil(self.ends_at - _EPSILON)

    def seconds_left(self, now: float) -> int:
        """Whole seconds until the window ends, at least 1 (for `Retry-After`)."""
        return max(1, math.ceil(self.ends_at - now - _EPSILON))


@dataclasses.dataclass(frozen=True)
class RateDecision:
    """Outcome for one request: allowed or not, and what the X-RateLimit-* headers say.

    `described` is the window the headers describe (None when no limit is on); `refused_by`
    names the windows that were full; `retry_after` is the whole seconds until all of those
    free up (0 when allowed).
    """

    allowed: bool
    described: Window | None
    refused_by: tuple[str, ...]
    retry_after: int

    @property
    def limit(self) -> int:
        return self.described.limit if self.described else 0

    @property
    def remaining(self) -> int:
        return self.described.remaining if self.described else 0

    @property
    def reset_epoch(self) -> int:
        return self.described.reset_epoch if self.described else 0

    def headers(self, retry_after: bool = False) -> list[tuple[bytes, bytes]]:
        """The X-RateLimit-* headers (none when no limit is on) as raw ASGI headers.

        Args:
            retry_after: also send `Retry-After` when the request was refused.
        """
        result: list[tuple[bytes, bytes]] = []
        if self.described is not None:
            result += [
                (b"x-ratelimit-limit", str(self.described.limit).encode()),
                (b"x-ratelimit-remaining", str(self.described.remaining).encode()),
                (b"x-ratelimit-reset", str(self.described.reset_epoch).encode()),
            ]
        if retry_after and not self.allowed:
            result.append((b"retry-after", str(self.retry_after).encode()))
        return result


@dataclasses.dataclass
class _Counters:
    """Mutable per-key state (under the limiter's lock). Times are virtual."""

    day: int = -1
    used_day: int = 0
    minute_start: float | None = None
    used_minute: int = 0


class RateLimiter:
    """Thread-safe daily and per-window counters keyed by API key.

    Args:
        limit: calls per window per key (the per-minute limit); 0 = off.
        window: the window's length in virtual seconds.
        daily_limit: calls per UTC day per key; 0 = off.
        clock: the service's scaled clock (a real-time clock by default).
        describe: which window the headers describe when both limits are on (DAILY or MINUTE).
    """

    def __init__(self, limit: int = 0, window: float = 60.0, *, daily_limit: int = 0,
                 clock: ScaledClock | None = None, describe: str = DAILY) -> None:
        self.limit = limit
        self.window = window
        self.daily_limit = daily_limit
        self.clock = clock or ScaledClock()
        self.describe = describe
        self._lock = threading.Lock()
        self._counters: dict[str, _Counters] = {}

    @property
    def enabled(self) -> bool:
        """Whether any limit applies (when none does, no X-RateLimit-* headers are sent)."""
        return self.limit > 0 or self.daily_limit > 0

    def check(self, key: str) -> RateDecision:
        """Count a request for `key` if both windows have budget left, and say so."""
        now = self.clock.real_now()
        virtual = self.clock.virtual(now)
        with self._lock:
            counters = self._counters.setdefault(key, _Counters())
            self._roll(counters, virtual)
            refused = self._full(counters)
            if not refused:
                counters.used_day += 1
                if counters.minute_start is None:
                    counters.minute_start = virtual
                counters.used_minute += 1
            daily, minute = self._windows(counters, virtual)
        by_name = {DAILY: daily, MINUTE: minute}
        waits = [by_name[name].seconds_left(now) for name in refused]
        return RateDecision(allowed=not refused, described=self._described(daily, minute),
                            refused_by=tuple(refused), retry_after=max(waits, default=0))

    def _roll(self, counters: _Counters, virtual: float) -> None:
        """Start a new day at midnight UTC, a new window once the old one has passed."""
        today = day_index(virtual)
        if counters.day != today:
            counters.day, counters.used_day = today, 0
        if counters.minute_start is not None and virtual >= counters.minute_start + self.window:
            counters.minute_start, counters.used_minute = None, 0

    def _full(self, counters: _Counters) -> list[str]:
        refused = []
        if self.daily_limit > 0 and counters.used_day >= self.daily_limit:
            refused.append(DAILY)
        if self.limit > 0 and counters.minute_start is not None and counters.used_minute >= self.limit:
            refused.append(MINUTE)
        return refused

    def _windows(self, counters: _Counters, virtual: float) -> tuple[Window, Window]:
        day_end = self.clock.real_at((counters.day + 1) * DAY_SECONDS)
        start = counters.minute_start if counters.minute_start is not None else virtual
        minute_end = self.clock.real_at(start + self.window)
        return (Window(DAILY, self.daily_limit, counters.used_day, day_end),
                Window(MINUTE, self.limit, counters.used_minute, minute_end))

    def _described(self, daily: Window, minute: Window) -> Window | None:
        if self.daily_limit > 0 and self.limit > 0:
            return daily if self.describe == DAILY else minute
        if self.daily_limit > 0:
            return daily
        if self.limit > 0:
            return minute
        return None

    # -- admin -------------------------------------------------------------------------------

    def counters(self, key: str) -> dict[str, Any]:
        """What `/_admin/ratelimit` shows for one key (the caller adds the masked key)."""
        virtual = self.clock.virtual()
        with self._lock:
            counters = self._counters.get(key, _Counters())
            self._roll(counters, virtual)
            active = counters.minute_start is not None
            day_end_virtual = (counters.day + 1) * DAY_SECONDS
            daily, minute = self._windows(counters, virtual)
        return {
            "used_today": daily.used, "daily_limit": self.daily_limit,
            "remaining_today": daily.remaining if self.daily_limit else None,
            "day_ends_at": daily.ends_at, "day_reset": daily.reset_epoch,
            "day_ends_at_virtual": iso_utc(day_end_virtual),
            "used_this_minute": minute.used, "minute_limit": self.limit,
            "remaining_this_minute": minute.remaining if self.limit else None,
            "minute_ends_at": minute.ends_at if active else None,
            "minute_reset": minute.reset_epoch if active else None,
        }

    def set_counters(self, key: str, used_today: int | None = None, used_this_minute: int | None = None) -> None:
        """Arrange a key's counters (e.g. "2 calls left today") without making the calls.

        `used_today` applies to the current (virtual) day; a non-zero `used_this_minute` opens a
        window now if none is running, and 0 closes the running one.
        """
        virtual = self.clock.virtual()
        with self._lock:
            counters = self._counters.setdefault(key, _Counters())
            self._roll(counters, virtual)
            if used_today is not None:
                counters.used_day = used_today
            if used_this_minute is not None:
                if used_this_minute == 0:
                    counters.minute_start, counters.used_minute = None, 0
                else:
                    if counters.minute_start is None:
                        counters.minute_start = virtual
                    counters.used_minute = used_this_minute
