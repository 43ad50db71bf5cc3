"""Triage throughput: approve N tasks with one `a` each, in-process, against the local service.

Keys go in the way the pilot sends them (a `Key` event through the app's driver), but the
next key follows as soon as the app has acted on the previous one, not after `pilot.press`'s
idle detection: that compares process CPU with wall time and never sees "idle" while the
2 ms stall monitor runs, so every press would cost its 1 s time-out. The service runs in a
process of its own (`benchmarks.service_process`) and answers with no added latency, so what
is left is the app: key handling, the approval workers, taking each task off the list,
toasts, repaints. The baseline presses down/up the same number of times on its DataTable
through the same path, so the ratio shows the app's cost above key handling.

Besides the total and the longest stall, a run keeps every stall over 10 ms with the garbage
collections inside it (`GcTimer`), so each is put down to GC or to other work on the loop,
and for every key the time until the next frame was ready (`FrameClock`).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual import events
from textual.app import App
from textual.widgets import DataTable

from benchmarks.baseline_app import BaselineApp
from benchmarks.inprocess import SIZE, app_settings, wait_loaded
from benchmarks.stall_monitor import Collection, GcTimer, Stall, StallMonitor
from lexi_tui.ui.app import LexiApp

KEY_TIMEOUT = 10.0
DRAIN_TIMEOUT = 60.0
POLL = 0.001


@dataclass
class TriageRun:
    """Seconds from the first key until every approval was confirmed, and the worst stall (s);
    every stall over 10 ms (with the collections inside it), every collection, and for each
    key the seconds until the next frame was ready."""

    seconds: float
    worst_stall: float
    approved: int
    stalls: list[Stall] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    key_to_frame: list[float] = field(default_factory=list)
    loop_cpu: float = 0.0
    """CPU seconds of the event loop's thread over the run (time.thread_time): what the app spent
    per key, whatever else the machine was doing."""

    def worst(self, cause: str) -> float:
        """Longest stall (s) of one cause ("GC" or "other"); 0 when there was none."""
        return max((stall.seconds for stall in self.stalls if stall.cause == cause), default=0.0)

    def over(self, limit: float) -> int:
        """How many stalls lasted longer than `limit` seconds."""
        return sum(1 for stall in self.stalls if stall.seconds > limit)


class FrameClock:
    """When each frame was handed to the driver: `App._display` shadowed on one app instance.

    Headless, Textual computes the frame (layout, compositor) and only skips writing it, so
    the time a frame is ready is the time a terminal would start receiving it.
    """

    def __init__(self, app: App[Any]) -> None:
        self.frames: list[float] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None and not app._batch_count:
                self.frames.append(time.perf_counter())

        app._display = display  # type: ignore[method-assign]

    def after(self, sent: list[float]) -> list[float]:
        """For each time in `sent`, the seconds until the first frame after it (keys without a
        later frame are left out)."""
        out = []
        for at in sent:
            index = bisect.bisect_right(self.frames, at)
            if index < len(self.frames):
                out.append(self.frames[index] - at)
        return out


async def send_key(app: App[Any], key: str, done: Callable[[], bool]) -> float:
    """Send `key` as the pilot does, then wait (polling, never blocking the loop) until `done()`.
    Returns when the key was sent (perf_counter)."""
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    assert app._driver is not None
    sent = time.perf_counter()
    app._driver.send_message(event)
    deadline = time.monotonic() + KEY_TIMEOUT
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not act on {key!r} within {KEY_TIMEOUT} s")
        await asyncio.sleep(POLL)
    return sent


async def _triage(base_url: str, key: str, count: int, pace: float = 0.0) -> TriageRun:
    app = LexiApp(app_settings(base_url, key, confirm_types=()))
    async with app.run_test(headless=True, size=SIZE) as pilot:
        screen = await wait_loaded(pilot, app)
        table = screen.table
        if table.task_count != count:
            raise RuntimeError(f"expected {count} pending tasks, the app shows {table.task_count}")
        clock = FrameClock(app)
        collections = GcTimer()
        monitor = StallMonitor()
        collections.start()
        monitor.start()
        sent: list[float] = []
        started = time.perf_counter()
        cpu_started = time.thread_time()
        try:
            for _ in range(count):
                current = table.current
                if current is None:
                    break
                target = current.id
                sent.append(await send_key(app, "a", lambda: target in screen.state.inflight or table.get(target) is None))
                if pace:  # A held key repeats every `pace` seconds, however fast the app is.
                    await asyncio.sleep(max(0.0, sent[-1] + pace - time.perf_counter()))
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while table.task_count or screen.state.inflight:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{table.task_count} tasks still pending after the last key")
                await asyncio.sleep(POLL)
            seconds = time.perf_counter() - started
            loop_cpu = time.thread_time() - cpu_started
            await pilot.pause()
        finally:
            worst = await monitor.stop()
            collections.stop()
        return TriageRun(seconds, worst, count - table.task_count, collections.attribute(monitor.stalls),
                         collections.collections, clock.after(sent), loop_cpu)


def measure_triage(base_url: str, key: str, count: int, pace: float = 0.0) -> TriageRun:
    """Approve all `count` pending tasks the service holds, one `a` per task: each key as soon
    as the app has taken the previous one, or (`pace` > 0) no sooner than `pace` seconds after
    it, like a held key's auto-repeat."""
    return asyncio.run(_triage(base_url, key, count, pace))


async def _baseline(count: int) -> TriageRun:
    app = BaselineApp(exit_after_first_frame=False)
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(DataTable)
        clock = FrameClock(app)
        collections = GcTimer()
        monitor = StallMonitor()
        collections.start()
        monitor.start()
        sent: list[float] = []
        started = time.perf_counter()
        cpu_started = time.thread_time()
        try:
            for n in range(count):
                row = table.cursor_row
                sent.append(await send_key(app, "down" if n % 2 == 0 else "up", lambda: table.cursor_row != row))
            await pilot.pause()
            seconds = time.perf_counter() - started
            loop_cpu = time.thread_time() - cpu_started
        finally:
            worst = await monitor.stop()
            collections.stop()
        return TriageRun(seconds, worst, 0, collections.attribute(monitor.stalls), collections.collections,
                         clock.after(sent), loop_cpu)


def measure_baseline_triage(count: int) -> TriageRun:
    """The same number of keys on the baseline's DataTable (alternating cursor down and up)."""
    return asyncio.run(_baseline(count))
