"""Request counters for `GET /_admin/stats`.

Tests use them to assert what the client actually sent (how many requests, which endpoints,
how often it was rate limited) rather than trusting the client's own account. Counters are
kept per full key, but the snapshot names every key masked (`wbk_…1a2b`): no admin answer
ever shows a whole key.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from .keys import key_labels
from .options import GATEWAY_PREFIX

_ROUTES = (
    (re.compile(r"/v1/lexi/tasks"), "/v1/lexi/tasks"),
    (re.compile(r"/v1/lexi/tasks/.+/approve"), "/v1/lexi/tasks/{id}/approve"),
    (re.compile(r"/v1/lexi/tasks/.+/dismiss"), "/v1/lexi/tasks/{id}/dismiss"),
    (re.compile(r"/v1/lexi/chat"), "/v1/lexi/chat"),
)


def endpoint_label(method: str, path: str) -> str:
    """"GET /v1/lexi/tasks", "POST /v1/lexi/tasks/{id}/approve", ... or "GET (other)"."""
    if path.startswith(GATEWAY_PREFIX + "/"):
        sub = path[len(GATEWAY_PREFIX):]
        for pattern, label in _ROUTES:
            if pattern.fullmatch(sub):
                return f"{method} {label}"
    return f"{method} (other)"


class Stats:
    """Thread-safe counters; admin requests are never counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests_total = 0
        self.by_key: Counter[str] = Counter()
        self.rate_limited_by_key: Counter[str] = Counter()
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.unauthorized = 0
        self.forbidden = 0
        self.client_disconnects = 0

    def request(self, method: str, path: str) -> None:
        """Count an incoming non-admin request (before faults, auth or limits apply)."""
        with self._lock:
            self.requests_total += 1
            self.by_endpoint[endpoint_label(method, path)] += 1

    def status(self, status: int) -> None:
        """Count a response status actually sent."""
        with self._lock:
            self.by_status[str(status)] += 1

    def authenticated(self, key: str, rate_limited: bool) -> None:
        """Count a request made with a known key (whether or not it was then refused)."""
        with self._lock:
            self.by_key[key] += 1
            if rate_limited:
                self.rate_limited_by_key[key] += 1

    def refused(self, kind: str) -> None:
        """Count a 401 ("unauthorized") or 403 ("forbidden")."""
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)

    def disconnected(self) -> None:
        """Count a client that went away before its request body was complete."""
        with self._lock:
            self.client_disconnects += 1

    def snapshot(self, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Everything, JSON-ready, with keys masked.

        Args:
            labels: the masked label of each key (as `keys.key_labels` makes them); keys
                missing from it are masked on the spot.
        """
        with self._lock:
            by_key, limited = dict(self.by_key), dict(self.rate_limited_by_key)
            data = {
                "requests_total": self.requests_total,
                "by_endpoint": dict(self.by_endpoint),
                "by_status": dict(self.by_status),
                "rate_limited": sum(limited.values()),
                "unauthorized": self.unauthorized,
                "forbidden": self.forbidden,
                "client_disconnects": self.client_disconnects,
            }
        names = {**key_labels([*by_key, *limited]), **(labels or {})}
        data["by_key"] = {names[key]: count for key, count in by_key.items()}
        data["rate_limited_by_key"] = {names[key]: count for key, count in limited.items()}
        return data
