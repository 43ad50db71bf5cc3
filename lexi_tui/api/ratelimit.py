"""Rate-limit state read from the `X-RateLimit-*` headers, and the `Retry-After` header.

LeadLex documents `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` on
every response, and its only example describes the **daily** window (Limit 1000, Reset a
midnight UTC as a Unix time: `api-docs/leadlex-facts.md`); how the per-minute limit is
reported is not documented. So `reset_at` is when the window the headers describe starts
again, which may be midnight: it is never a hint for how long to wait after a 429 (that is
`Retry-After`'s job, see `retry_after_seconds`).

`X-RateLimit-Reset` is read as a Unix timestamp when it looks like one, else as seconds from
now; both forms are in use across APIs and the docs show only the first.

Every header is server text and may hold anything: absurd or negative numbers, `1e400`,
`NaN`, garbage, the empty string, or a value repeated by a proxy (`10, 10`). Nothing here
ever raises on a header value; a value that cannot be meant seriously becomes None.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

_EPOCH_THRESHOLD = 1_000_000_000  # A reset value above this is an absolute timestamp.
MAX_COUNT = 1_000_000_000
"""The largest `Limit` / `Remaining` taken seriously (the biggest plan allows 10,000 a day)."""
RESET_PAST = 86_400.0
RESET_FUTURE = 8 * 86_400.0
"""`reset_at` is kept only within [now - 1 day, now + 8 days]: anything else is not a reset
of a daily or per-minute window, and could overflow `datetime.fromtimestamp` downstream."""
MAX_RETRY_AFTER = 86_400.0
"""`Retry-After` is clamped to [0, 1 day]."""
_MAX_HEADER_CHARS = 64  # Longer values are not numbers anyone means.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The rate-limit budget as of one response.

    `limit` and `remaining` are whole numbers in [0, 1e9] or None; `reset_at` is a Unix time
    within [observed_at - 1 day, observed_at + 8 days] or None.
    """

    limit: int | None
    remaining: int | None
    reset_at: float | None
    """Wall-clock time (Unix seconds) when the described window resets, if the server said.
    For LeadLex this is likely the next midnight UTC (the daily window)."""
    observed_at: float

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: float | None = None) -> RateLimit | None:
        """Parse the headers; None when none of them carries a usable value. Never raises.

        Args:
            headers: any mapping with lower-case names (httpx's `Headers` or a plain dict).
            now: the current Unix time (for tests).
        """
        now = time.time() if now is None else now
        limit = _count(headers.get("x-ratelimit-limit"))
        remaining = _count(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        reset_at: float | None = None
        if reset is not None:
            reset_at = reset if reset > _EPOCH_THRESHOLD else now + reset if reset >= 0 else None
            if reset_at is not None and not now - RESET_PAST <= reset_at <= now + RESET_FUTURE:
                reset_at = None
        if limit is None and remaining is None and reset_at is None:
            return None
        return cls(limit=limit, remaining=remaining, reset_at=reset_at, observed_at=now)

    def seconds_until_reset(self, now: float | None = None) -> float | None:
        """Seconds until `reset_at` (0 once passed), None when unknown. Not a 429 wait."""
        if self.reset_at is None:
            return None
        now = time.time() if now is None else now
        return max(0.0, self.reset_at - now)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait, clamped to [0, 1 day]; None when absent or unusable.

    Takes delta-seconds (`120`, also `1.5`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`).
    Never raises: NaN, infinities and garbage become None, absurd numbers are clamped.
    """
    number = _number(value)
    if number is None and value:
        number = _http_date_delta(value.strip(), time.time() if now is None else now)
    if number is None:
        return None
    return min(MAX_RETRY_AFTER, max(0.0, number))


def retry_after_number(value: object) -> float | None:
    """A wait in seconds from a JSON value (an envelope's `details.retry_after`), clamped to
    [0, 1 day]; None unless it is a finite number (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int with hundreds of digits
        return MAX_RETRY_AFTER if value > 0 else 0.0
    if not math.isfinite(number):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, number))


def _single(value: str | None) -> str | None:
    """One value from a header that a proxy may have repeated (`10, 10`): None if they differ."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > _MAX_HEADER_CHARS * 4:
        return None
    if "," in text:
        parts = {part.strip() for part in text.split(",")}
        if len(parts) != 1:
            return None
        text = parts.pop()
    return text if text and len(text) <= _MAX_HEADER_CHARS else None


def _number(value: str | None) -> float | None:
    """A finite number from a header, or None (never raises)."""
    text = _single(value)
    if text is None or not _NUMBER.fullmatch(text):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _count(value: str | None) -> int | None:
    """A whole number in [0, MAX_COUNT] from a header, or None."""
    number = _number(value)
    if number is None or not number.is_integer() or not 0 <= number <= MAX_COUNT:
        return None
    return int(number)


def _http_date_delta(text: str, now: float) -> float | None:
    if len(text) > _MAX_HEADER_CHARS:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.timestamp() - now
    except (OverflowError, OSError, ValueError):
        return None
