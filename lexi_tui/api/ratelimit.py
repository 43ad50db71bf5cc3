"""Rate-limit state read from the `X-RateLimit-*` headers of every response.

LeadLex's Starter plan allows 10 calls a minute, so the app budgets its background
polling from these numbers (see `lexi_tui.core.budget`). `X-RateLimit-Reset` is read as a
Unix timestamp when it looks like one, else as seconds from now; both forms are in use
across APIs and the docs do not say which Lexi sends.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

_EPOCH_THRESHOLD = 1_000_000_000  # A reset value above this is an absolute timestamp.


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The rate-limit budget as of one response."""

    limit: int | None
    remaining: int | None
    reset_at: float | None
    """Wall-clock time (Unix seconds) when the window resets, if the server said."""
    observed_at: float

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: float | None = None) -> RateLimit | None:
        """Parse the headers; None when the server sent none of them (limit off)."""
        now = time.time() if now is None else now
        limit = _int(headers.get("x-ratelimit-limit"))
        remaining = _int(headers.get("x-ratelimit-remaining"))
        reset = _float(headers.get("x-ratelimit-reset"))
        if limit is None and remaining is None and reset is None:
            return None
        reset_at: float | None
        if reset is None:
            reset_at = None
        elif reset > _EPOCH_THRESHOLD:
            reset_at = reset
        else:
            reset_at = now + max(reset, 0.0)
        return cls(limit=limit, remaining=remaining, reset_at=reset_at, observed_at=now)

    def seconds_until_reset(self, now: float | None = None) -> float | None:
        if self.reset_at is None:
            return None
        now = time.time() if now is None else now
        return max(0.0, self.reset_at - now)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        try:
            return int(float(value))
        except ValueError:
            return None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None
