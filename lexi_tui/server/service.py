"""One running instance of the service: its store, limits, faults, counters and Chamelio face.

Its own module so the routes and the admin endpoints can type against it without importing
the ASGI application that mounts them.
"""

from __future__ import annotations

import dataclasses
import time

from .chamelio import ChamelioFace, open_face
from .clock import ScaledClock
from .faults import FaultInjector
from .keys import key_labels
from .options import ServerOptions
from .ratelimit import RateLimiter
from .records import load_tasks_file, validate_tasks
from .seed import generate_tasks
from .stats import Stats
from .store import TaskStore


@dataclasses.dataclass
class Service:
    """Everything one running instance shares between requests."""

    options: ServerOptions
    store: TaskStore
    limiter: RateLimiter
    faults: FaultInjector
    stats: Stats
    permissions: dict[str, bool]
    chamelio: ChamelioFace | None = None
    """The Chamelio face (mounted at /chamelio); None only for a Service built by hand."""
    clock: ScaledClock = dataclasses.field(default_factory=ScaledClock)
    """The scaled clock every window and delay of this instance runs on (`--time-scale`)."""
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    """Masked label of every Lexi key (`wbk_…1a2b`): the only form admin answers show."""

    def label(self, key: str) -> str:
        """The masked form of `key` for admin answers and logs."""
        return self.labels.get(key) or key_labels([key])[key]


def open_service(options: ServerOptions, db_path: str) -> Service:
    """Open the store and load initial data (`--tasks`, `options.tasks`, `--seed-tasks`).

    Raises records.TaskDataError for a bad tasks file, before anything listens, so the CLI can
    exit 2 with the message. Tasks whose ids are already in the database are kept as stored.
    """
    store = TaskStore(db_path, exec_delay=options.exec_delay, failure_rate=options.failure_rate,
                      credits=options.credits)
    clock = ScaledClock(options.time_scale)
    try:
        now = time.time()
        if options.tasks_file:
            store.insert(load_tasks_file(options.tasks_file, now))
        if options.tasks is not None:
            store.insert(validate_tasks(list(options.tasks), now))
        if options.seed_tasks:
            store.insert(generate_tasks(options.seed_tasks, options.random_seed, now, options.exec_delay))
        chamelio = open_face(options, store, clock)
    except BaseException:
        store.close()
        raise
    permissions = options.key_permissions()
    return Service(
        options=options,
        store=store,
        limiter=RateLimiter(options.effective_rate_limit, options.rate_window,
                            daily_limit=options.effective_daily_limit, clock=clock, describe=options.rate_headers),
        faults=FaultInjector(options.latency_ms, options.error_rate, options.drop_rate, options.random_seed),
        stats=Stats(),
        permissions=permissions,
        chamelio=chamelio,
        clock=clock,
        labels=key_labels(permissions),
    )
