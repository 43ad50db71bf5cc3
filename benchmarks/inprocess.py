"""Refresh cost on the event loop, measured in-process with Textual's pilot.

A refresh is a fetched list handed to the screen as the refresh engine hands it (a
`ListFetched` event to the screen's refresh host: lists of 2,000+ tasks are compared in a
thread and the difference applied on the loop) until it is on screen, followed by the repaint
it causes (`await pilot.pause()`); the figure is `time.thread_time()` of the main thread across
all of it, i.e. the CPU the event loop spent, which is what makes keys wait. The comparison's
own cost (wherever it ran) is kept apart: `TaskTable.compare` timed alone. Task lists are parsed
once from list bodies up front, so HTTP and JSON parsing are not in the figure (the app parses
big lists in a worker thread anyway). Before each step the loop is left to settle and garbage
from earlier steps is collected, so one step's leftovers are not charged to the next.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.baseline_app import BaselineApp, baseline_rows
from benchmarks.stall_monitor import GcTimer, StallMonitor
from benchmarks.task_data import list_body, pending_tasks, with_changed_descriptions
from lexi_tui.api.models import Task, parse_task_list
from lexi_tui.core.refresh import ListFetched
from lexi_tui.ui.app import AppSettings, LexiApp
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.widgets.task_table import TaskTable

SIZE = (120, 36)
STEPS = ("first_paint", "no_change", "change_1pct", "change_all")


@dataclass
class RefreshRuns:
    """Milliseconds of main-thread CPU per step and size: runs[size][step] = [ms, ...]."""

    runs: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    pause_floor_ms: list[float] = field(default_factory=list)
    """What an `await pilot.pause()` with nothing to do costs; part of every figure."""
    compare_ms: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    """CPU (ms) of `TaskTable.compare` alone for each step: the comparison, which from
    2,000 tasks runs in a thread and not on the loop."""
    stall_ms: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    """Longest event-loop stall (ms) while a step ran and repainted: stall_ms[size][step], for
    the sizes asked for (a separate, monitored run: the monitor's wake-ups are not in the CPU
    figures)."""


def app_settings(base_url: str, key: str, **overrides: Any) -> AppSettings:
    """Settings for an in-process app: no keyring, no live refresh, no retries."""
    values: dict[str, Any] = dict(profile="bench", base_url=base_url, api_key=key, use_keyring=False,
                                  refresh_interval=0, read_retries=0)
    values.update(overrides)
    return AppSettings(**values)


async def wait_loaded(pilot: Any, app: LexiApp, timeout: float = 30.0) -> MainScreen:
    """The main screen, once its first fetch has been painted."""
    deadline = time.monotonic() + timeout
    while True:
        screen = app.screen
        if isinstance(screen, MainScreen) and screen.state.fetched_at is not None:
            await pilot.pause()
            return screen
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not load its first list in time")
        await pilot.pause(0.01)


async def settle(pilot: Any) -> None:
    """Let workers and timers from the previous step finish, then collect their garbage."""
    await pilot.pause(0.05)
    gc.collect()
    await pilot.pause()


def deliver(screen: MainScreen, tasks: list[Task]) -> None:
    """Hand `tasks` to the screen as the refresh engine hands a fetched queue."""
    screen.refresher._on_event(ListFetched(screen.state.queue, tasks, screen.refresher.clock.now(), True))


async def on_screen(screen: MainScreen, timeout: float = 60.0) -> None:
    """Until a list handed over is on screen (compared in a thread and applied, if long)."""
    deadline = time.monotonic() + timeout
    while screen.refresher.comparing:
        if time.monotonic() > deadline:
            raise TimeoutError("the list was not applied in time")
        await asyncio.sleep(0.001)


async def stall_ms(pilot: Any, action: Any, screen: MainScreen | None = None) -> float:
    """Longest loop stall (ms) from just before `action()` until its repaint is done."""
    monitor = StallMonitor()
    monitor.start()
    await asyncio.sleep(0.01)  # The monitor is sleeping when the step starts.
    action()
    if screen is not None:
        await on_screen(screen)
    await pilot.pause()
    await asyncio.sleep(0.01)
    return await monitor.stop() * 1000.0


async def cpu_ms(pilot: Any, action: Any, screen: MainScreen | None = None) -> float:
    """Main-thread CPU (ms) of `action()` plus the repaint it causes (and, given the screen,
    until what it handed over is on screen)."""
    started = time.thread_time()
    action()
    if screen is not None:
        await on_screen(screen)
    await pilot.pause()
    return (time.thread_time() - started) * 1000.0


def compare_ms(screen: MainScreen, tasks: list[Task]) -> float:
    """CPU (ms) of comparing `tasks` with the list on screen, wherever it runs."""
    snapshot = screen.table.snapshot()
    started = time.thread_time()
    TaskTable.compare(snapshot, tasks)
    return (time.thread_time() - started) * 1000.0


def task_lists(size: int) -> dict[str, list[Task]]:
    """The four lists a size needs, each parsed from its own body (equal values, new objects,
    as a real refresh delivers them)."""
    raw = pending_tasks(size)
    gc.disable()  # Preparation only: no point in collecting while building 200,000 objects.
    try:
        return {
            "first_paint": parse_task_list(list_body(raw)),
            "no_change": parse_task_list(list_body(raw)),
            "change_1pct": parse_task_list(list_body(with_changed_descriptions(raw, 100, "edited"))),
            "change_all": parse_task_list(list_body(with_changed_descriptions(raw, 1, "rewritten"))),
        }
    finally:
        gc.enable()


async def _refresh(base_url: str, key: str, sizes: tuple[int, ...], runs: int,
                   stall_sizes: tuple[int, ...] = ()) -> RefreshRuns:
    result = RefreshRuns()
    app = LexiApp(app_settings(base_url, key))
    async with app.run_test(headless=True, size=SIZE) as pilot:
        screen = await wait_loaded(pilot, app)
        for _ in range(runs):
            await settle(pilot)
            result.pause_floor_ms.append(await cpu_ms(pilot, lambda: None))
        for size in sizes:
            lists = task_lists(size)
            steps: dict[str, list[float]] = {step: [] for step in STEPS}
            compares: dict[str, list[float]] = {step: [] for step in STEPS}
            for _ in range(runs):
                screen.store("pending", [])
                for step in STEPS:
                    await settle(pilot)
                    tasks = lists[step]
                    compares[step].append(compare_ms(screen, tasks))
                    steps[step].append(await cpu_ms(pilot, lambda: deliver(screen, tasks), screen))
                if screen.table.task_count != size:
                    raise RuntimeError(f"the table shows {screen.table.task_count} tasks, expected {size}")
            result.runs[size] = steps
            result.compare_ms[size] = compares
            if size in stall_sizes:
                stalls: dict[str, list[float]] = {step: [] for step in STEPS}
                for _ in range(min(runs, 3)):
                    screen.store("pending", [])
                    for step in STEPS:
                        await settle(pilot)
                        tasks = lists[step]
                        stalls[step].append(await stall_ms(pilot, lambda: deliver(screen, tasks), screen))
                result.stall_ms[size] = stalls
            del lists
            screen.store("pending", [])
            gc.collect()
    return result


def measure_refresh(base_url: str, key: str, sizes: tuple[int, ...], runs: int,
                    stall_sizes: tuple[int, ...] = ()) -> RefreshRuns:
    """Refresh steps for each size against an app connected to the (empty) local service; for
    `stall_sizes`, also the longest loop stall of each step."""
    return asyncio.run(_refresh(base_url, key, sizes, runs, stall_sizes))


@dataclass
class LiveRefreshRuns:
    """A refresh as the app makes it (request, body decoded and parsed in a thread, the list
    stored and repainted), nothing changed: wall seconds and the longest loop stall, per run."""

    seconds: list[float] = field(default_factory=list)
    stall_ms: list[float] = field(default_factory=list)
    gc_ms: list[float] = field(default_factory=list)
    """Longest garbage collection (any thread) during each refresh."""
    stall_causes: list[str] = field(default_factory=list)
    """"GC" or "other" for each run's longest stall."""


