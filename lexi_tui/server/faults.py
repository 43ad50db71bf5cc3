"""Injected faults: latency, 5xx answers and dropped connections.

A client has to survive a slow gateway, a JSON 500 from the function, an HTML 502 from the
CDN in front of it and a connection closed without a response. These are drawn from a seeded
RNG so a test run is reproducible, and they can be changed at runtime via `/_admin/faults`.
They never apply to admin endpoints.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import threading
from typing import Any

BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
INTERNAL_ERROR_JSON = b'{"error":{"code":"internal_error","message":"Internal server error"}}'


class FaultConfigError(ValueError):
    """A runtime fault change was invalid; the message names the field."""


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """What to do to one request: wait `delay` seconds, then "none", "error" or "drop"."""

    delay: float
    action: str


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise FaultConfigError(f"{name} must be a number between 0 and 1")
    return float(value)


def _latency(value: Any) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value, value]
    if (not isinstance(value, list) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
            or not (0 <= value[0] <= value[1] and math.isfinite(value[1]))):
        raise FaultConfigError("latency_ms must be [min, max] with 0 <= min <= max (or one number)")
    return (float(value[0]), float(value[1]))


class FaultInjector:
    """Current fault settings plus the seeded RNG that applies them."""

    def __init__(self, latency_ms: tuple[float, float] = (0.0, 0.0), error_rate: float = 0.0,
                 drop_rate: float = 0.0, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self.drop_rate = drop_rate
        self._next_error_is_502 = False
        self.counts = {"delayed": 0, "errors_500": 0, "errors_502": 0, "dropped": 0}

    def snapshot(self) -> dict[str, Any]:
        """Current settings in the shape `/_admin/faults` accepts."""
        with self._lock:
            return {"latency_ms": list(self.latency_ms), "error_rate": self.error_rate, "drop_rate": self.drop_rate}

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply a partial change ({"latency_ms", "error_rate", "drop_rate"}); all-or-nothing."""
        if not isinstance(changes, dict):
            raise FaultConfigError("Request body must be a JSON object")
        unknown = sorted(set(changes) - {"latency_ms", "error_rate", "drop_rate"})
        if unknown:
            raise FaultConfigError(f"Unknown fault setting(s): {', '.join(unknown)}")
        latency = _latency(changes["latency_ms"]) if "latency_ms" in changes else None
        error_rate = _rate("error_rate", changes["error_rate"]) if "error_rate" in changes else None
        drop_rate = _rate("drop_rate", changes["drop_rate"]) if "drop_rate" in changes else None
        with self._lock:
            if latency is not None:
                self.latency_ms = latency
            if error_rate is not None:
                self.error_rate = error_rate
            if drop_rate is not None:
                self.drop_rate = drop_rate
        return self.snapshot()

    def plan(self) -> FaultPlan:
        """Draw this request's fate. Nothing is drawn while faults are off, so turning them on
        at runtime gives the same sequence as starting with them."""
        with self._lock:
            low, high = self.latency_ms
            delay = 0.0
            if high > 0:
                delay = (low if low == high else self._rng.uniform(low, high)) / 1000.0
                self.counts["delayed"] += 1
            action = "none"
            if self.drop_rate > 0 and self._rng.random() < self.drop_rate:
                action = "drop"
                self.counts["dropped"] += 1
            elif self.error_rate > 0 and self._rng.random() < self.error_rate:
                action = "error"
            return FaultPlan(delay, action)

    def next_error(self) -> tuple[int, bytes, bytes]:
        """(status, content type, body) of the next injected error, alternating 500 and 502."""
        with self._lock:
            use_502 = self._next_error_is_502
            self._next_error_is_502 = not use_502
            self.counts["errors_502" if use_502 else "errors_500"] += 1
        if use_502:
            return 502, b"text/html", BAD_GATEWAY_HTML
        return 500, b"application/json", INTERNAL_ERROR_JSON


async def drop_connection(receive: Any) -> bool:
    """Close the client connection without sending a response.

    ASGI has no "abort" message, so this reaches the uvicorn protocol's transport through the
    `receive` callable (a bound method of uvicorn's request cycle). Closing it before a
    response starts makes uvicorn skip its own 500, and the client sees a connection closed
    with no response (httpx: RemoteProtocolError). Returns False if the transport cannot be
    found (another server), in which case the caller should fall back to an error.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    await asyncio.sleep(0)  # let connection_lost run, so uvicorn marks the cycle disconnected
    await asyncio.sleep(0)
    return True
