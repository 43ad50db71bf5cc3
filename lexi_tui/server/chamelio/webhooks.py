"""Signed webhook deliveries, sent in the background so no request ever waits for them.

Envelope: `{event, event_id, organization_id, timestamp, data}`, signed with
`X-Chamelio-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>`. Events are
queued from any thread (route handlers run store calls in worker threads) and delivered one at
a time, in order, by one task on the server's event loop. A delivery that meets a connection
error, a 429 or a 5xx is retried with back-off (same event_id, same body); any other answer
ends it. Recent envelopes and delivery outcomes are kept for `/_admin/chamelio/webhooks`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
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
RETRY_DELAYS = (0.5, 1.0, 2.0)
DELIVERY_TIMEOUT = 5.0
HISTORY = 500


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _iso_now(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


class WebhookSender:
    """Queue of envelopes and the loop task that delivers them (when a URL is configured)."""

    def __init__(self, url: str | None, secret: str | None, retry_delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self.url = url
        self._secret = (secret or "").encode("utf-8")
        self.retry_delays = retry_delays
        self._lock = threading.Lock()
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self.deliveries: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self.in_flight = 0
        self.task_url: Callable[[dict[str, Any]], str] = lambda data: ""

    def envelope(self, event: str, data: dict[str, Any], ts: float | None = None) -> dict[str, Any]:
        ts = time.time() if ts is None else ts
        return {"event": event, "event_id": f"evt_{secrets.token_hex(12)}", "organization_id": ORGANIZATION_ID,
                "timestamp": _iso_now(ts), "data": data}

    def enqueue(self, events: list[Event]) -> None:
        """Wrap `(event, data)` pairs in envelopes and queue them; safe from any thread.
        `task_url` is filled in when each delivery is sent (the face may learn its public
        address only with the first request)."""
        if not events:
            return
        envelopes = [self.envelope(name, data) for name, data in events]
        with self._lock:
            self.events.extend({**e, "data": {**e["data"], "task_url": self.task_url(e["data"])}} for e in envelopes)
            if self.url:
                self._queue.extend(envelopes)
        self._poke()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + self.in_flight

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"url": self.url, "pending": len(self._queue) + self.in_flight,
                    "events": list(self.events), "deliveries": list(self.deliveries)}

    async def run(self) -> None:
        """Deliver queued envelopes until cancelled (started by the app's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if not self.url:
            return
        async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT, trust_env=False,
                                     headers={"User-Agent": USER_AGENT}) as client:
            while True:
                with self._lock:
                    envelope = self._queue.popleft() if self._queue else None
                    if envelope is not None:
                        self.in_flight = 1
                if envelope is None:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                try:
                    await self._deliver(client, envelope)
                finally:
                    with self._lock:
                        self.in_flight = 0

    async def _deliver(self, client: httpx.AsyncClient, envelope: dict[str, Any]) -> None:
        envelope = {**envelope, "data": {**envelope["data"], "task_url": self.task_url(envelope["data"])}}
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "X-Chamelio-Signature": sign(self._secret, body),
                   "X-Chamelio-Event": envelope["event"], "X-Chamelio-Delivery": envelope["event_id"]}
        record: dict[str, Any] = {"event_id": envelope["event_id"], "event": envelope["event"],
                                  "task_id": envelope["data"].get("task_id"), "attempts": 0, "status": None,
                                  "error": None, "delivered_at": None}
        assert self.url is not None
        for delay in (*self.retry_delays, None):
            record["attempts"] += 1
            try:
                response = await client.post(self.url, content=body, headers=headers)
                record.update(status=response.status_code, error=None)
                if response.status_code != 429 and response.status_code < 500:
                    record["delivered_at"] = _iso_now(time.time())
                    break
            except httpx.HTTPError as exc:
                record.update(status=None, error=type(exc).__name__)
            if delay is None:
                logger.warning("webhook %s to %s failed after %d attempts", envelope["event_id"], self.url,
                               record["attempts"])
                break
            await asyncio.sleep(delay)
        with self._lock:
            self.deliveries.append(record)