def _add_tasks(root_url: str, count: int, tag: str) -> None:
    """Queue `count` new pending tasks on the service (its admin API), as Lexi would."""
    import httpx

    tasks = [{"type": "prospect_search", "status": "pending", "description": f"New {tag} #{n}: find 20 CFOs in Lyon",
              "metadata": {"source": "benchmark", "added": tag}} for n in range(count)]
    httpx.post(f"{root_url}/_admin/tasks", json=tasks, timeout=60).raise_for_status()


async def _live_refresh(base_url: str, key: str, size: int, runs: int, add_per_run: int = 0,
                        root_url: str = "") -> LiveRefreshRuns:
    result = LiveRefreshRuns()
    app = LexiApp(app_settings(base_url, key))
    async with app.run_test(headless=True, size=SIZE) as pilot:
        screen = await wait_loaded(pilot, app, timeout=120.0)
        if screen.table.task_count != size:
            raise RuntimeError(f"the table shows {screen.table.task_count} tasks, expected {size}")
        shown = size
        for run in range(runs):
            if add_per_run:
                await asyncio.to_thread(_add_tasks, root_url, add_per_run, f"r{run}-{time.time():.0f}")
            await settle(pilot)
            before = screen.state.fetched_at
            monitor = StallMonitor()
            collections = GcTimer()
            collections.start()
            monitor.start()
            await asyncio.sleep(0.01)
            started = time.perf_counter()
            screen.run_refresh()
            deadline = time.monotonic() + 60.0
            while screen.state.fetched_at == before:
                if time.monotonic() > deadline:
                    raise TimeoutError("the refresh did not finish in time")
                await asyncio.sleep(0.002)
            await on_screen(screen)
            await pilot.pause()
            shown += add_per_run
            if screen.table.task_count != shown:
                raise RuntimeError(f"the table shows {screen.table.task_count} tasks after the refresh, not {shown}")
            result.seconds.append(time.perf_counter() - started)
            result.stall_ms.append(await monitor.stop() * 1000.0)
            collections.stop()
            result.gc_ms.append(max((c.seconds for c in collections.collections), default=0.0) * 1000.0)
            stalls = collections.attribute(monitor.stalls)
            result.stall_causes.append(max(stalls, key=lambda s: s.seconds).cause if stalls else "none")
    return result


def measure_live_refresh(base_url: str, key: str, size: int, runs: int, *, add_per_run: int = 0,
                         root_url: str = "") -> LiveRefreshRuns:
    """`runs` refreshes through the real path (`MainScreen.run_refresh`) of a service holding
    `size` pending tasks; before each, `add_per_run` new tasks are queued (0: nothing changes;
    the service must have been started with its admin API at `root_url`)."""
    return asyncio.run(_live_refresh(base_url, key, size, runs, add_per_run, root_url))


async def _baseline_reload(runs: int) -> list[float]:
    app = BaselineApp(exit_after_first_frame=False)
    rows = baseline_rows()
    times = []
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(runs):
            await settle(pilot)
            times.append(await cpu_ms(pilot, lambda: app.reload(rows)))
    return times


def measure_baseline_reload(runs: int) -> list[float]:
    """The baseline's refresh: clear its DataTable and add its 200 rows again, plus the repaint."""
    return asyncio.run(_baseline_reload(runs))
