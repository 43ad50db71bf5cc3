"""The Chamelio face of the local service: its state, shared by its routes and admin routes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import threading
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..clock import ScaledClock
from ..options import CHAMELIO_PREFIX, ServerOptions
from ..ratelimit import RateLimiter
from ..store import TaskStore
from . import workflows as wf
from .store import ChamelioStore
from .views import task_url
from .webhooks import WebhookSender
from .workflows import Event

logger = logging.getLogger("lexi_tui.server.chamelio")

FINISHER_INTERVAL = 0.25
KEY_MESSAGES = {
    "inactive": "API key is inactive",
    "revoked": "API key has been revoked",
    "expired": "API key has expired",
}


class ApprovalFaults:
    """`500 Failed to submit approval`: a seeded share of approvals, or the next N (admin)."""

    def __init__(self, rate: float, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"chamelio-faults:{seed}")
        self.rate = rate
        self.fail_next = 0
        self.failed = 0

    def should_fail(self) -> bool:
        with self._lock:
            fail = False
            if self.fail_next > 0:
                self.fail_next -= 1
                fail = True
            elif self.rate > 0 and self._rng.random() < self.rate:
                fail = True
            self.failed += fail
            return fail

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"approve_failure_rate": self.rate, "fail_next_approvals": self.fail_next,
                    "failed_approvals": self.failed}

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply {"approve_failure_rate": 0..1, "fail_next_approvals": int >= 0}; ValueError if bad."""
        if not isinstance(changes, dict):
            raise ValueError("Request body must be a JSON object")
        unknown = sorted(set(changes) - {"approve_failure_rate", "fail_next_approvals"})
        if unknown:
            raise ValueError(f"Unknown fault setting(s): {', '.join(unknown)}")
        rate = changes.get("approve_failure_rate", self.rate)
        count = changes.get("fail_next_approvals", self.fail_next)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError("approve_failure_rate must be a number between 0 and 1")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("fail_next_approvals must be an integer >= 0")
        with self._lock:
            self.rate, self.fail_next = float(rate), count
        return self.snapshot()


@dataclasses.dataclass
class ChamelioFace:
    options: ServerOptions
    store: ChamelioStore
    limiter: RateLimiter
    keys: dict[str, str]
    sender: WebhookSender
    faults: ApprovalFaults
    public_base: str
    rng: random.Random

    def key_problem(self, key: str | None) -> str | None:
        """The 401 detail for `key`, or None when it may be used."""
        if not key:
            return "API key required"
        state = self.keys.get(key)
        if state is None:
            return "Invalid API key"
        return KEY_MESSAGES.get(state)

    def set_public_base(self, url: str) -> None:
        """The face's URL as clients reach it (task_url and download links are built on it)."""
        self.public_base = url.rstrip("/")

    def note_scope(self, scope: dict[str, Any]) -> None:
        """Learn the public address from a request (Host header, scheme, mount point)."""
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), None)
        if host:
            base = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}"
            if base != self.public_base:
                self.public_base = base

    def task_url(self, data: dict[str, Any]) -> str:
        return task_url(self.public_base, data)

    def emit(self, events: list[Event]) -> None:
        self.sender.enqueue(events)

    async def process_due(self) -> None:
        if self.store.has_due():
            self.emit(await run_in_threadpool(self.store.process_due))

    async def background(self) -> None:
        """Timed moves even when no request arrives, and webhook deliveries (lifespan task)."""
        sender = asyncio.create_task(self.sender.run())
        try:
            while True:
                await asyncio.sleep(FINISHER_INTERVAL)
                try:
                    await self.process_due()
                except Exception:  # a closed store during shutdown: try again later
                    logger.debug("chamelio background step failed", exc_info=True)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender


def open_face(options: ServerOptions, task_store: TaskStore, clock: ScaledClock | None = None) -> ChamelioFace:
    """The face on the Lexi store's database, seeded with `--chamelio-seed-workflows`.

    Seeded tasks that were not already stored are announced as `flows.tasks.created`. The
    face shares the service's scaled clock: `--time-scale K` divides the step delay (a task's
    time at intake and at review), its rate-limit window and the webhook timeout and retry
    delays by K. The step after a decision keeps taking `--exec-delay`, unscaled, like the
    execution of Lexi tasks.
    """
    clock = clock or ScaledClock(options.time_scale)
    connection, lock = task_store.shared_connection()
    step_delay = clock.real_seconds(options.chamelio_step_delay)
    store = ChamelioStore(connection, lock, exec_delay=options.exec_delay, step_delay=step_delay)
    host = f"[{options.host}]" if ":" in options.host else options.host
    port = f":{options.port}" if options.port else ""
    face = ChamelioFace(
        options=options, store=store,
        limiter=RateLimiter(options.chamelio_rate_limit, options.rate_window, clock=clock),
        keys=options.chamelio_key_table(),
        sender=WebhookSender(options.chamelio_webhook_url, options.chamelio_webhook_secret,
                             time_scale=options.time_scale, task_id_style=options.chamelio_webhook_task_id),
        faults=ApprovalFaults(options.chamelio_approve_failure_rate, options.random_seed),
        public_base=f"http://{host}{port}{CHAMELIO_PREFIX}",
        rng=random.Random(f"chamelio-admin:{options.random_seed}"),
    )
    if options.chamelio_seed_workflows:
        now = time.time()
        workflows, tasks = wf.seed_workflows(options.chamelio_seed_workflows, options.random_seed, now)
        store.insert_workflows(workflows)
        rng = random.Random(f"chamelio-timing:{options.random_seed}")
        due: list[float | None] = []
        for _doc, stage in tasks:
            if stage == "executing":
                due.append(now + options.exec_delay + rng.uniform(5, 60))
            elif stage in ("intake", "review") and step_delay > 0:
                due.append(now + step_delay * rng.uniform(0.5, 2.0))
            else:
                due.append(None)
        inserted = set(store.insert_tasks([doc for doc, _ in tasks], "seed", due))
        face.emit([event for doc, _ in tasks if doc["task_id"] in inserted for event in wf.created(doc)])
    return face
