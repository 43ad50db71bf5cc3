"""The service's scaled clock (`--time-scale K`): one virtual timeline for every window.

A test that must live through a whole LeadLex day (the daily quota resets at midnight UTC) or
a Chamelio retry schedule of hours cannot wait for them. With `--time-scale K` the service runs
K times faster than the wall clock:

    virtual(real) = t_start + (real - t_start) * K

so at start virtual time equals real time, and afterwards every virtual second takes 1/K real
seconds. Calendar boundaries (the next midnight UTC) are computed in virtual time, then turned
back into the real instant they happen at, which is what `X-RateLimit-Reset` reports: a client
that waits until Reset waits the right real time. Plain durations (a webhook retry after 5 min,
a step delay) are simply divided by K.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable

DAY_SECONDS = 86_400.0


class ScaledClock:
    """Real and virtual time for one service instance.

    Args:
        scale: K, how many virtual seconds pass per real second (> 0).
        real: the wall clock (injectable for unit tests).
        start: the real instant virtual time starts from (default: now).
    """

    def __init__(self, scale: float = 1.0, real: Callable[[], float] = time.time, start: float | None = None) -> None:
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"time scale must be > 0, got {scale}")
        self.scale = float(scale)
        self._real = real
        self.started_at = real() if start is None else start

    def real_now(self) -> float:
        """The wall clock, in Unix seconds."""
        return self._real()

    def virtual(self, real: float | None = None) -> float:
        """Virtual Unix time at the real instant `real` (default: now)."""
        real = self._real() if real is None else real
        if self.scale == 1.0:
            return real
        return self.started_at + (real - self.started_at) * self.scale

    def real_at(self, virtual: float) -> float:
        """The real Unix time at which virtual time reaches `virtual` (exact when K is 1)."""
        if self.scale == 1.0:
            return virtual
        return self.started_at + (virtual - self.started_at) / self.scale

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long `virtual_seconds` of virtual time take in real seconds."""
        if self.scale == 1.0:
            return virtual_seconds
        return virtual_seconds / self.scale

    def snapshot(self) -> dict[str, float | str]:
        """JSON-ready view for `/_admin/ratelimit`."""
        now = self._real()
        virtual = self.virtual(now)
        return {"time_scale": self.scale, "started_at": self.started_at, "real_now": now,
                "virtual_now": virtual, "virtual_now_iso": iso_utc(virtual)}


def day_index(virtual: float) -> int:
    """Which UTC day a (virtual) Unix time falls on: days since 1970-01-01.

    Unix time has no leap seconds, so UTC midnights are exactly the multiples of 86,400.
    """
    return math.floor(virtual / DAY_SECONDS)


def next_midnight(virtual: float) -> float:
    """The first UTC midnight strictly after `virtual` (as a Unix time)."""
    return (day_index(virtual) + 1) * DAY_SECONDS


def iso_utc(ts: float) -> str:
    """`2026-02-26T00:00:00Z` (whole seconds) for a Unix time."""
    moment = dt.datetime.fromtimestamp(math.floor(ts), tz=dt.UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"
