"""Fixed-window rate limiting per API key, as the LeadLex gateway does it.

Plans: Starter allows 10 requests per minute, Pro 50 (`--rate-limit 10` / `--rate-limit 50`
with the default `--rate-window 60`). Locally the limit is off unless asked for.

Each key's window starts with its first counted request and lasts `window` seconds; starting
it per key (instead of aligning to wall-clock minutes) keeps tests from straddling a boundary.
Requests answered 429 do not consume budget; unauthenticated requests never reach here.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class RateDecision:
    """Outcome for one request, with what the X-RateLimit-* headers should say."""

    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int  # Unix seconds (integer, rounded up) when the current window ends
    retry_after: int  # whole seconds until the window ends, at least 1 (used when refused)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The X-RateLimit-* headers (plus Retry-After when refused), as raw ASGI headers."""
        result = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_epoch).encode()),
        ]
        if not self.allowed:
            result.append((b"retry-after", str(self.retry_after).encode()))
        return result


class RateLimiter:
    """Thread-safe fixed-window counters keyed by API key. A limit of 0 disables limiting."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window start, requests counted)

    @property
    def enabled(self) -> bool:
        """Whether limits apply at all (when not, no X-RateLimit-* headers are sent)."""
        return self.limit > 0

    def check(self, key: str) -> RateDecision | None:
        """Count a request for `key` if budget remains; None when limiting is off."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now >= start + self.window:
                start, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[key] = (start, used)
        end = start + self.window
        return RateDecision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - used),
            reset_epoch=math.ceil(end),
            retry_after=max(1, math.ceil(end - now)),
        )
