"""Triage throughput: approve N tasks with one `a` each, in-process, against the local service.

Keys go in the way the pilot sends them (a `Key` event through the app's driver), but the
next key follows as soon as the app has acted on the previous one, not after `pilot.press`'s
idle detection: that compares process CPU with wall time and never sees "idle" while the
2 ms stall monitor runs, so every press would cost its 1 s time-out. The service answers with
no added latency, so what is left is the app: key handling, the approval workers, taking each
task off the list, toasts, repaints. The baseline presses down/up the same number of times on
its DataTable through the same path, so the ratio shows the app's cost above key handling.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import App
from textual.widgets import DataTable

from benchmarks.baseline_app import BaselineApp
from benchmarks.inprocess import SIZE, app_settings, wait_loaded
from benchmarks.stall_monitor import StallMonitor
from lexi_tui.ui.app import LexiApp

KEY_TIMEOUT = 10.0
DRAIN_TIMEOUT = 60.0
POLL = 0.001


@dataclass
class TriageRun:
    """Seconds from the first key until every approval was confirmed, and the worst stall (s)."""

    seconds: float
    worst_stall: float
    approved: int


async def send_key(app: App[Any], key: str, done: Callable[[], bool]) -> None:
    """Send `key` as the pilot does, then wait (polling, never blocking the loop) until `done()`."""
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)
    deadline = time.monotonic() + KEY_TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not act on {key!r} within {KEY_TIMEOUT} s")
        await asyncio.sleep(POLL)


async def _triage(base_url: str, key: str, count: int) -> TriageRun:
    app = LexiApp(app_settings(base_url, key, confirm_types=()))
    async with app.run_test(headless=True, size=SIZE) as pilot:
        screen = await wait_loaded(pilot, app)
        table = screen.table
        if table.task_count != count:
            raise RuntimeError(f"expected {count} pending tasks, the app shows {table.task_count}")
        monitor = StallMonitor()
        monitor.start()
        started = time.perf_counter()
        for _ in range(count):
            current = table.current
            if current is None:
                break
            target = current.id
            await send_key(app, "a", lambda: target in screen.state.inflight or table.get(target) is None)
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while table.task_count or screen.state.inflight:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{table.task_count} tasks still pending after the last key")
            await asyncio.sleep(POLL)
        seconds = time.perf_counter() - started
        await pilot.pause()
        worst = await monitor.stop()
        return TriageRun(seconds, worst, count - table.task_count)


def measure_triage(base_url: str, key: str, count: int) -> TriageRun:
    """Approve all `count` pending tasks the service holds, one `a` per task."""
    return asyncio.run(_triage(base_url, key, count))


async def _baseline(count: int) -> TriageRun:
    app = BaselineApp(exit_after_first_frame=False)
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(DataTable)
        monitor = StallMonitor()
        monitor.start()
        started = time.perf_counter()
        for n in range(count):
            row = table.cursor_row
            await send_key(app, "down" if n % 2 == 0 else "up", lambda: table.cursor_row != row)
        await pilot.pause()
        seconds = time.perf_counter() - started
        worst = await monitor.stop()
        return TriageRun(seconds, worst, 0)


def measure_baseline_triage(count: int) -> TriageRun:
    """The same number of keys on the baseline's DataTable (alternating cursor down and up)."""
    return asyncio.run(_baseline(count))
