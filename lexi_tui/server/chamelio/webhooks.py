"""Signed webhook deliveries, sent in the background so no request ever waits for them.

Documented (https://docs.chamelio.ai/api-reference/webhooks/introduction):

* Envelope `{event, event_id, organization_id, timestamp, data}`; `event_id` is the unique
  delivery id to deduplicate retries; `timestamp` is when the event happened (ISO 8601 UTC).
* `X-Chamelio-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>`.
* When the endpoint does not answer 2xx within 10 s, the delivery is retried after 1 min,
  5 min, 30 min and 2 h; after the 4th failed retry the event is marked undelivered.

So here: an attempt fails on a timeout (`DELIVERY_TIMEOUT`, for the whole exchange), a
connection error or any non-2xx status, and is retried on `RETRY_SCHEDULE` with the same
event_id and the very same body bytes (signed once). Every duration is divided by
`--time-scale`. Only the signature header is sent besides Content-Type and a User-Agent (the
docs name no other header).

`task_id` in `data` is an integer, as in the REST API, or — with `--chamelio-webhook-task-id
string` — a string, as in the vendor's own webhook examples.

Assumptions: deliveries go out one attempt at a time, in the order they are due (first
attempts in the order the events happened), so one event's retries never hold up the others;
what is pending lives in memory and is dropped when the service stops. The most recent
envelopes and every attempt of recent deliveries are kept for `/_admin/chamelio/webhooks`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from .workflows import Event

logger = logging.getLogger("lexi_tui.server.chamelio")

ORGANIZATION_ID = "org_local_demo"
USER_AGENT = "Chamelio-Webhooks/1.0 (lexi-tui local service)"
DELIVERY_TIMEOUT = 10.0  # seconds for a 2xx, documented
MIN_SCALED_TIMEOUT = 0.05
"""The shortest real time an attempt may take under `--time-scale`: an assumption of this
service, not the vendor's. 10 s / 3,600 would be 3 ms, too short to send a body on a busy machine, so a fast
test clock would cut requests mid-way and a receiver would see half a delivery."""
RETRY_SCHEDULE = (60.0, 5 * 60.0, 30 * 60.0, 2 * 3600.0)  # after the first attempt, documented
HISTORY = 500

PENDING = "pending"
DELIVERED = "delivered"
UNDELIVERED = "undelivered"


def sign(secret: bytes, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


class WebhookSender:
    """Envelopes, their deliveries, and the loop task that sends them (when a URL is set).

    Args:
        url: where to POST deliveries; None records events without sending them.
        secret: the HMAC secret for X-Chamelio-Signature.
        time_scale: K; the 10 s timeout and every retry delay are divided by it.
        task_id_style: "int" or "string": how `data.task_id` is spelled.
        clock: the wall clock (injectable).
    """

    def __init__(self, url: str | None, secret: str | None, *, time_scale: float = 1.0,
                 task_id_style: str = "int", clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self._secret = (secret or "").encode("utf-8")
        self.time_scale = time_scale
        self.timeout = max(DELIVERY_TIMEOUT / time_scale, min(DELIVERY_TIMEOUT, MIN_SCALED_TIMEOUT))
        self.retry_delays = tuple(delay / time_scale for delay in RETRY_SCHEDULE)
        self.task_id_style = task_id_style
        self._clock = clock
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, dict[str, Any], bytes, dict[str, str]]] = []
        self._order = itertools.count()
        self._open = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self.deliveries: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)

    # -- queueing (any thread) -----------------------------------------------------------------

    def envelope(self, event: str, data: dict[str, Any], ts: float | None = None) -> dict[str, Any]:
        """The documented envelope around `data`, with `task_id` in the configured style."""
        ts = self._clock() if ts is None else ts
        if self.task_id_style == "string" and data.get("task_id") is not None:
            data = {**data, "task_id": str(data["task_id"])}
        return {"event": event, "event_id": f"evt_{secrets.token_hex(12)}", "organization_id": ORGANIZATION_ID,
                "timestamp": _iso(ts), "data": data}

    def enqueue(self, events: list[Event]) -> None:
        """Wrap `(event, data)` pairs in envelopes and queue their first attempts now."""
        if not events:
            return
        now = self._clock()
        envelopes = [self.envelope(name, data, now) for name, data in events]
        with self._lock:
            self.events.extend(envelopes)
            if self.url:
                for envelope in envelopes:
                    self._queue(envelope, now)
        self._poke()

    def _queue(self, envelope: dict[str, Any], now: float) -> None:
        """A delivery record for `envelope` and its first attempt (under the lock)."""
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Chamelio-Signature": sign(self._secret, body)}
        record: dict[str, Any] = {
            "event_id": envelope["event_id"], "event": envelope["event"], "task_id": envelope["data"].get("task_id"),
            "state": PENDING, "attempts": 0, "status": None, "error": None, "delivered_at": None,
            "next_attempt_at": _iso(now), "log": [],
        }
        self.deliveries.append(record)
        self._open += 1
        heapq.heappush(self._due, (now, next(self._order), record, body, headers))

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    @property
    def pending(self) -> int:
        """Deliveries neither delivered nor given up yet (waiting, in flight or to be retried)."""
        with self._lock:
            return self._open

    def snapshot(self) -> dict[str, Any]:
        """What `/_admin/chamelio/webhooks` shows."""
        with self._lock:
            return {"url": self.url, "pending": self._open, "timeout_seconds": self.timeout,
                    "retry_schedule_seconds": list(self.retry_delays), "time_scale": self.time_scale,
                    "events": list(self.events),
                    "deliveries": [{**r, "log": [dict(entry) for entry in r["log"]]} for r in self.deliveries]}

    # -- sending (the server's event loop) -----------------------------------------------------

    async def run(self) -> None:
        """Send due attempts until cancelled (started by the app's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if not self.url:
            return
        async with httpx.AsyncClient(timeout=self.timeout, trust_env=False,
                                     headers={"User-Agent": USER_AGENT}) as client:
            while True:
                self._wake.clear()
                entry, wait = self._next_due()
                if entry is None:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
                    continue
                await self._attempt(client, *entry)

    def _next_due(self) -> tuple[tuple[dict[str, Any], bytes, dict[str, str]] | None, float | None]:
        """The next attempt whose time has come, else how long until one will (None: none queued)."""
        now = self._clock()
        with self._lock:
            if not self._due:
                return None, None
            if self._due[0][0] > now:
                return None, self._due[0][0] - now
            _, _, record, body, headers = heapq.heappop(self._due)
            return (record, body, headers), None

    async def _attempt(self, client: httpx.AsyncClient, record: dict[str, Any], body: bytes,
                       headers: dict[str, str]) -> None:
        """One attempt: POST, judge the answer, then schedule the retry or close the record."""
        assert self.url is not None
        started = self._clock()
        status: int | None = None
        error: str | None = None
        try:
            response = await asyncio.wait_for(client.post(self.url, content=body, headers=headers), self.timeout)
            status = response.status_code
            outcome = DELIVERED if 200 <= status < 300 else "http_error"
        except (TimeoutError, httpx.TimeoutException):
            outcome, error = "timeout", f"no answer within {self.timeout:g} s"
        except Exception as exc:  # httpx.HTTPError, OSError, an unusable URL: all mean "not delivered"
            outcome, error = "connection_error", type(exc).__name__
        self._record(record, body, headers, started, outcome, status, error)

    def _record(self, record: dict[str, Any], body: bytes, headers: dict[str, str], started: float, outcome: str,
                status: int | None, error: str | None) -> None:
        now = self._clock()
        with self._lock:
            record["attempts"] += 1
            attempt = record["attempts"]
            record.update(status=status, error=error, next_attempt_at=None)
            retry_in = None
            if outcome == DELIVERED:
                record.update(state=DELIVERED, delivered_at=_iso(now))
                self._open -= 1
            elif attempt <= len(self.retry_delays):
                retry_in = self.retry_delays[attempt - 1]
                record["next_attempt_at"] = _iso(now + retry_in)
                heapq.heappush(self._due, (now + retry_in, next(self._order), record, body, headers))
            else:
                record["state"] = UNDELIVERED
                self._open -= 1
            record["log"].append({"attempt": attempt, "at": _iso(started), "outcome": outcome, "status": status,
                                  "error": error, "elapsed_ms": round((now - started) * 1000, 1),
                                  "retry_in_seconds": retry_in})
        if record["state"] == UNDELIVERED:
            logger.warning("webhook %s to %s undelivered after %d attempts", record["event_id"], self.url, attempt)
