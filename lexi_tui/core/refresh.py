"""The live-refresh engine: when to poll, what to poll, and a connection state that tells the truth.

No Textual here: the triage screen hosts one `RefreshEngine` in one worker (`await engine.run()`)
and hears from it through callbacks (`subscribe`) or an async iterator (`events()`):

* `ListFetched(view, tasks, fetched_at, shown)`: a view's list; `shown` False for a count of a
  view that is not on screen (fetched only when the planner has spare calls);
* `TaskFinished(task, status)`: a followed (approved, executing) task completed or failed
  (`status` None: not seen finishing within `EnginePolicy.follow_for`);
* `ConnectionChanged(state)`: what the header should say, with what happens next and when.

It polls only the views on screen (the queue, plus the open view when different), paced by
`lexi_tui.core.budget.Planner`; follows executing tasks with back-off, reading the finished views
only when a check is due; and hears every answer the provider gets, background and the person's
(through the provider's response listener), so the planner and the connection state follow
every call. A `contextvars` flag tells the engine's own calls from the person's: the listener
runs inside the task that made the call.

Times are on one injectable `Clock` (`SystemClock` in the app; `ScaledClock` runs a whole day in a
minute against the local service's `time_scale`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lexi_tui.api import errors
from lexi_tui.api.models import Task
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.budget import Block, Planner, Why, clock_text, span_text

if TYPE_CHECKING:  # Annotations only: the status bar imports this module before the first paint, httpx after.
    from lexi_tui.api.lexi import ResponseInfo

BACKGROUND = "background"
FOLLOW = "follow"
"""Background calls that serve the person's work: checks on the tasks they approved."""
PERSON = "person"
_ORIGIN: ContextVar[str] = ContextVar("lexi_tui_refresh_origin", default=PERSON)
"""Who is making the call in this task: the engine sets BACKGROUND around its own polls."""


# -- time ------------------------------------------------------------------------------------------


class Clock(Protocol):
    """The engine's time source."""

    def now(self) -> float:
        """Unix seconds on this clock."""
        ...

    def from_wall(self, wall: float) -> float:
        """A wall-clock Unix time (as in `X-RateLimit-Reset`) on this clock."""
        ...

    def real_seconds(self, seconds: float) -> float:
        """How many real seconds `seconds` on this clock take (for asyncio waits)."""
        ...


class SystemClock:
    """The wall clock: what the app uses."""

    def now(self) -> float:
        return time.time()

    def from_wall(self, wall: float) -> float:
        return wall

    def real_seconds(self, seconds: float) -> float:
        return seconds


class ScaledClock:
    """A clock `scale` times faster than the wall clock from `start` on, as the local service's
    `time_scale` (virtual = start + (real - start) x scale). Give it the service's start
    (`/_admin/ratelimit` → clock.started_at) so both agree on when midnight is.

    Args:
        scale: virtual seconds per real second (> 0).
        start: the real Unix time both timelines start from (default: now).
        wall: the real clock (injectable).
    """

    def __init__(self, scale: float, start: float | None = None, wall: Callable[[], float] = time.time) -> None:
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"scale must be > 0, got {scale}")
        self.scale = float(scale)
        self._wall = wall
        self.start = wall() if start is None else start

    def now(self) -> float:
        return self.from_wall(self._wall())

    def from_wall(self, wall: float) -> float:
        return self.start + (wall - self.start) * self.scale

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.scale


# -- what the engine needs from a provider (providers sit above core: a structural type) ------------


class ViewInfo(Protocol):
    """The part of a provider's capabilities the engine reads."""

    @property
    def views(self) -> tuple[str, ...]: ...

    @property
    def executing_view(self) -> str | None: ...

    @property
    def finished_views(self) -> tuple[str, ...]: ...


class TaskSource(Protocol):
    """What the engine polls through: a `lexi_tui.providers.Provider` is one."""

    @property
    def capabilities(self) -> ViewInfo: ...

    def add_listener(self, listener: Callable[[ResponseInfo], None]) -> None: ...

    async def list_tasks(self, status: str) -> list[Task]: ...


# -- the connection state ------------------------------------------------------------------------


