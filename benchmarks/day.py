"""A compressed day of live refresh: does the list last a Starter (or Pro) day? (issue 12)

The local service runs `time_scale` times faster (a day in 30 s by default) with the plan's
limits; the engine runs on a `ScaledClock` with the same start, so both agree on when midnight
is. A scripted person works 09:00-17:00 UTC (virtual): a key every 10 minutes, the terminal
focused; away (unfocused) the rest of the day. They approve `approvals` tasks spread over the
working hours, through the same provider the engine polls with, and the engine follows each
until it finishes. New tasks arrive every hour.

The service's clock starts now (it has no option to start at a midnight), so a run lives
through the rest of today (day 0, partial) and then one whole day (day 1), whose figures are
the ones reported: polls in each hour, 429s, calls left before midnight (the service's own
counter), whether every action of the person succeeded, and how late the list was against the
next refresh the header announced while the person was active.

`old_budget_minutes` replays the budget as it was (`RefreshBudget` at 15 s, polling the queue)
on the same kind of day, to show how long a day's quota lasted before.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.report import Metric, Target
from lexi_tui.api import errors
from lexi_tui.api.lexi import ResponseInfo
from lexi_tui.api.models import Task
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.budget import DAY_SECONDS, Planner, RefreshBudget
from lexi_tui.core.plans import plan_named
from lexi_tui.core.refresh import (
    ConnectionChanged,
    ConnectionState,
    EnginePolicy,
    Link,
    ListFetched,
    RefreshEngine,
    ScaledClock,
    TaskFinished,
)
from lexi_tui.providers import create_provider
from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server

KEY = "wbk_bench_day_000000000000000001"
WORK_START, WORK_END = 9, 17
"""The person's working hours, UTC (virtual)."""
KEY_EVERY = 120.0
"""Virtual seconds between the person's keys while working."""
INTERVAL = 15.0
"""refresh_interval: the config's default."""


@dataclass
class DayRun:
    """What one compressed day showed (virtual seconds unless named otherwise)."""

    plan: str
    headers: str
    scale: float
    real_seconds: float = 0.0
    day0_starts: str = ""
    polls_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    """Day 1: polls of the queue view in each UTC hour."""
    calls_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    """Day 1: every call answered in each UTC hour (background and the person's)."""
    rate_limited: dict[int, int] = field(default_factory=dict)
    """429s per day (0: the partial day, 1: the whole day)."""
    calls_left: dict[int, int] = field(default_factory=dict)
    """The service's remaining_today shortly before each midnight."""
    reserve: int = 0
    approvals_tried: int = 0
    approvals_failed: list[str] = field(default_factory=list)
    finished: Counter[str] = field(default_factory=Counter)
    """Followed tasks by final status ("completed", "failed", "gave up")."""
    max_late_active: float = 0.0
    """Longest time, while the person was active, a poll came after the refresh the header had
    announced."""
    max_age_active: float = 0.0
    """The oldest the queue's list got while the person was at work (sampled each virtual minute,
    from their first minute back)."""
    states: Counter[str] = field(default_factory=Counter)
    false_states: int = 0
    """States seen still in force after the time they named had passed by more than a grace."""
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def day1_polls(self) -> int:
        return sum(self.polls_by_hour)

    def summary(self) -> dict[str, Any]:
        return {
            "plan": self.plan, "headers": self.headers, "scale": self.scale, "real_seconds": self.real_seconds,
            "day0_starts": self.day0_starts, "polls_by_hour": self.polls_by_hour, "calls_by_hour": self.calls_by_hour,
            "rate_limited": self.rate_limited, "calls_left": self.calls_left, "reserve": self.reserve,
            "approvals_tried": self.approvals_tried, "approvals_failed": self.approvals_failed,
            "finished": dict(self.finished), "max_late_active_s": self.max_late_active,
            "max_age_active_s": self.max_age_active, "states": dict(self.states), "false_states": self.false_states,
            "stats": self.stats,
        }


def _day(t: float) -> int:
    return math.floor(t / DAY_SECONDS)


