"""What a 429 means for a command: wait out this minute, or stop because today's quota is gone.

LeadLex documents two limits that hold at once (Starter: 100 calls a day, 10 a minute) and
headers whose example describes the **daily** window (`leadlex-facts.md`); no page says how
the per-minute limit is reported, and none mentions `Retry-After`. So a 429 is read this way:

* the headers say calls are left today (`X-RateLimit-Remaining` > 0): it is this minute's
  limit; wait ~60 s (or what `Retry-After` says, when the server sent one that says something
  other than the reset time) and try again. Never until midnight.
* the headers say none are left and the reset is more than `LONG` seconds away: the daily
  quota is used up; stop and say when it resets ("resets at 00:00 UTC, 01:00 local, in 5 h
  12 min"). Waiting hours inside a command helps nobody.
* none are left and the reset is near (headers that describe the minute): wait until then.
* a `Retry-After` longer than `LONG`: whichever window refused, it frees up only then: stop.

`RateLimitedError.retry_after` falls back to the reset time when the server sent no
`Retry-After`; a value equal to the reset (within 2 s) is therefore not read as a separate
instruction.

Stdlib only (the error is duck-typed: `retry_after` and `rate_limit` as the API's errors have).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MINUTE = 60.0
"""How long "this minute" is waited out when nothing more precise is known."""
LONG = 65.0
"""A wait longer than this is not a per-minute limit: the command stops instead."""
MARGIN = 0.5
"""Seconds added to a reset time before trying again (clock skew with the server)."""


@dataclass(frozen=True)
class Reading:
    """What one 429 says: `wait` seconds then retry (minute), or stop until `reset_at` (daily)."""

    daily: bool
    wait: float = MINUTE
    reset_at: float | None = None
    """Unix time the refusing window resets (daily), when known."""
    remaining: int | None = None
    """Calls left today, when the headers describe the day."""
    limit: int | None = None


def read_429(error: Any, now: float | None = None) -> Reading:
    """Read a RateLimitedError (or anything with `retry_after` and `rate_limit`)."""
    now = time.time() if now is None else now
    rate = getattr(error, "rate_limit", None)
    after = getattr(error, "retry_after", None)
    until_reset = rate.seconds_until_reset(now) if rate is not None else None
    # The counts are shown as "calls left today" only when the headers describe the day (a
    # reset hours away); headers with a near reset describe the minute.
    daily_headers = until_reset is not None and until_reset > LONG
    remaining = rate.remaining if rate is not None and daily_headers else None
    limit = rate.limit if rate is not None and daily_headers else None
    left = rate.remaining if rate is not None else None
    said = after if after is not None and not (until_reset is not None and abs(after - until_reset) <= 2) else None
    if said is not None and said > LONG:
        return Reading(True, reset_at=now + said, remaining=remaining, limit=limit)
    if left is not None and left <= 0 and until_reset is not None:
        if until_reset > LONG:
            return Reading(True, reset_at=rate.reset_at, remaining=remaining, limit=limit)
        return Reading(False, wait=until_reset + MARGIN)
    return Reading(False, wait=said + MARGIN if said is not None else MINUTE, remaining=remaining, limit=limit)


def duration(seconds: float) -> str:
    """`5 h 12 min`, `12 min`, `40 s`."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def describe_daily(reading: Reading, now: float | None = None) -> str:
    """One sentence for a person: the quota is used up, and when it comes back."""
    now = time.time() if now is None else now
    left = ""
    if reading.limit is not None:
        left = f" ({max(0, reading.remaining or 0)} of {reading.limit} calls left today)"
    if reading.reset_at is None:
        return f"the daily quota is used up{left}; it resets at midnight UTC."
    local = datetime.fromtimestamp(reading.reset_at).astimezone()
    return (f"the daily quota is used up{left}; it resets at {local:%H:%M} (local, {local.tzname()}) "
            f"in {duration(reading.reset_at - now)}.")


def describe_wait(reading: Reading) -> str:
    """The stderr line before waiting out this minute's limit."""
    today = f" ({reading.remaining} calls left today)" if reading.remaining else ""
    return f"Rate limited this minute{today}: waiting {reading.wait:.0f} s…"