class Link(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    FAILING = "failing"
    """The server answers, with errors (5xx, 403, malformed answers)."""
    OFFLINE = "offline"
    """No answer: cannot connect, connection dropped, timed out."""
    RATE_LIMITED = "rate_limited"
    """A 429 this minute, calls left today."""
    DAY_OVER = "day_over"
    """Today's quota is used up until the reset."""
    SIGNED_OUT = "signed_out"
    """401: the key was refused; nothing is polled until a new key."""


_HEADLINES = {
    Link.CONNECTING: "connecting",
    Link.ONLINE: "online",
    Link.FAILING: "failing",
    Link.OFFLINE: "offline",
    Link.RATE_LIMITED: "rate-limited this minute",
    Link.DAY_OVER: "daily quota used up",
    Link.SIGNED_OUT: "signed out",
}


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """What the header says, true now, with what happens next and when (an absolute time, so a
    countdown costs the UI one `describe(now)` per tick).

    Args:
        link: the state.
        since: when this state began (the engine's clock).
        next_at: when the next thing happens (a refresh, a retry, the limit's end, the reset);
            None: nothing is scheduled (signed out, live refresh off).
        next_what: what happens then: "next refresh", "retrying", "calls resume", "quota resets".
        error: the last error's short text (failing, offline, signed out).
        error_at: when it happened.
        budget: "63 calls left today" ("" when no daily quota is known).
        note: anything else that is true now ("the last 20 calls today are kept for you").
    """

    link: Link
    since: float
    next_at: float | None = None
    next_what: str = ""
    error: str | None = None
    error_at: float | None = None
    budget: str = ""
    note: str = ""

    @property
    def headline(self) -> str:
        """One or three words: "online", "offline", "daily quota used up"."""
        return _HEADLINES[self.link]

    def describe(self, now: float) -> str:
        """The header's sentence at `now`, e.g. "online · 63 calls left today · next refresh 14:05
        (in 4 min)". Once `next_at` has passed it says "… now", never a time in the past.

        Args:
            now: the current time (the engine's clock).
        """
        head = self.headline
        if self.error and self.link in (Link.FAILING, Link.OFFLINE, Link.SIGNED_OUT):
            head += f": {self.error}"
            if self.error_at is not None:
                head += f" at {time.strftime('%H:%M:%S', time.localtime(self.error_at))}"
        parts = [head]
        if self.budget and self.link != Link.DAY_OVER:
            parts.append(self.budget)
        if self.note:
            parts.append(self.note)
        if self.next_at is not None and self.next_what:
            if now >= self.next_at:
                parts.append(f"{self.next_what} now")
            else:
                parts.append(f"{self.next_what} {clock_text(self.next_at, now)} (in {span_text(self.next_at - now)})")
        elif self.link == Link.SIGNED_OUT:
            parts.append("nothing is polled until you sign in again")
        return " · ".join(parts)

    def same_as(self, other: ConnectionState | None) -> bool:
        """Equal but for `since` (and next_at within half a second)."""
        if other is None:
            return False
        close = (self.next_at is None and other.next_at is None) or (
            self.next_at is not None and other.next_at is not None and abs(self.next_at - other.next_at) < 0.5)
        return close and replace(self, since=0.0, next_at=None) == replace(other, since=0.0, next_at=None)


# -- events ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListFetched:
    """A view's tasks as fetched at `fetched_at` (engine's clock). `shown` is False for a view
    that is not on screen (a count, or a finished view read to follow a task)."""

    view: str
    tasks: list[Task]
    fetched_at: float
    shown: bool


@dataclass(frozen=True, slots=True)
class TaskFinished:
    """A followed task finished: `status` is the view it was found in ("completed", "failed"),
    or None when it was not seen finishing within the follow time (check its view)."""

    task: Task
    status: str | None


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    state: ConnectionState


Event = ListFetched | TaskFinished | ConnectionChanged
Listener = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class EnginePolicy:
    """The engine's tunables (seconds on the engine's clock).

    Args:
        away_after: no key for this long means the person is away.
        stale_after: a list older than this is fetched when the person comes back or opens it.
        follow_delays: when to look for a followed task's end after its approval, then between
            looks (the last repeats).
        follow_for: stop following after this long (TaskFinished with status None).
        backoff_base: first retry after a failure; doubles each time.
        backoff_cap: longest wait between retries.
        jitter: retries wait between (1 - jitter) and 1 times the back-off.
        count_every: a count of a view not on screen is at most this old when spare calls allow.
        save_every: write the day's count to `count_path` at most this often (real seconds).
    """

    away_after: float = 300.0
    stale_after: float = 60.0
    follow_delays: tuple[float, ...] = (15.0, 45.0, 120.0, 300.0, 600.0)
    follow_for: float = 3_600.0
    backoff_base: float = 2.0
    backoff_cap: float = 120.0
    jitter: float = 0.25
    count_every: float = 600.0
    save_every: float = 30.0


@dataclass
class _Follow:
    task: Task
    since: float
    next_at: float
    looks: int = 0


@dataclass
class EngineStats:
    """What the engine did, for tests and the benchmark."""

    background_polls: int = 0
    person_refreshes: int = 0
    follow_checks: int = 0
    counts: int = 0
    failures: int = 0
    poll_times: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    """When the last polls of the queue view finished (engine's clock)."""


class RefreshEngine:
    """Live refresh for one provider: poll, follow, and say what the connection is doing.

    Args:
        source: the provider to poll (and whose listener to hear).
        planner: the budget's planner (its clock must be `clock.now`).
        views: (queue view, open view) on screen now; default: the provider's first view.
        clock: the time source.
        policy: the tunables.
        rng: random numbers in [0, 1) for jitter (injectable).
        count_path: a JSON file keeping today's call count across restarts (None: not kept).
    """

    def __init__(
        self,
        source: TaskSource,
        planner: Planner,
        *,
        views: tuple[str, str] | None = None,
        clock: Clock | None = None,
        policy: EnginePolicy = EnginePolicy(),
        rng: Callable[[], float] = random.random,
        count_path: Path | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.planner = planner
        self.policy = policy
        self._rng = rng
        self.count_path = count_path
        self.stats = EngineStats()
        self._subscribers: list[Listener] = []
        self._closers: list[Callable[[], None]] = []
        self._source = source
        self._generation = 0
        queue = source.capabilities.views[0]
        self.queue, self.open_view = views or (queue, queue)
        now = self.clock.now()
        self._state = ConnectionState(Link.CONNECTING, now, now, "first refresh")
        self._fetched: dict[str, float] = {}
        self._follows: dict[str, _Follow] = {}
        self._last_poll_at: float | None = None
        self._poll_at: float | None = None
        self._poll_why: Why | None = None
        self._poll_cost = 0
        self._requested: tuple[str, ...] = ()
        self._held = False
        self._focused = True
        self._last_key_at = now
        self._failures = 0
        self._signed_out = False
        self._busy = False
        self._stopped = False
        self._wake = asyncio.Event()
        self._calls_heard = 0
        self._saved_used: int | None = None
        self._saved_at = 0.0
        self._listen(source)
        self._requested = self.visible  # The first refresh: the person opened the app.

    # -- hosting ---------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for every event, on the engine's task; returns an unsubscribe.
        A listener that raises stops the engine (its error propagates out of `run`).

        Args:
            listener: the callback.
        """
        self._subscribers.append(listener)
        return lambda: self._subscribers.remove(listener) if listener in self._subscribers else None

    async def events(self) -> AsyncIterator[Event]:
        """Every event from now on, as an async iterator (it ends when `run()` returns)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        self._closers.append(lambda: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            unsubscribe()

    async def run(self) -> None:
        """Poll until `stop()`: the hosting worker awaits this (one worker, never two)."""
        await self._load_count()
        self._emit(ConnectionChanged(self._state))
        try:
            while not self._stopped:
                self._wake.clear()
                if await self._step(self.clock.now()):
                    continue
                await self._sleep_until(self._next_wake(self.clock.now()))
        finally:
            await self._save_count(force=True)
            for close in self._closers:
                close()

    def stop(self) -> None:
        """End `run()` soon (a request in flight finishes first)."""
        self._stopped = True
        self._wake.set()

    # -- what the person does ------------------------------------------------------------------

    @property
    def visible(self) -> tuple[str, ...]:
        """The views on screen: the queue, plus the open view when it differs."""
        return tuple(dict.fromkeys((self.queue, self.open_view)))

    @property
    def state(self) -> ConnectionState:
        return self._state

    def refresh_now(self) -> str | None:
        """The person pressed r: fetch the views on screen now, spending calls even when
        background polling would wait. Returns None when the refresh starts, else why not, in
        words (signed out, day over, this minute's limit: then when it will happen)."""
        now = self.clock.now()
        if self._signed_out:
            return "Signed out: sign in again to refresh."
        block = self.planner.block(now)
        if block is not None and block.kind == "day":
            return f"Today's quota is used up: it resets {clock_text(block.until, now)} (in {span_text(block.until - now)})."
        if block is not None:
            self._requested = self.visible  # Kept: it goes when the minute is over.
            self._wake.set()
            return f"Rate-limited this minute: the list refreshes {clock_text(block.until, now)} (in {span_text(block.until - now)})."
        if self._busy:
            return "A refresh is under way."
        self._failures = 0
        self._requested = self.visible
        at, why = self.planner.earliest(len(self.visible), background=False, now=now)
        self._wake.set()
        if why is not None and at > now:
            return (f"{self.planner.calls_last_minute(now)} calls in the last minute: "
                    f"refreshing {clock_text(at, now)} (in {span_text(at - now)}).")
        return None

    def hold(self) -> None:
        """A dialog is open: no background poll until `resume()`."""
        self._held = True

    def resume(self) -> None:
        """The dialog closed: catch up on anything that came due meanwhile."""
        self._held = False
        self._wake.set()

    def person_active(self) -> None:
        """The person pressed a key (cheap: call it on every key)."""
        now = self.clock.now()
        away = not self.active(now)
        self._last_key_at = now
        if away:
            self._came_back(now)

    def focused(self, focused: bool) -> None:
        """The terminal gained (AppFocus) or lost (AppBlur) focus.

        Args:
            focused: True on AppFocus.
        """
        now = self.clock.now()
        away = not self.active(now)
        self._focused = focused
        if focused:
            self._last_key_at = now
            if away:
                self._came_back(now)
        elif self._poll_at is not None and not self._busy:
            self._plan(now)
            self._republish(now)

    def active(self, now: float | None = None) -> bool:
        """Whether the person is at the keyboard: focused, with a key within `away_after`."""
        now = self.clock.now() if now is None else now
        return self._focused and now - self._last_key_at < self.policy.away_after

    def follow(self, task: Task) -> None:
        """Follow an approved task until it completes or fails (TaskFinished).

        Args:
            task: the task as approved.
        """
        now = self.clock.now()
        self._follows[task.id] = _Follow(task, now, now + self.policy.follow_delays[0])
        self._wake.set()

    @property
    def following(self) -> list[Task]:
        """The tasks followed now."""
        return [follow.task for follow in self._follows.values()]

    def set_views(self, queue: str, open_view: str) -> None:
        """The views on screen changed. Opening a view with no list (or an old one) fetches it once,
        as the person's action.

        Args:
            queue: the approval queue's view.
            open_view: the view the person is looking at.
        """
        before = self.visible
        self.queue, self.open_view = queue, open_view
        if self.visible != before:
            self._poll_cost = 0  # Measured again at the next poll.
        now = self.clock.now()
        fetched = self._fetched.get(open_view)
        if open_view not in before and (fetched is None or now - fetched > self.policy.stale_after):
            self._requested = tuple(dict.fromkeys((*self._requested, open_view)))
            self._wake.set()

    def set_source(self, source: TaskSource) -> None:
        """A new provider (the person signed in with a new key): polling starts again now.

        Args:
            source: the new provider.
        """
        self._source = source
        self._listen(source)
        self._signed_out = False
        self._failures = 0
        self._requested = self.visible
        self._wake.set()

    def report(self, error: errors.LexiError) -> None:
        """A call of the person's failed: pass its error here (after the listener heard the answer,
        if there was one). Transport errors are never heard otherwise, and a 429's Retry-After
        is only in the error.

        Args:
            error: the exception the call raised.
        """
        now = self.clock.now()
        if isinstance(error, errors.TransportError):
            if error.sent:
                self.planner.record(0, None, background=False, at=now)
            self._failures += 1
            retry = now + self._backoff()
            if self._poll_at is None or retry < self._poll_at:
                self._poll_at = retry
            self._publish(ConnectionState(Link.OFFLINE, self._since(Link.OFFLINE, now), self._poll_at, "retrying",
                                          _short(error), now))
            self._wake.set()
        elif isinstance(error, errors.RateLimitedError):
            self._refine_429(error, now)

    # -- the loop -----------------------------------------------------------------------------------

    async def _step(self, now: float) -> bool:
        """Do what is due now; True if something was done (the loop looks again at once)."""
        if self._signed_out:
            return False
        if self._state.link in (Link.RATE_LIMITED, Link.DAY_OVER) and self.planner.block(now) is None:
            self._plan(now)
            self._publish(self._steady_state(now))
        if self._requested:
            at, why = self.planner.earliest(len(self._requested), background=False, now=now)
            if why == Why.DAY_OVER:
                self._requested = ()  # The state says when the day's quota resets; r says so too.
                block = self.planner.block(now)
                if block is not None:  # Known before any answer (this app's own count): say it now.
                    self._publish(self._block_state(block, now))
            elif at <= now:
                views, self._requested = self._requested, ()
                await self._cycle(views, PERSON, now)
                return True
        if self._held:
            if self._poll_at is not None and self._poll_at <= now and self._state.link == Link.ONLINE:
                self._publish(replace(self._steady_state(now), next_at=None, next_what="",
                                      note="the next refresh waits for the dialog to close"))
            return False
        if self._poll_at is not None and self._poll_at <= now:
            calls = max(self._poll_cost, len(self.visible))
            at, why = self.planner.earliest(calls, now=now)
            if why is not None and at > now:
                self._poll_at, self._poll_why = at, why
                self._publish(self._steady_state(now))
                return False
            await self._cycle(self.visible, BACKGROUND, now)
            return True
        due = [f for f in self._follows.values() if f.next_at <= now]
        if due:
            calls = len(self._source.capabilities.finished_views)
            at, why = self.planner.earliest(calls, for_person=True, now=now)
            if why is not None and at > now:
                for follow in due:
                    follow.next_at = at
                return False
            token = _ORIGIN.set(FOLLOW)
            try:
                await self._check_follows(now)
                self._failures = 0
            except errors.LexiError as error:
                self._failed(error, self.clock.now())
            finally:
                _ORIGIN.reset(token)
            return True
        return False

    def _next_wake(self, now: float) -> float | None:
        times: list[float] = []
        if self._signed_out:
            return None
        if self._requested:
            times.append(self.planner.earliest(len(self._requested), background=False, now=now)[0])
        background = [f.next_at for f in self._follows.values()]
        if self._poll_at is not None:
            background.append(self._poll_at)
        # While held, only what is still ahead (a poll that came due waits for resume()).
        times.extend(t for t in background if not self._held or t > now)
        block = self.planner.block(now)
        if block is not None:
            times.append(block.until)
        return min(times) if times else None

    async def _sleep_until(self, at: float | None) -> None:
        now = self.clock.now()
        if at is not None and at <= now:
            await asyncio.sleep(0)
            return
        timeout = None if at is None else self.clock.real_seconds(at - now)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _cycle(self, views: Iterable[str], origin: str, now: float) -> None:
        """One refresh: the views, then follows that are due, then maybe one count."""
        views = tuple(views)
        token = _ORIGIN.set(origin)
        self._busy = True
        calls_before = self._calls_heard
        try:
            for view in views:
                tasks = await self._source.list_tasks(view)
                fetched = self.clock.now()
                self._fetched[view] = fetched
                if view == self.queue:
                    self.stats.poll_times.append(fetched)
                self._emit(ListFetched(view, tasks, fetched, view in self.visible))
                self._resolve(view, tasks)
            if origin == BACKGROUND:
                self.stats.background_polls += 1
                if views == self.visible:
                    self._poll_cost = max(1, self._calls_heard - calls_before)
                if any(f.next_at <= now for f in self._follows.values()):
                    inner = _ORIGIN.set(FOLLOW)
                    try:
                        await self._check_follows(now)
                    finally:
                        _ORIGIN.reset(inner)
                await self._maybe_count(now)
            else:
                self.stats.person_refreshes += 1
        except errors.LexiError as error:
            self._failed(error, self.clock.now())
            return
        finally:
            self._busy = False
            _ORIGIN.reset(token)
        self._failures = 0
        if views == self.visible or origin == BACKGROUND:
            self._last_poll_at = now
        self._plan(self.clock.now())
        self._publish(self._steady_state(self.clock.now()))
        await self._save_count()

    async def _check_follows(self, now: float) -> None:
        """Look for followed tasks in the finished views, in order, until all are found."""
        self.stats.follow_checks += 1
        looking = {task_id for task_id, f in self._follows.items() if f.next_at <= now}
        for view in self._source.capabilities.finished_views:
            if not looking:
                break
            tasks = await self._source.list_tasks(view)
            fetched = self.clock.now()
            self._fetched[view] = fetched
            self._emit(ListFetched(view, tasks, fetched, view in self.visible))
            self._resolve(view, tasks)
            looking &= set(self._follows)
        delays = self.policy.follow_delays
        for task_id in looking:
            follow = self._follows[task_id]
            follow.looks += 1
            if now - follow.since >= self.policy.follow_for:
                del self._follows[task_id]
                self._emit(TaskFinished(follow.task, None))
            else:
                follow.next_at = now + delays[min(follow.looks, len(delays) - 1)]

    def _resolve(self, view: str, tasks: list[Task]) -> None:
        if not self._follows or view not in self._source.capabilities.finished_views:
            return
        for task in tasks:
            follow = self._follows.pop(task.id, None)
            if follow is not None:
                self._emit(TaskFinished(task, view))

    async def _maybe_count(self, now: float) -> None:
        """One count of a view not on screen, when the planner has spare calls for it."""
        hidden = [v for v in self._source.capabilities.views if v not in self.visible]
        stale = [v for v in hidden if now - self._fetched.get(v, -math.inf) >= self.policy.count_every]
        if not stale or not self.planner.has_spare(1, max(1, self._poll_cost), now=now):
            return
        view = min(stale, key=lambda v: self._fetched.get(v, -math.inf))
        tasks = await self._source.list_tasks(view)
        fetched = self.clock.now()
        self._fetched[view] = fetched
        self.stats.counts += 1
        self._emit(ListFetched(view, tasks, fetched, False))
        self._resolve(view, tasks)

    def _came_back(self, now: float) -> None:
        """The person is back: one poll now if the queue's list is old, else the active pace."""
        fetched = self._fetched.get(self.queue)
        if self._signed_out or self._busy:
            return
        if fetched is None or now - fetched > self.policy.stale_after:
            self._poll_at = now
        else:
            self._plan(now)
        self._republish(now)
        self._wake.set()

    def _republish(self, now: float) -> None:
        """The pace changed but no answer came: a failing or offline state keeps saying what the
        last answer said, with the new time of the next try; any other state is recomputed.
        (Coming back, or losing focus, must never turn "offline" into "online".)"""
        if self._state.link in (Link.FAILING, Link.OFFLINE):
            self._publish(replace(self._state, next_at=self._poll_at))
        else:
            self._publish(self._steady_state(now))

    # -- planning and state -------------------------------------------------------------------------

    def _plan(self, now: float) -> None:
        calls = max(self._poll_cost, len(self.visible))
        upcoming = self.planner.next_poll(self._last_poll_at, calls, active=self.active(now), now=now)
        self._poll_at, self._poll_why = upcoming.at, upcoming.why

    def _steady_state(self, now: float) -> ConnectionState:
        """The state when the last answer was good: online (or a limit the planner knows of)."""
        block = self.planner.block(now)
        if block is not None:
            return self._block_state(block, now)
        budget = self.planner.budget_text(now)
        if self._poll_at is None:
            return ConnectionState(Link.ONLINE, self._since(Link.ONLINE, now), None, "", budget=budget,
                                   note="live refresh off (r refreshes)")
        if self._poll_why == Why.RESERVE:
            reserve = self.planner.limits(now).reserve
            return ConnectionState(Link.ONLINE, self._since(Link.ONLINE, now), self._poll_at, "live refresh resumes",
                                   budget=budget, note=f"the last {reserve} calls today are kept for you (r refreshes)")
        return ConnectionState(Link.ONLINE, self._since(Link.ONLINE, now), self._poll_at, "next refresh", budget=budget)

    def _block_state(self, block: Block, now: float) -> ConnectionState:
        if block.kind == "day":
            note = "by this app's count" if block.counted and self.planner.limits(now).counted else ""
            return ConnectionState(Link.DAY_OVER, self._since(Link.DAY_OVER, now), block.until, "quota resets",
                                   note=note)
        return ConnectionState(Link.RATE_LIMITED, self._since(Link.RATE_LIMITED, now), block.until, "calls resume",
                               budget=self.planner.budget_text(now))

    def _since(self, link: Link, now: float) -> float:
        return self._state.since if self._state.link == link else now

    def _publish(self, state: ConnectionState) -> None:
        if state.same_as(self._state):
            return
        self._state = state
        self._emit(ConnectionChanged(state))

    def _emit(self, event: Event) -> None:
        for listener in list(self._subscribers):
            listener(event)

    def _backoff(self) -> float:
        n = max(1, self._failures)
        wait = min(self.policy.backoff_cap, self.policy.backoff_base * 2.0 ** (n - 1))
        return wait * (1 - self.policy.jitter * self._rng())

    def _failed(self, error: errors.LexiError, now: float) -> None:
        """The engine's own call failed: say so and schedule the retry (follows wait for it too)."""
        try:
            self._fail(error, now)
        finally:
            retry = self._poll_at
            for follow in self._follows.values():
                follow.next_at = max(follow.next_at, retry if retry is not None else now + self._backoff())

    def _fail(self, error: errors.LexiError, now: float) -> None:
        self.stats.failures += 1
        if isinstance(error, errors.InvalidKeyError):
            self._signed_out = True
            self._poll_at = None
            self._publish(ConnectionState(Link.SIGNED_OUT, now, None, "", _short(error), now))
            return
        if isinstance(error, errors.RateLimitedError):
            block = self._refine_429(error, now)
            self._poll_at = max(self._poll_at or now, block.until if block else now)
            return
        self._failures += 1
        wait = self._backoff()
        if isinstance(error, errors.TransportError):
            if error.sent:
                self.planner.record(0, None, background=True, at=now)
            self._poll_at = now + wait
            self._publish(ConnectionState(Link.OFFLINE, self._since(Link.OFFLINE, now), self._poll_at, "retrying",
                                          _short(error), now))
            return
        # The server answers, with errors: each retry may cost quota, so never faster than the budget.
        paced = self.planner.next_poll(now, max(1, self._poll_cost), active=self.active(now), now=now)
        self._poll_at = max(now + wait, paced.at if paced.at is not None else now + wait)
        self._publish(ConnectionState(Link.FAILING, self._since(Link.FAILING, now), self._poll_at, "retrying",
                                      _short(error), now, self.planner.budget_text(now)))

    def _refine_429(self, error: errors.RateLimitedError, now: float) -> Block | None:
        retry_after = _header_retry_after(error)
        block = self.planner.block(now)
        if retry_after is not None:
            start = time.time()
            block = self.planner.refine_retry_after(self.clock.from_wall(start + retry_after) - self.clock.from_wall(start),
                                                    at=now)
        if block is not None:
            self._publish(self._block_state(block, now))
            self._wake.set()
        return block

    # -- hearing every answer ---------------------------------------------------------------------

    def _listen(self, source: TaskSource) -> None:
        self._generation += 1
        generation = self._generation

        def heard(info: ResponseInfo) -> None:
            if generation == self._generation:
                self._heard(info)

        source.add_listener(heard)

    def _heard(self, info: ResponseInfo) -> None:
        """Every answer, background or the person's: the planner counts it, the state follows it."""
        status = info.status
        if status is None:
            # No answer (a transport failure): the poll that failed, or `report()` for the
            # person's call, counts it and says "offline"; counting it here too would count twice.
            return
        now = self.clock.now()
        self._calls_heard += 1
        rate = self._on_clock(info.rate_limit, now)
        origin = _ORIGIN.get()
        block = self.planner.record(status, rate, background=origin != PERSON, at=now,
                                    for_person=origin != BACKGROUND)
        if status == 401:
            self._signed_out = True
            self._poll_at = None
            self._publish(ConnectionState(Link.SIGNED_OUT, now, None, "", "the server refused the key", now))
        elif block is not None:
            if self._poll_at is not None:
                self._poll_at = max(self._poll_at, block.until)
            self._publish(self._block_state(block, now))
        elif status >= 500 or status == 403:
            what = "server error" if status >= 500 else "permission refused"
            self._publish(ConnectionState(Link.FAILING, self._since(Link.FAILING, now), self._poll_at, "retrying",
                                          f"{what} (HTTP {status}, {info.method} {_short_path(info.path)})", now,
                                          self.planner.budget_text(now)))
        elif not self._signed_out:
            self._publish(self._steady_state(now))
        self._wake.set()

    def _on_clock(self, rate: RateLimit | None, now: float) -> RateLimit | None:
        if rate is None:
            return None
        reset = self.clock.from_wall(rate.reset_at) if rate.reset_at is not None else None
        return RateLimit(rate.limit, rate.remaining, reset, now)

    # -- the day's count across restarts ---------------------------------------------------------

    async def _load_count(self) -> None:
        if self.count_path is None:
            return
        path = self.count_path

        def read() -> object:
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None

        saved = await asyncio.to_thread(read)
        self.planner.restore(saved, now=self.clock.now())
        self._saved_used = self.planner.used_today

    async def _save_count(self, *, force: bool = False) -> None:
        if self.count_path is None or self.planner.used_today == self._saved_used:
            return
        if not force and time.monotonic() - self._saved_at < self.policy.save_every:
            return
        path, body = self.count_path, json.dumps(self.planner.snapshot())
        self._saved_used, self._saved_at = self.planner.used_today, time.monotonic()

        def write() -> None:
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_suffix(".tmp")
                temporary.write_text(body, encoding="utf-8")
                temporary.replace(path)

        await asyncio.to_thread(write)

    # -- words -------------------------------------------------------------------------------------

    def status_text(self, now: float | None = None) -> str:
        """The header's sentence now (ConnectionState.describe)."""
        return self._state.describe(self.clock.now() if now is None else now)

    def help_text(self) -> str:
        """The help screen's paragraph: the plan in force and how the budget is spent."""
        now = self.clock.now()
        return self.planner.help_text(max(self._poll_cost, len(self.visible)), active=self.active(now), now=now)


def _header_retry_after(error: errors.RateLimitedError) -> float | None:
    """The Retry-After the server sent, in real seconds; None when there was none.

    The client fills `retry_after` from X-RateLimit-Reset when no Retry-After came (under daily
    headers that is hours: the next midnight), so a value equal to Reset's distance is not one.
    """
    retry_after, rate = error.retry_after, error.rate_limit
    if retry_after is None:
        return None
    if rate is not None and rate.reset_at is not None and abs((rate.reset_at - rate.observed_at) - retry_after) < 2.0:
        return None
    return retry_after


def _short(error: errors.LexiError) -> str:
    text = error.message.strip().splitlines()[0] if error.message.strip() else type(error).__name__
    if len(text) > 80:
        text = text[:79] + "…"
    return f"{text} (HTTP {error.status})" if error.status and f"HTTP {error.status}" not in text else text


def _short_path(path: str) -> str:
    """"/v1/lexi/tasks/abc/approve" → "approve"; "/v1/lexi/tasks" → "tasks"."""
    return path.rstrip("/").rsplit("/", 1)[-1] or path