def _hour(t: float) -> int:
    return int((t % DAY_SECONDS) // 3600)


def _working(t: float) -> bool:
    return WORK_START <= _hour(t) < WORK_END


def _task(n: int) -> dict[str, Any]:
    return {"type": "prospect_search", "description": f"Find 20 founders in Berlin (#{n})",
            "metadata": {"query": {"person_titles": ["Founder"]}, "per_page": 20}}


class _Admin:
    """The service's admin endpoints, called in a thread so the event loop never waits on them."""

    def __init__(self, server: RunningServer) -> None:
        self.url = server.root_url
        self.http = httpx.Client(timeout=10)

    async def get(self, path: str) -> Any:
        response = await asyncio.to_thread(self.http.get, self.url + path)
        response.raise_for_status()
        return response.json()["data"]

    async def post(self, path: str, body: Any) -> Any:
        response = await asyncio.to_thread(self.http.post, self.url + path, json=body)
        response.raise_for_status()
        return response.json()["data"]

    def close(self) -> None:
        self.http.close()


def service_options(plan: str, headers: str, scale: float, **extra: Any) -> ServerOptions:
    """The service for a compressed day: the plan's limits, instant execution (a tenth fail)."""
    values: dict[str, Any] = dict(keys=(KEY,), admin=True, plan=plan, rate_headers=headers, time_scale=scale,
                                  exec_delay=0.0, failure_rate=0.1, tasks=tuple(_task(n) for n in range(5)))
    values.update(extra)
    return ServerOptions(**values)


def live_through_day(plan: str = "starter", headers: str = "daily", scale: float = 2880.0,
                     approvals: int = 20, days: float | None = None) -> DayRun:
    """Run the rest of today and one whole virtual day; returns the figures.

    Args:
        plan: the service's plan (and the app's `plan = ...`).
        headers: what X-RateLimit-* describe: "daily" or "minute".
        scale: how many times faster than real time (2880: a day in 30 s).
        approvals: the person's approvals over day 1's working hours.
        days: stop after this many virtual days instead (tests use less).
    """
    started = time.perf_counter()
    with start_server(service_options(plan, headers, scale)) as server:
        run = asyncio.run(_live(server, plan, headers, scale, approvals, days))
    run.real_seconds = time.perf_counter() - started
    return run


async def _live(server: RunningServer, plan: str, headers: str, scale: float, approvals: int,
                days: float | None) -> DayRun:
    admin = _Admin(server)
    run = DayRun(plan, headers, scale)
    try:
        clock_info = (await admin.get("/_admin/ratelimit"))["clock"]
        clock = ScaledClock(scale, start=clock_info["started_at"])
        start = clock.now()
        end = start + days * DAY_SECONDS if days is not None else (_day(start) + 2) * DAY_SECONDS
        run.day0_starts = time.strftime("%H:%M UTC", time.gmtime(start))
        provider = create_provider("lexi", KEY, server.base_url)
        planner = Planner(INTERVAL, plan, clock=clock.now)
        plan_limits = plan_named(plan)
        run.reserve = plan_limits.reserve if plan_limits else 0
        engine = RefreshEngine(provider, planner, clock=clock, policy=EnginePolicy())
        calls: list[tuple[float, int]] = []
        provider.add_listener(lambda info: _heard(info, clock, calls))
        person = _Person(engine, provider, clock, run)
        states: list[tuple[float, ConnectionState]] = []
        fetches: list[float] = []

        def on_event(event: object) -> None:
            if isinstance(event, ListFetched) and event.view == engine.queue:
                fetches.append(event.fetched_at)
                person.screen = event.tasks
            elif isinstance(event, ConnectionChanged):
                states.append((clock.now(), event.state))
                run.states[event.state.link.value] += 1
            elif isinstance(event, TaskFinished):
                run.finished[event.status or "gave up"] += 1

        engine.subscribe(on_event)
        engine_task = asyncio.create_task(engine.run())
        try:
            await person.live(start, end, approvals, admin)
        finally:
            engine.stop()
            await engine_task
            await provider.aclose()
        run.calls_left = person.calls_left
        run.stats = {"background_polls": engine.stats.background_polls, "follow_checks": engine.stats.follow_checks,
                     "counts": engine.stats.counts, "failures": engine.stats.failures}
        _tally(run, calls, fetches, states, start)
    finally:
        admin.close()
    return run


def _heard(info: ResponseInfo, clock: ScaledClock, calls: list[tuple[float, int]]) -> None:
    calls.append((clock.now(), info.status))


def _tally(run: DayRun, calls: list[tuple[float, int]], fetches: list[float],
           states: list[tuple[float, ConnectionState]], start: float) -> None:
    day1 = _day(start) + 1
    for at, status in calls:
        day = _day(at) - _day(start)
        if status == 429:
            run.rate_limited[day] = run.rate_limited.get(day, 0) + 1
        if _day(at) == day1:
            run.calls_by_hour[_hour(at)] += 1
    run.rate_limited.setdefault(0, 0)
    run.rate_limited.setdefault(1, 0)
    for at in fetches:
        if _day(at) == day1:
            run.polls_by_hour[_hour(at)] += 1
    # How late against the announced next refresh, and how old the list got, while active.
    for before, after in zip(fetches, fetches[1:], strict=False):
        promised = [s.next_at for t, s in states if before <= t < after and s.link == Link.ONLINE
                    and s.next_what == "next refresh" and s.next_at is not None]
        if promised and _working(promised[-1]) and _working(after):
            run.max_late_active = max(run.max_late_active, after - promised[-1])
    # The list's age at each virtual minute the person was at work (after their first minute back).
    t = (math.floor(start / 60) + 1) * 60.0
    index = 0
    while fetches and t < fetches[-1]:
        while index + 1 < len(fetches) and fetches[index + 1] <= t:
            index += 1
        if fetches[index] <= t and _working(t) and _working(t - 60):
            run.max_age_active = max(run.max_age_active, t - fetches[index])
        t += 60.0
    # A state must not outlive the time it names (grace: a few ticks of the compressed clock).
    grace = 0.05 * run.scale
    for (_t, state), nxt in zip(states, states[1:] + [(math.inf, None)], strict=False):
        if state.next_at is not None and state.link in (Link.RATE_LIMITED, Link.DAY_OVER, Link.OFFLINE):
            if nxt[0] > state.next_at + grace:
                run.false_states += 1


class _Person:
    """The scripted person: keys while working, focus in and out, approvals, new tasks."""

    def __init__(self, engine: RefreshEngine, provider: Any, clock: ScaledClock, run: DayRun) -> None:
        self.engine = engine
        self.provider = provider
        self.clock = clock
        self.run = run
        self.screen: list[Task] = []
        self.calls_left: dict[int, int] = {}

    async def live(self, start: float, end: float, approvals: int, admin: _Admin) -> None:
        day1 = (_day(start) + 1) * DAY_SECONDS
        work = (WORK_END - WORK_START) * 3600
        approve_at = [day1 + WORK_START * 3600 + work * (i + 0.5) / approvals for i in range(approvals)]
        # Day 0 gets a few too when it has working hours left.
        day0 = _day(start) * DAY_SECONDS
        approve_at = [t for t in (day0 + (WORK_START + h) * 3600 + 1800 for h in range(0, 8, 2)) if t > start] + approve_at
        events: list[tuple[float, str]] = [(t, "approve") for t in approve_at]
        t = (math.floor(start / KEY_EVERY) + 1) * KEY_EVERY
        while t < end:
            events.append((t, "key"))
            t += KEY_EVERY
        t = (math.floor(start / 3600) + 1) * 3600
        while t < end:
            events.append((t + 1200, "task"))
            t += 3600
        for midnight in range(_day(start) + 1, _day(end) + 1):
            events.append((midnight * DAY_SECONDS - 120, "sample"))
        events = sorted(e for e in events if start < e[0] < end)
        self.engine.focused(_working(start))
        working = _working(start)
        added = 5
        for at, what in events:
            await self._sleep_until(at)
            now = self.clock.now()
            if _working(now) != working:
                working = _working(now)
                self.engine.focused(working)
            if what == "key" and working:
                self.engine.person_active()
            elif what == "approve":
                await self._approve()
            elif what == "task":
                await admin.post("/_admin/tasks", [_task(added), _task(added + 1)])
                added += 2
            elif what == "sample":
                counters = (await admin.get("/_admin/ratelimit"))["keys"][0]
                self.calls_left[_day(now) - _day(start)] = counters["remaining_today"]
        await self._sleep_until(end)

    async def _approve(self) -> None:
        self.engine.person_active()
        pending = [task for task in self.screen if str(task.status) == "pending"]
        if not pending:
            return
        task = pending[0]
        self.run.approvals_tried += 1
        try:
            await self.provider.approve(task.id)
        except errors.LexiError as error:
            self.engine.report(error)
            self.run.approvals_failed.append(f"{task.id}: {error}")
            return
        self.screen = [t for t in self.screen if t.id != task.id]
        self.engine.follow(task)

    async def _sleep_until(self, at: float) -> None:
        wait = at - self.clock.now()
        if wait > 0:
            await asyncio.sleep(self.clock.real_seconds(wait))


# -- the budget as it was -------------------------------------------------------------------------


def old_budget_minutes(plan: str = "starter", headers: str = "daily", scale: float = 2880.0,
                       limit_minutes: float = 24 * 60) -> float:
    """Virtual minutes until the old `RefreshBudget` (15 s, the queue only) stopped live refresh
    for the rest of the day (its reserve reached, waiting for the reset) or met "day over".

    Args:
        plan: the service's plan.
        headers: "daily" or "minute".
        scale: the time scale.
        limit_minutes: give up after this long (returns it).
    """
    with start_server(service_options(plan, headers, scale)) as server:
        return asyncio.run(_old_budget(server, scale, limit_minutes))


async def _old_budget(server: RunningServer, scale: float, limit_minutes: float) -> float:
    admin = _Admin(server)
    try:
        clock = ScaledClock(scale, start=(await admin.get("/_admin/ratelimit"))["clock"]["started_at"])
        provider = create_provider("lexi", KEY, server.base_url)
        budget = RefreshBudget(INTERVAL)
        start = clock.now()
        try:
            while clock.now() - start < limit_minutes * 60:
                try:
                    await provider.list_tasks("pending")
                except errors.RateLimitedError:
                    counters = (await admin.get("/_admin/ratelimit"))["keys"][0]
                    if counters["remaining_today"] == 0:
                        return (clock.now() - start) / 60  # Spent: even approvals fail until midnight.
                rate = provider.rate_limit
                if rate is not None and rate.reset_at is not None:
                    rate = RateLimit(rate.limit, rate.remaining, clock.from_wall(rate.reset_at), clock.now())
                delay = budget.delay(rate, calls=1, now=clock.now())
                if delay > 3600:
                    return (clock.now() - start) / 60  # Live refresh stopped for the rest of the day.
                await asyncio.sleep(clock.real_seconds(delay))
        finally:
            await provider.aclose()
    finally:
        admin.close()
    return limit_minutes


# -- the table's rows -------------------------------------------------------------------------------


def day_metrics(runs: list[DayRun], old_minutes: dict[tuple[str, str], float]) -> list[Metric]:
    """Rows for one compressed day per (plan, headers): day 1's figures (virtual time).

    Args:
        runs: one run per (plan, headers).
        old_minutes: the old budget's minutes of live refresh, by (plan, headers).
    """
    rows: list[Metric] = []
    for run in runs:
        name = f"{run.plan.title()}, {run.headers} headers"
        key = f"day_{run.plan}_{run.headers}"
        left = min(run.calls_left.values()) if run.calls_left else math.nan
        rows += [
            Metric(key=f"{key}_polls", label=f"{name}: polls of the queue in a whole day", unit="",
                   runs=[float(run.day1_polls)], note="polls_by_hour in the notes and the JSON"),
            Metric(key=f"{key}_429s", label=f"{name}: 429s in the day", unit="",
                   runs=[float(sum(run.rate_limited.values()))], target=Target(0.0, "0", inclusive=True)),
            Metric(key=f"{key}_calls_left", label=f"{name}: fewest calls left at a midnight (reserve {run.reserve})",
                   unit="", runs=[float(left)], note="the service's own remaining_today at 23:58 (virtual)"),
            Metric(key=f"{key}_person_failures", label=f"{name}: the person's approvals that failed "
                   f"(of {run.approvals_tried})", unit="", runs=[float(len(run.approvals_failed))],
                   target=Target(0.0, "0", inclusive=True)),
            Metric(key=f"{key}_max_age_min", label=f"{name}: oldest list while the person was at work", unit="min",
                   runs=[run.max_age_active / 60]),
            Metric(key=f"{key}_max_late_s", label=f"{name}: latest poll after the announced refresh (at work)",
                   unit="s", runs=[run.max_late_active],
                   note="virtual seconds; a ms of event-loop lag is ~3 s at 2,880x"),
        ]
        if (run.plan, run.headers) in old_minutes:
            rows.append(Metric(key=f"{key}_old_budget_min", label=f"{name}: the old budget's live refresh lasted",
                               unit="min", runs=[old_minutes[(run.plan, run.headers)]],
                               note="RefreshBudget at 15 s polling the queue only, until it stopped for the day"))
    return rows


def hours_note(run: DayRun) -> str:
    """"Starter, daily headers: polls by UTC hour 00-23: 1 0 1 …" for the table's notes."""
    hours = " ".join(str(n) for n in run.polls_by_hour)
    return (f"{run.plan.title()}, {run.headers} headers (x{run.scale:g}, {run.real_seconds:.0f} s real; day 0 from "
            f"{run.day0_starts}): polls by UTC hour 00-23: {hours}; all calls by hour: "
            f"{' '.join(str(n) for n in run.calls_by_hour)}; calls left at midnight {run.calls_left}; "
            f"followed {dict(run.finished)}.")


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.day [--scale K] [PLAN:HEADERS ...]`: only the compressed days, as a table."""
    import argparse

    from benchmarks.report import render_table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.day", description=main.__doc__)
    parser.add_argument("runs", nargs="*", default=["starter:daily", "starter:minute", "pro:daily", "pro:minute"],
                        help="plan:headers pairs (default: Starter and Pro under both readings)")
    parser.add_argument("--scale", type=float, default=2880.0, help="time scale (default 2880: a day in 30 s)")
    parser.add_argument("--approvals", type=int, default=20)
    args = parser.parse_args(argv)
    pairs = [tuple(item.split(":", 1)) for item in args.runs]
    runs = [live_through_day(p, h, args.scale, args.approvals) for p, h in pairs]
    old = {(p, h): old_budget_minutes(p, h, args.scale) for p, h in pairs}
    print(render_table(day_metrics(runs, old), f"Compressed days (x{args.scale:g})", [hours_note(r) for r in runs]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
