"""The live-refresh engine against the local service over loopback (no mocks).

Each test starts the service with the limits it needs, runs `RefreshEngine.run()` as the screen's
worker would, plays the person through the same provider, and reads what the engine said. Where a
minute must pass, the service and the engine's clock run faster together (`time_scale`,
`ScaledClock` started at the service's start).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from lexi_tui.api import errors
from lexi_tui.core.budget import DAY_SECONDS, Planner, Reading
from lexi_tui.core.refresh import (
    ConnectionChanged,
    ConnectionState,
    EnginePolicy,
    Event,
    Link,
    ListFetched,
    RefreshEngine,
    ScaledClock,
    SystemClock,
    TaskFinished,
)
from lexi_tui.providers import create_provider
from lexi_tui.server import RunningServer, ServerOptions, start_server

KEY = "wbk_test_refresh_00000000000001"


def options(**overrides: Any) -> ServerOptions:
    values: dict[str, Any] = dict(keys=(KEY,), admin=True, exec_delay=0.0, failure_rate=0.0,
                                  tasks=tuple({"type": "prospect_search", "description": f"Find founders #{n}",
                                               "metadata": {}} for n in range(3)))
    values.update(overrides)
    return ServerOptions(**values)


def admin(server: RunningServer, path: str, body: Any = None) -> Any:
    with httpx.Client(timeout=10) as http:
        response = http.post(server.root_url + path, json=body) if body is not None else http.get(server.root_url + path)
    response.raise_for_status()
    return response.json()["data"]


class Run:
    """An engine running against a service, with every event it emitted."""

    def __init__(self, engine: RefreshEngine, provider: Any) -> None:
        self.engine = engine
        self.provider = provider
        self.events: list[tuple[float, Event]] = []
        engine.subscribe(lambda event: self.events.append((engine.clock.now(), event)))

    @property
    def states(self) -> list[ConnectionState]:
        return [event.state for _, event in self.events if isinstance(event, ConnectionChanged)]

    def fetched(self, view: str) -> list[ListFetched]:
        return [e for _, e in self.events if isinstance(e, ListFetched) and e.view == view]

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last states: {[s.describe(self.engine.clock.now()) for s in self.states[-5:]]}")
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(server: RunningServer, *, plan: str | None = None, interval: float = 15.0,
                  scaled: bool = False, policy: EnginePolicy = EnginePolicy(),
                  **provider_options: Any) -> AsyncIterator[Run]:
    clock: Any = SystemClock()
    if scaled:
        info = admin(server, "/_admin/ratelimit")["clock"]
        clock = ScaledClock(info["time_scale"], start=info["started_at"])
    provider = create_provider("lexi", KEY, server.base_url, **provider_options)
    engine = RefreshEngine(provider, Planner(interval, plan, clock=clock.now), clock=clock, policy=policy,
                           rng=lambda: 0.5)
    run = Run(engine, provider)
    task = asyncio.create_task(engine.run())
    try:
        yield run
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)
        await provider.aclose()


def online(run: Run) -> bool:
    return bool(run.states) and run.states[-1].link == Link.ONLINE and bool(run.fetched("pending"))


# -- the two header readings ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", ["daily", "minute"])
async def test_both_header_readings_plan_a_starter_day(headers: str) -> None:
    with start_server(options(plan="starter", rate_headers=headers)) as server:
        async with running(server) as run:
            await run.until(lambda: online(run))
            engine, planner = run.engine, run.engine.planner
            now = engine.clock.now()
            limits = planner.limits(now)
            assert limits.plan is not None and limits.plan.name == "starter" and limits.source == "headers"
            assert planner.reading == (Reading.DAILY if headers == "daily" else Reading.MINUTE)
            assert limits.counted is (headers == "minute")
            assert planner.remaining_today(now) == 99
            state = run.states[-1]
            assert state.budget == ("99 calls left today" if headers == "daily" else "about 99 calls left today")
            # Spread over the rest of the day: far beyond the configured 15 s, never past midnight.
            midnight = (math.floor(now / DAY_SECONDS) + 1) * DAY_SECONDS
            expected = (planner.day_ends_at(now) - now) / planner.spare_today(now)  # type: ignore[operator]
            assert state.next_at is not None and state.next_what == "next refresh"
            assert state.next_at - now == pytest.approx(expected, rel=0.05) and state.next_at < midnight + 2
            text = state.describe(now)
            assert text.startswith("online · ") and "calls left today · next refresh " in text and "(in " in text
            assert "Starter" in engine.help_text()


# -- 429s: this minute, or the day -------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [False, True])
async def test_a_429_within_the_minute_waits_about_a_minute_not_until_midnight(retry_after: bool) -> None:
    # A minute lasts a second here (time_scale 60): the wait can be watched ending.
    with start_server(options(plan="starter", rate_headers="daily", time_scale=60, retry_after=retry_after)) as server:
        async with running(server, plan="starter", scaled=True) as run:
            await run.until(lambda: online(run))
            refused: errors.RateLimitedError | None = None
            for _ in range(12):  # The person's burst: 10 a minute, and the engine already made one call.
                try:
                    await run.provider.list_tasks("pending")
                except errors.RateLimitedError as error:
                    refused = error
                    break
            assert refused is not None
            run.engine.report(refused)
            hit = run.engine.clock.now()
            state = run.engine.state
            assert state.link == Link.RATE_LIMITED and state.next_what == "calls resume"
            assert state.next_at is not None and 55 <= state.next_at - hit <= 63  # About a minute, not hours.
            assert "left today" in state.describe(hit)
            assert (run.engine.refresh_now() or "").startswith("Rate-limited this minute")
            until = state.next_at
            await run.until(lambda: run.engine.state.link == Link.ONLINE, timeout=5)
            assert run.engine.clock.now() >= until - 1  # It did not say online before the minute was over.
            await run.until(lambda: run.fetched("pending")[-1].fetched_at > until, timeout=5)  # Then caught up.
            # Never "rate-limited" after the time it named (grace: a few ms of a 60x clock).
            moments = [(t, e.state) for t, e in run.events if isinstance(e, ConnectionChanged)]
            for (_t, s), (t_next, _n) in zip(moments, moments[1:], strict=False):
                if s.link == Link.RATE_LIMITED:
                    assert t_next <= s.next_at + 3  # type: ignore[operator]


@pytest.mark.parametrize("headers", ["daily", "minute"])
async def test_a_429_at_the_end_of_the_day_says_the_day_is_over_with_the_reset(headers: str) -> None:
    with start_server(options(plan="starter", rate_headers=headers)) as server:
        async with running(server) as run:
            await run.until(lambda: online(run))
            admin(server, "/_admin/ratelimit", {"key": KEY, "used_today": 100})
            assert run.engine.refresh_now() is None
            await run.until(lambda: run.engine.state.link == Link.DAY_OVER)
            now = time.time()
            midnight = (math.floor(now / DAY_SECONDS) + 1) * DAY_SECONDS
            state = run.engine.state
            assert state.next_at == pytest.approx(midnight + 1, abs=2) and state.next_what == "quota resets"
            text = state.describe(now)
            assert text.startswith("daily quota used up · quota resets ") and "(in " in text
            answer = run.engine.refresh_now() or ""
            assert answer.startswith("Today's quota is used up: it resets ")
            requests = admin(server, "/_admin/stats")
            await asyncio.sleep(0.3)
            assert admin(server, "/_admin/stats") == requests  # Nothing more is sent.


async def test_the_last_call_of_the_day_turns_the_state_without_a_429() -> None:
    with start_server(options(plan="starter", rate_headers="daily")) as server:
        async with running(server) as run:
            await run.until(lambda: online(run))
            admin(server, "/_admin/ratelimit", {"key": KEY, "used_today": 99})
            task_id = run.fetched("pending")[-1].tasks[0].id
            await run.provider.approve(task_id)  # The person's call takes the day's last one.
            state = run.engine.state
            assert state.link == Link.DAY_OVER and state.next_at is not None


# -- following approved tasks --------------------------------------------------------------------------


async def test_an_approved_task_is_followed_until_it_finishes() -> None:
    with start_server(options()) as server:
        policy = EnginePolicy(follow_delays=(0.2, 0.4))
        async with running(server, interval=30, policy=policy) as run:
            await run.until(lambda: online(run))
            task = run.fetched("pending")[-1].tasks[0]
            await run.provider.approve(task.id)
            run.engine.follow(task)
            await run.until(lambda: any(isinstance(e, TaskFinished) for _, e in run.events))
            finished = [e for _, e in run.events if isinstance(e, TaskFinished)]
            assert [(e.task.id, e.status) for e in finished] == [(task.id, "completed")]
            assert run.engine.following == []
            assert run.fetched("completed")[-1].shown is False  # Read to follow, not on screen.


# -- the connection state through faults ---------------------------------------------------------------


async def test_stopped_and_restarted_service_offline_then_online(tmp_path: Any) -> None:
    db = str(tmp_path / "lexi.db")
    server = start_server(options(db_path=db))
    port = server.port
    policy = EnginePolicy(backoff_base=0.2, backoff_cap=0.8)
    try:
        async with running(server, interval=0.5, policy=policy) as run:
            await run.until(lambda: online(run))
            server.stop()
            await run.until(lambda: run.engine.state.link == Link.OFFLINE)
            state = run.engine.state
            now = run.engine.clock.now()
            assert state.next_what == "retrying" and state.next_at is not None and state.next_at > state.since
            assert state.error is not None and "could not connect" in state.error
            assert state.describe(now).startswith("offline: ")
            await run.until(lambda: len([s for s in run.states if s.link == Link.OFFLINE]) >= 3, timeout=10)
            server = start_server(options(db_path=db, port=port))
            await run.until(lambda: run.engine.state.link == Link.ONLINE, timeout=10)
            offline = [s for s in run.states if s.link == Link.OFFLINE]
            retries = [s.next_at - s.error_at for s in offline]  # type: ignore[operator]
            assert all(0 < wait <= 0.8 + 1e-6 for wait in retries)
            assert retries[1] > retries[0]  # Backing off.
            assert run.fetched("pending")[-1].fetched_at > offline[-1].since
    finally:
        server.stop()


async def test_losing_focus_and_coming_back_never_turn_offline_into_online() -> None:
    """No answer came: the terminal losing focus, or the person coming back, changes the pace,
    not what the last answer said."""
    server = start_server(options())
    policy = EnginePolicy(backoff_base=5.0, backoff_cap=5.0)
    try:
        async with running(server, interval=0.5, policy=policy) as run:
            await run.until(lambda: online(run))
            server.stop()
            await run.until(lambda: run.engine.state.link == Link.OFFLINE)
            error = run.engine.state.error
            run.engine.focused(False)
            assert run.engine.state.link == Link.OFFLINE and run.engine.state.error == error
            run.engine.focused(True)  # Back after being away: one poll now, still offline until it answers.
            assert run.engine.state.link == Link.OFFLINE and run.engine.state.error == error
            assert run.engine.state.next_what == "retrying" and run.engine.state.next_at is not None
            run.engine.person_active()
            assert all(s.link != Link.ONLINE for s in run.states[[s.link for s in run.states].index(Link.OFFLINE):])
    finally:
        server.stop()


async def test_500s_make_it_failing_until_the_next_good_answer() -> None:
    with start_server(options()) as server:
        policy = EnginePolicy(backoff_base=0.3, backoff_cap=1.0)
        async with running(server, interval=30, policy=policy) as run:
            await run.until(lambda: online(run))
            task = run.fetched("pending")[-1].tasks[0]
            admin(server, "/_admin/faults", {"error_rate": 1.0})
            with pytest.raises(errors.ServerError):
                await run.provider.approve(task.id)  # The person's call: the listener hears the 500.
            state = run.engine.state
            assert state.link == Link.FAILING and state.error is not None and "HTTP 500" in state.error
            assert state.error_at is not None and state.describe(time.time()).startswith("failing: ")
            # r: the engine tries now; it fails too, and the retry waits at least the interval (each
            # retry may cost quota): announced ahead, with the error's own words.
            assert run.engine.refresh_now() is None
            await run.until(lambda: run.engine.stats.failures >= 1, timeout=10)
            state = run.engine.state
            assert state.link == Link.FAILING and state.next_at is not None and state.error_at is not None
            assert state.next_at - state.error_at == pytest.approx(30, abs=1)
            assert state.error is not None and state.error.count("HTTP 50") == 1
            admin(server, "/_admin/faults", {"error_rate": 0.0})
            await run.provider.approve(task.id)  # The next good answer, the person's.
            assert run.engine.state.link == Link.ONLINE


async def test_a_refused_key_stops_polling_until_a_new_key() -> None:
    with start_server(options(keys=(KEY, "wbk_other_key_0000000000000002"))) as server:
        async with running(server, interval=0.2) as run:
            await run.until(lambda: online(run))
            bad = create_provider("lexi", "wbk_refused_0000000000000003", server.base_url)
            run.engine.set_source(bad)
            await run.until(lambda: run.engine.state.link == Link.SIGNED_OUT)
            assert run.engine.state.describe(time.time()).endswith("nothing is polled until you sign in again")
            requests = admin(server, "/_admin/stats")
            await asyncio.sleep(0.5)
            assert admin(server, "/_admin/stats") == requests
            assert run.engine.refresh_now() == "Signed out: sign in again to refresh."
            good = create_provider("lexi", KEY, server.base_url)
            run.engine.set_source(good)
            await run.until(lambda: run.engine.state.link == Link.ONLINE)
            await bad.aclose()
            await good.aclose()


# -- hold, away, views ---------------------------------------------------------------------------------


async def test_hold_waits_and_resume_catches_up_and_views_on_screen_only() -> None:
    with start_server(options()) as server:
        async with running(server, interval=1.0) as run:
            await run.until(lambda: online(run))
            run.engine.hold()
            held_at = len(run.fetched("pending"))
            await asyncio.sleep(1.5)
            assert len(run.fetched("pending")) == held_at
            assert run.engine.state.note == "the next refresh waits for the dialog to close"
            run.engine.resume()
            await run.until(lambda: len(run.fetched("pending")) > held_at, timeout=3)
            run.engine.set_views("pending", "dismissed")  # Opening a view never fetched: fetched once now.
            await run.until(lambda: bool(run.fetched("dismissed")), timeout=3)
            fetched = [e for _, e in run.events if isinstance(e, ListFetched)]
            assert all(e.view in ("pending", "dismissed") for e in fetched if e.shown)
            # No limit here, so spare calls fetch counts of the other views: each once per count_every.
            counts = [e.view for e in fetched if not e.shown]
            assert counts and len(counts) == len(set(counts)) and "pending" not in counts
            run.engine.focused(False)
            assert not run.engine.active()
            state = run.engine.state
            assert state.next_at is not None and state.next_at - time.time() > 200  # Away: 5 min at least.
            run.engine.focused(True)
            assert run.engine.active()


async def test_events_as_an_async_iterator_end_when_the_engine_stops() -> None:
    with start_server(options(plan="pro")) as server:
        provider = create_provider("lexi", KEY, server.base_url)
        engine = RefreshEngine(provider, Planner(15, "pro"))
        seen: list[Event] = []

        async def consume() -> None:
            async for event in engine.events():
                seen.append(event)
                if isinstance(event, ListFetched):
                    engine.stop()

        consumer = asyncio.create_task(consume())
        await asyncio.sleep(0)  # The consumer subscribes before the engine starts.
        await asyncio.wait_for(asyncio.gather(engine.run(), consumer), 10)
        await provider.aclose()
        assert isinstance(seen[0], ConnectionChanged) and seen[0].state.link == Link.CONNECTING
        fetched = [e for e in seen if isinstance(e, ListFetched)]
        assert fetched[0].view == "pending" and fetched[0].shown and len(fetched[0].tasks) == 3


# -- Chamelio: no list endpoint, one GET per watched task per refresh -------------------------------

CHAMELIO_KEY = "ca_test_refresh_0000000000000a1"


async def test_chamelio_polls_the_watch_list_and_follows_an_approval() -> None:
    with start_server(options(chamelio_keys=(CHAMELIO_KEY,), chamelio_seed_workflows=2, random_seed=3)) as server:
        provider = create_provider("chamelio", CHAMELIO_KEY, server.chamelio_base_url, profile="engine")
        ids = []
        with httpx.Client(timeout=10) as http:
            for _ in range(3):
                response = http.post(f"{server.root_url}/_admin/chamelio/tasks", json={})
                ids.append(response.json()["data"]["task_id"])
        for task_id in ids:
            await provider.add_task(str(task_id))  # type: ignore[attr-defined]
        planner = Planner(15, None, daily_quota=False)
        engine = RefreshEngine(provider, planner, policy=EnginePolicy(follow_delays=(0.2, 0.4)))
        run = Run(engine, provider)
        task = asyncio.create_task(engine.run())
        try:
            await run.until(lambda: online(run))
            pending = run.fetched("pending")[-1].tasks
            assert sorted(t.id for t in pending) == sorted(str(i) for i in ids)
            assert planner.used_today == len(ids)  # One refresh: one GET per watched task, for every view.
            state = engine.state
            assert state.budget == "" and state.next_what == "next refresh"
            assert state.next_at is not None and state.next_at - time.time() == pytest.approx(15, abs=1)
            await provider.approve(pending[0].id)
            engine.follow(pending[0])
            await run.until(lambda: any(isinstance(e, TaskFinished) for _, e in run.events))
            finished = [e for _, e in run.events if isinstance(e, TaskFinished)]
            assert [(e.task.id, e.status) for e in finished] == [(pending[0].id, "completed")]
        finally:
            engine.stop()
            await task
            await provider.aclose()


# -- away and back, giving up on a follow, the day's count across a restart ------------------------------


async def test_away_polls_less_and_coming_back_polls_once_if_the_list_is_old() -> None:
    # 600x: the minute after which a list counts as old passes in 0.1 s.
    with start_server(options(plan="pro", time_scale=600)) as server:
        async with running(server, plan="pro", scaled=True) as run:
            took: list[float] = []  # Each list call's time on the wire, in virtual seconds.
            run.provider.add_listener(lambda info: took.append(info.elapsed * 600) if "tasks" in info.path else None)
            # Two polls: the first also builds the HTTP client (its TLS context: tens of virtual
            # seconds at 600x) between the poll's start and the request.
            await run.until(lambda: online(run) and len(run.fetched("pending")) >= 2)
            engine = run.engine
            active_next = engine.state.next_at
            engine.focused(False)  # AppBlur
            away = engine.state
            assert away.next_at is not None and active_next is not None and away.next_at > active_next
            # Polls at least 5 min apart while away, counted from when the last poll was sent: its
            # answer (`fetched_at`) came its time on the wire later, which a loaded machine makes
            # tens of virtual seconds at 600x (50 ms real is 30 s), so that time is taken off.
            last_sent = run.fetched("pending")[-1].fetched_at - max(took[-2:])
            assert away.next_at - last_sent >= 300 - 15  # 25 ms real for scheduling on a loaded machine.
            await asyncio.sleep(0.2)  # 2 virtual minutes: the list is old now.
            polls = len(run.fetched("pending"))
            engine.focused(True)  # AppFocus: one poll now.
            await run.until(lambda: len(run.fetched("pending")) == polls + 1, timeout=2)
            await asyncio.sleep(0.05)
            assert len(run.fetched("pending")) == polls + 1  # Once, then the active pace.


async def test_a_follow_that_never_finishes_is_given_up_with_no_status() -> None:
    with start_server(options(exec_delay=3600.0)) as server:
        async with running(server, interval=30, policy=EnginePolicy(follow_delays=(0.1,), follow_for=0.4)) as run:
            await run.until(lambda: online(run))
            task = run.fetched("pending")[-1].tasks[0]
            await run.provider.approve(task.id)
            run.engine.follow(task)
            await run.until(lambda: any(isinstance(e, TaskFinished) for _, e in run.events), timeout=5)
            finished = [e for _, e in run.events if isinstance(e, TaskFinished)]
            assert [(e.task.id, e.status) for e in finished] == [(task.id, None)]
            assert run.engine.stats.follow_checks >= 3  # Looked a few times, backing off, then let go.


async def test_the_days_count_survives_a_restart_under_minute_headers(tmp_path: Any) -> None:
    path = tmp_path / "calls-today.json"
    with start_server(options(plan="starter", rate_headers="minute")) as server:
        provider = create_provider("lexi", KEY, server.base_url)
        engine = RefreshEngine(provider, Planner(15, "starter"), count_path=path)
        task = asyncio.create_task(engine.run())
        run = Run(engine, provider)
        await run.until(lambda: online(run))
        for _ in range(4):
            await provider.list_tasks("pending")  # The person's calls count too.
        engine.stop()
        await task
        await provider.aclose()
        assert engine.planner.used_today == 5
        again = Planner(15, "starter")
        provider = create_provider("lexi", KEY, server.base_url)
        engine = RefreshEngine(provider, again, count_path=path)
        task = asyncio.create_task(engine.run())
        run = Run(engine, provider)
        await run.until(lambda: online(run))
        engine.stop()
        await task
        await provider.aclose()
        assert again.used_today == 6 and run.states[-1].budget == "about 94 calls left today"


async def test_follow_checks_back_off_with_the_polls_while_offline() -> None:
    server = start_server(options(exec_delay=3600.0))
    try:
        policy = EnginePolicy(follow_delays=(0.05,), backoff_base=0.2, backoff_cap=0.4)
        async with running(server, interval=30, policy=policy, read_retries=0) as run:
            await run.until(lambda: online(run))
            task = run.fetched("pending")[-1].tasks[0]
            await run.provider.approve(task.id)
            server.stop()
            run.engine.follow(task)
            await asyncio.sleep(1.0)
            # Each failure waits for the back-off (at most 0.4 s here): a handful of tries, not a storm.
            assert 1 <= run.engine.stats.failures <= 6
            assert run.engine.state.link == Link.OFFLINE
    finally:
        server.stop()
