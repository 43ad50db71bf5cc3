"""The refresh planner: how live refresh spends a day's quota, whatever the headers describe.

LeadLex counts two limits at once per workspace (Starter: 100 calls a day and 10 a minute; see
`lexi_tui.core.plans`). Its docs' example headers describe the **day** (Limit 1000, Remaining
995, Reset = the next midnight UTC); no page says how the per-minute limit is reported. So the
`Planner` infers, from every response the app gets (background and the person's), which reading
is in force, and plans under each:

* **daily headers** (Limit is a plan's daily limit, or Reset is more than 90 s away): Remaining
  and Reset are the day's; Limit names the plan, and so its per-minute limit.
* **minute headers** (Limit is a plan's per-minute limit, or Reset within 90 s): the day is
  invisible, so the planner counts every call it sees today (background and the person's)
  against the plan's daily limit. A Limit that names no plan: the configured plan, else the
  assumption that the day allows 10 times the minute (Starter's ratio, the tightest).
* **no headers**: the configured plan's limits with the same count, else no limit at all
  (the configured interval, as before).

The policy, in one place:

1. Keep a reserve for the person: background work never spends the day's last `reserve` calls
   (Starter 20, Pro 100, Org 500), and never makes more than `background_per_minute` calls in
   any 60 s counting every call the app made (Starter 4 of 10, Pro 20 of 50, Org 80 of 200).
2. Set aside an `allowance` for the person's ordinary work (Starter 30, Pro 200, Org 1,500):
   their approvals, dismissals and chat, and the checks that follow an approved task, use it up
   first; what is left of it flows back to live refresh over the last 4 hours before the reset.
3. Spread the rest of today's calls (remaining - reserve - what is left of the allowance) evenly
   over the time left until the daily reset: one poll of n calls every
   n x (seconds to reset / spare calls), never more often than the configured `refresh_interval`.
4. While the person is away, poll `away_factor` (4) times less often, and never more often than
   every `away_min_interval` (5 min); the engine polls once when they come back.
5. A 429 while calls remain today means "this minute": wait a minute (or Retry-After) and
   escalate up to 5 min if it repeats; a 429 with nothing left today, or a count that says the
   day is spent, means the day is over until the reset.

Every time here is on one clock (`clock()`, Unix seconds; the engine may run it faster for a
compressed day): callers pass `RateLimit`s already converted to that clock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from lexi_tui.api import errors
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.plans import (
    CONSERVATIVE,
    STARTER_DAILY_PER_MINUTE,
    Plan,
    plan_named,
    plan_with_daily_limit,
    plan_with_minute_limit,
)

DAY_SECONDS = 86_400.0
MINUTE_SECONDS = 60.0
"""The per-minute limit's window. The server's kind of window (fixed, sliding) is not documented:
counting every call of the last 60 s is safe under either."""

MINUTE_RESET_MAX = 90.0
"""A Reset at most this far away can be a per-minute window's; further away it is the day's."""
MINUTE_LIMIT_RESET_MAX = 3_600.0
"""A Limit equal to a plan's per-minute limit is read as per-minute unless Reset is further away
than this (then it is a custom daily quota; no minute window resets an hour away)."""
RETRY_AFTER_MINUTE_MAX = 120.0
"""A Retry-After up to this long is the minute's; longer means the day (or worse) is over."""
BLOCK_MARGIN = 1.0
"""Seconds added to a limit's end before calling again, for clock skew with the server."""
ALLOWANCE_RELEASE = 4 * 3600.0
"""What is left of the person's allowance flows back to live refresh over this many seconds before
the daily reset (calls unused at the reset are lost)."""
CALL_SECONDS = 0.3
"""Assumed duration of one call, for estimates (loopback is faster, a slow SSH hop slower)."""


class Reading(StrEnum):
    """What the `X-RateLimit-*` headers describe."""

    DAILY = "daily"
    MINUTE = "minute"
    NONE = "none"


class Why(StrEnum):
    """Why the next background poll is when it is."""

    FLOOR = "floor"
    """The configured refresh_interval: the budget allows more."""
    PACED = "paced"
    """Spread over what is left of the day."""
    MINUTE_CAP = "minute_cap"
    """Background work's share of this minute is spent."""
    AWAY = "away"
    """The person is away: polling less."""
    RESERVE = "reserve"
    """Only the person's reserve is left today: background waits for the reset."""
    RATE_LIMITED = "rate_limited"
    """A 429 said "this minute"."""
    DAY_OVER = "day_over"
    """Today's quota is used up."""
    OFF = "off"
    """refresh_interval = 0: no background polling."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What the planner believes is in force now.

    Args:
        reading: what the headers describe.
        plan: the plan in force, with the share kept for the person (a custom one when the
            limits match no documented plan; None when no limit is known at all).
        source: where the plan comes from: "headers", "config" or "assumed".
        counted: True when today's remaining calls are this app's own count, not the headers'.
    """

    reading: Reading
    plan: Plan | None
    source: str
    counted: bool

    @property
    def daily(self) -> int | None:
        return self.plan.daily if self.plan else None

    @property
    def per_minute(self) -> int | None:
        return self.plan.per_minute if self.plan else None

    @property
    def reserve(self) -> int:
        return self.plan.reserve if self.plan else 0


@dataclass(frozen=True, slots=True)
class Block:
    """A limit the server said is reached: no call (or no background call) before `until`.

    Args:
        kind: "minute" (too many this minute, calls remain today) or "day" (none left today).
        until: when calls may go again (this planner's clock).
        since: when the block began.
        counted: for "day": the app's own count said so, not a 429.
    """

    kind: str
    until: float
    since: float
    counted: bool = False


@dataclass(frozen=True, slots=True)
class Next:
    """When the next background poll may go, and why then.

    Args:
        at: absolute time (None: no background polling, `Why.OFF`).
        why: the reason.
        delay: the pacing interval behind `at` (seconds between polls at this rate).
    """

    at: float | None
    why: Why
    delay: float | None = None


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a run of `calls` calls (a bulk run, a rules pass) will cost, said before it starts.

    Args:
        calls: the run's calls.
        seconds: how long it takes at the person's per-minute share (plus `CALL_SECONDS` each).
        per_minute: the pace assumed (None: no per-minute limit known).
        share_of_today: calls / the daily quota (None: no daily quota known).
        remaining_today: calls left today before the run (None: unknown).
        fits: whether today's remainder holds the run (and the day is not over).
        into_reserve: whether the run would leave less than the reserve (background refresh
            then waits for the reset).
        resets_at: when the daily quota resets (None: unknown).
    """

    calls: int
    seconds: float
    per_minute: int | None
    share_of_today: float | None
    remaining_today: int | None
    fits: bool
    into_reserve: bool
    resets_at: float | None

    def describe(self, now: float) -> str:
        """One sentence for a bulk or rules dialog.

        Args:
            now: the current time (for the reset's countdown).
        """
        pace = f" at {self.per_minute} a minute" if self.per_minute and self.calls > self.per_minute else ""
        text = f"{self.calls} call{'s' if self.calls != 1 else ''}: about {span_text(self.seconds)}{pace}"
        if self.share_of_today is not None:
            text += f", {self.share_of_today:.0%} of today's quota"
        if self.remaining_today is not None:
            if not self.fits:
                reset = f" (resets {clock_text(self.resets_at, now)})" if self.resets_at else ""
                return text + f". It does not fit: {self.remaining_today} calls are left today{reset}."
            text += f"; {self.remaining_today - self.calls} left after it"
            if self.into_reserve:
                text += " (live refresh then waits for the reset)"
        return text + "."


@dataclass(frozen=True, slots=True)
class PlannerPolicy:
    """The planner's tunables (the defaults are the documented policy).

    Args:
        away_factor: how many times less often to poll while the person is away.
        away_min_interval: never poll more often than this while away (seconds).
        minute_strike_max: a repeated minute 429 waits up to this many minutes.
    """

    away_factor: float = 4.0
    away_min_interval: float = 300.0
    minute_strike_max: int = 5


class Planner:
    """Plans background polling over what is left of the day's quota.

    Feed it every response (`record`) and every 429 refinement (`refine_retry_after`); ask it
    when the next background poll may go (`next_poll`), whether calls may go now (`earliest`),
    what a run costs (`estimate`), and for words (`status_text`, `help_text`).

    Args:
        interval: the configured refresh_interval (seconds; 0 = background polling off). Never
            polls more often than this.
        plan: the configured plan (`plan = "starter"`), a `Plan`, or None (unknown).
        daily_quota: whether the vendor has a daily quota at all (Lexi: yes; Chamelio documents
            only a per-minute limit).
        clock: the current time (Unix seconds); injectable for tests and compressed days.
        policy: the tunables.
    """

    def __init__(
        self,
        interval: float,
        plan: Plan | str | None = None,
        *,
        daily_quota: bool = True,
        clock: Callable[[], float] = time.time,
        policy: PlannerPolicy = PlannerPolicy(),
    ) -> None:
        self.interval = max(0.0, interval)
        self.configured = plan_named(plan) if isinstance(plan, str) else plan
        self.daily_quota = daily_quota
        self.clock = clock
        self.policy = policy
        self._rate: RateLimit | None = None
        self._reading = Reading.NONE
        self._calls_since_rate = 0
        self._day = -1
        self.used_today = 0
        """Calls answered today (not 429, not 401) as this app counted them."""
        self.background_today = 0
        self.person_today = 0
        self.person_work_today = 0
        """Calls today that served the person's work (theirs, and follow-up checks): the allowance."""
        self.rate_limited_today = 0
        self._recent: deque[tuple[float, bool]] = deque()
        """(time, background) of every call answered in the last minute, 429s included."""
        self._block: Block | None = None
        self._strikes = 0

    # -- observing ------------------------------------------------------------------------

    def record(self, status: int, rate: RateLimit | None, *, background: bool, at: float | None = None,
               counts: bool = True, for_person: bool | None = None) -> Block | None:
        """Count one answer (every call the app makes, from the provider's listener).

        Args:
            status: the HTTP status (0 for a request that may have reached the server but got
                no answer, e.g. a dropped connection).
            rate: its `X-RateLimit-*` state, converted to this planner's clock (None: none sent).
            background: whether background work (not the person) made the call.
            at: when it was answered (default: now).
            counts: False for an answer the vendor surely did not count (none today).
            for_person: whether the call serves the person's own work (their calls, and the
                checks that follow their approvals); default: not `background`.

        Returns:
            The new block when the answer was a 429, else None.
        """
        at = self.clock() if at is None else at
        self._roll(at)
        if rate is not None:
            self._observe_rate(rate, at)
        self._recent.append((at, background))
        self._trim(at)
        if status == 429:
            self.rate_limited_today += 1
            return self.rate_limited(rate, None, at=at)
        if status == 401 or not counts:
            return None
        # Assumption: a 429 costs no quota (the local service's rule; the vendor says nothing),
        # every other answer does, including 5xx pages without headers (conservative).
        self.used_today += 1
        if background:
            self.background_today += 1
        else:
            self.person_today += 1
        if (not background) if for_person is None else for_person:
            self.person_work_today += 1
        if rate is None:
            self._calls_since_rate += 1
        if 0 < status < 500:
            # The call went through the limiter: whatever a 429 said has passed.
            self._strikes = 0
            if self._block is not None and not self._block.counted:
                self._block = None
        return None

    def rate_limited(self, rate: RateLimit | None, retry_after: float | None, *, at: float | None = None) -> Block:
        """Classify a 429 as "this minute" or "the day is over", and block until it ends.

        Args:
            rate: the 429's rate-limit headers (converted), if any.
            retry_after: seconds the server's Retry-After header named, if any (not a value the
                client derived from X-RateLimit-Reset).
            at: when it was answered.
        """
        at = self.clock() if at is None else at
        self._roll(at)
        limits = self.limits(at)
        day_end = self.day_ends_at(at)
        if retry_after is not None and retry_after > RETRY_AFTER_MINUTE_MAX:
            block = Block("day", at + retry_after + BLOCK_MARGIN, at)
        elif self._day_spent_by(rate, retry_after, limits):
            if limits.counted and limits.daily is not None:
                self.used_today = max(self.used_today, limits.daily)
            block = Block("day", day_end + BLOCK_MARGIN, at)
        else:
            self._strikes += 1
            if retry_after is not None:
                wait = retry_after
            elif (self._reading == Reading.MINUTE and rate is not None and rate.reset_at is not None
                  and 0 < rate.reset_at - at <= MINUTE_RESET_MAX):
                wait = rate.reset_at - at
            else:
                wait = MINUTE_SECONDS * min(self._strikes, self.policy.minute_strike_max)
            block = Block("minute", at + wait + BLOCK_MARGIN, at)
        self._block = block
        return block

    def refine_retry_after(self, retry_after: float, *, at: float | None = None) -> Block | None:
        """A 429's Retry-After (read from the error, which the listener does not see).

        Args:
            retry_after: the seconds the header named (this planner's clock).
            at: when the 429 was answered.
        """
        at = self.clock() if at is None else at
        block = self._block
        if block is None or block.counted:
            return block
        if retry_after > RETRY_AFTER_MINUTE_MAX:
            self._block = Block("day", at + retry_after + BLOCK_MARGIN, block.since)
        elif block.kind == "minute":
            self._block = replace(block, until=at + retry_after + BLOCK_MARGIN)
        return self._block

    def _day_spent_by(self, rate: RateLimit | None, retry_after: float | None, limits: Limits) -> bool:
        if retry_after is not None:
            return False
        if rate is not None and rate.remaining is not None:
            if self._reading == Reading.DAILY and rate.remaining <= 0:
                return True
            if self._reading == Reading.MINUTE and rate.remaining > 0 and self.daily_quota:
                return True  # The minute still had room, so the day is what refused.
        remaining = self.remaining_today(rate.observed_at if rate else self.clock())
        return remaining is not None and remaining <= 0

    def _observe_rate(self, rate: RateLimit, at: float) -> None:
        if rate.limit is None:
            if self._rate is not None:
                self._rate = replace(self._rate, remaining=rate.remaining, observed_at=at)
                self._calls_since_rate = 0
            return
        reset_in = rate.reset_at - at if rate.reset_at is not None else None
        if not self.daily_quota:
            reading = Reading.MINUTE
        elif plan_with_daily_limit(rate.limit) is not None:
            reading = Reading.DAILY
        elif plan_with_minute_limit(rate.limit) is not None:
            far = reset_in is not None and reset_in > MINUTE_LIMIT_RESET_MAX
            reading = Reading.DAILY if far else Reading.MINUTE
        elif reset_in is not None:
            reading = Reading.DAILY if reset_in > MINUTE_RESET_MAX else Reading.MINUTE
        else:
            reading = Reading.DAILY  # No Reset: reading the Limit as a day's is the cautious choice.
        self._reading = reading
        self._rate = rate
        self._calls_since_rate = 0

    def _roll(self, now: float) -> None:
        day = math.floor(now / DAY_SECONDS)
        if day != self._day:
            self._day = day
            self.used_today = self.background_today = self.person_today = self.rate_limited_today = 0
            self.person_work_today = 0
            self._strikes = 0

    def _trim(self, now: float) -> None:
        while self._recent and self._recent[0][0] <= now - MINUTE_SECONDS:
            self._recent.popleft()

    # -- what is in force ----------------------------------------------------------------

    @property
    def reading(self) -> Reading:
        return self._reading

    @property
    def rate(self) -> RateLimit | None:
        """The last rate-limit headers seen (on this planner's clock)."""
        return self._rate

    def limits(self, now: float | None = None) -> Limits:
        """The plan in force now and where it comes from.

        Args:
            now: the current time.
        """
        configured = self.configured
        rate = self._rate
        reading = self._reading
        if not self.daily_quota:
            per_minute = rate.limit if rate is not None and rate.limit else None
            plan = Plan.custom(None, per_minute) if per_minute else None
            return Limits(reading, plan, "headers" if plan else "config", counted=False)
        if reading == Reading.DAILY and rate is not None and rate.limit is not None:
            found = plan_with_daily_limit(rate.limit)
            if found is None:
                per_minute = configured.per_minute if configured else CONSERVATIVE.per_minute
                found = Plan.custom(rate.limit, per_minute)
            return Limits(reading, found, "headers", counted=False)
        if reading == Reading.MINUTE and rate is not None and rate.limit is not None:
            found = plan_with_minute_limit(rate.limit)
            if found is None:
                daily = configured.daily if configured else rate.limit * STARTER_DAILY_PER_MINUTE
                found = Plan.custom(daily, rate.limit)
            return Limits(reading, found, "headers", counted=True)
        if configured is not None:
            return Limits(Reading.NONE, configured, "config", counted=True)
        return Limits(Reading.NONE, None, "none", counted=False)

    def day_ends_at(self, now: float | None = None) -> float:
        """When the daily count resets: the headers' Reset under daily headers, else the next
        midnight UTC on this clock.

        Args:
            now: the current time.
        """
        now = self.clock() if now is None else now
        rate = self._rate
        if self._reading == Reading.DAILY and rate is not None and rate.reset_at is not None and rate.reset_at > now:
            return rate.reset_at
        return (math.floor(now / DAY_SECONDS) + 1) * DAY_SECONDS

    def remaining_today(self, now: float | None = None) -> int | None:
        """Calls left today: the headers' Remaining under daily headers (less calls answered
        since without headers), else the plan's daily limit less this app's count; None when
        no daily quota is known.

        Args:
            now: the current time.
        """
        now = self.clock() if now is None else now
        self._roll(now)
        limits = self.limits(now)
        if limits.daily is None:
            return None
        rate = self._rate
        if (self._reading == Reading.DAILY and rate is not None and rate.remaining is not None
                and rate.reset_at is not None and now < rate.reset_at):
            return max(0, rate.remaining - self._calls_since_rate)
        return max(0, limits.daily - self.used_today)

    def allowance_left(self, now: float | None = None) -> int:
        """What is left of today's allowance for the person's work: the plan's allowance less what
        their work spent today, shrinking to 0 over the last `ALLOWANCE_RELEASE` s before the reset.

        Args:
            now: the current time.
        """
        now = self.clock() if now is None else now
        plan = self.limits(now).plan
        if plan is None or not plan.allowance:
            return 0
        self._roll(now)
        left = max(0, plan.allowance - self.person_work_today)
        release = min(1.0, max(0.0, self.day_ends_at(now) - now) / ALLOWANCE_RELEASE)
        return math.floor(left * release)

    def spare_today(self, now: float | None = None, *, for_person: bool = False) -> int | None:
        """Calls background work may still spend today: remaining less the reserve and (unless the
        calls serve the person's work, like follow-up checks) less what is left of the allowance.

        Args:
            now: the current time.
            for_person: the calls serve the person's work (they may use the allowance).
        """
        remaining = self.remaining_today(now)
        if remaining is None:
            return None
        spare = remaining - self.limits(now).reserve
        return spare if for_person else spare - self.allowance_left(now)

    def block(self, now: float | None = None) -> Block | None:
        """The limit in force now: a 429's block not yet ended, or a day the count says is spent.

        Args:
            now: the current time.
        """
        now = self.clock() if now is None else now
        if self._block is not None and self._block.until <= now:
            self._block = None
        if self._block is not None:
            return self._block
        remaining = self.remaining_today(now)
        if remaining is not None and remaining <= 0:
            # Nothing left by the headers' or our own count: the day is over until the reset.
            self._block = Block("day", self.day_ends_at(now) + BLOCK_MARGIN, now, counted=True)
            return self._block
        return None

    def calls_last_minute(self, now: float | None = None) -> int:
        """Every call answered in the last 60 s (background and the person's)."""
        now = self.clock() if now is None else now
        self._trim(now)
        return len(self._recent)

    # -- planning --------------------------------------------------------------------------

    def earliest(self, calls: int, *, background: bool = True, for_person: bool = False,
                 now: float | None = None) -> tuple[float, Why | None]:
        """The earliest time `calls` calls may go, and what holds them (None: nothing, now).

        Background work respects the reserve, the allowance (unless `for_person`) and its share
        of each minute; the person's calls only a block and the whole minute's limit.

        Args:
            calls: calls about to be made.
            background: background work (True) or the person's action.
            for_person: background calls that serve the person's work (follow-up checks).
            now: the current time.
        """
        now = self.clock() if now is None else now
        block = self.block(now)
        if block is not None:
            return block.until, Why.DAY_OVER if block.kind == "day" else Why.RATE_LIMITED
        limits = self.limits(now)
        if background:
            spare = self.spare_today(now, for_person=for_person)
            if spare is not None and spare < calls:
                return self._spare_again(calls, for_person, now), Why.RESERVE
        cap = (limits.plan.background_per_minute if background else limits.per_minute) if limits.plan else None
        if cap is not None:
            self._trim(now)
            allowed_before = max(0, cap - calls)  # calls already in the window that still leave room
            if len(self._recent) > allowed_before:
                # Wait until enough of the window's calls have aged out.
                oldest_blocking = self._recent[len(self._recent) - allowed_before - 1][0]
                return oldest_blocking + MINUTE_SECONDS + 0.01, Why.MINUTE_CAP
            rate = self._rate
            if (background and self._reading == Reading.MINUTE and rate is not None and rate.limit is not None
                    and rate.remaining is not None and rate.reset_at is not None
                    and 0 < rate.reset_at - now <= MINUTE_RESET_MAX
                    and rate.limit - rate.remaining + calls > cap):
                return rate.reset_at + BLOCK_MARGIN, Why.MINUTE_CAP
        return now, None

    def _spare_again(self, calls: int, for_person: bool, now: float) -> float:
        """When `calls` background calls fit again: when the allowance has flowed back enough,
        else at the reset."""
        day_end = self.day_ends_at(now)
        above_reserve = (self.remaining_today(now) or 0) - self.limits(now).reserve
        plan = self.limits(now).plan
        left = max(0, plan.allowance - self.person_work_today) if plan is not None and not for_person else 0
        if for_person or left <= 0 or above_reserve < calls:
            return day_end + BLOCK_MARGIN
        # allowance_left(t) = floor(left * (day_end - t) / RELEASE) <= above_reserve - calls
        at = day_end - ALLOWANCE_RELEASE * (above_reserve - calls + 1) / left
        return max(now, at) + 1.0

    def pacing(self, calls: int, *, active: bool = True, now: float | None = None) -> tuple[float, Why]:
        """Seconds between background polls of `calls` calls at today's rate, and why.

        Args:
            calls: calls one poll makes.
            active: whether the person is at the keyboard.
            now: the current time.
        """
        now = self.clock() if now is None else now
        calls = max(1, calls)
        delay, why = max(self.interval, 1.0), Why.FLOOR
        limits = self.limits(now)
        spare = self.spare_today(now)
        if spare is not None and spare > 0:
            paced = (self.day_ends_at(now) - now) / spare * calls
            if paced > delay:
                delay, why = paced, Why.PACED
        cap = limits.plan.background_per_minute if limits.plan else None
        if cap:
            spread = MINUTE_SECONDS * calls / cap
            if spread > delay:
                delay, why = spread, Why.MINUTE_CAP
        if not active:
            delay, why = max(delay * self.policy.away_factor, self.policy.away_min_interval), Why.AWAY
        return delay, why

    def next_poll(self, last_at: float | None, calls: int, *, active: bool = True, now: float | None = None) -> Next:
        """When the next background poll of `calls` calls may go.

        Args:
            last_at: when the last poll was made (None: never).
            calls: calls the poll makes.
            active: whether the person is at the keyboard.
            now: the current time.
        """
        now = self.clock() if now is None else now
        if self.interval <= 0:
            return Next(None, Why.OFF)
        delay, why = self.pacing(calls, active=active, now=now)
        at = max(now, (last_at if last_at is not None else now) + delay)
        held_until, held_by = self.earliest(calls, now=now)
        if held_by is not None and held_until > at:
            at, why = held_until, held_by
        return Next(at, why, delay)

    def has_spare(self, calls: int, calls_per_poll: int, *, now: float | None = None) -> bool:
        """Whether `calls` extra background calls (counts of other views) fit today beyond
        polling at the configured interval until the reset, and this minute allows them.

        Args:
            calls: the extra calls.
            calls_per_poll: calls one regular poll makes.
            now: the current time.
        """
        now = self.clock() if now is None else now
        if self.interval <= 0 or self.earliest(calls, now=now)[1] is not None:
            return False
        spare = self.spare_today(now)
        if spare is None:
            return True
        needed = (self.day_ends_at(now) - now) / max(self.interval, 1.0) * max(1, calls_per_poll)
        return spare - needed >= calls

    def estimate(self, calls: int, *, now: float | None = None) -> Estimate:
        """What a run of `calls` of the person's calls costs: time at the person's share of each
        minute, share of today's quota, and whether it fits today.

        Args:
            calls: the run's calls (one per task for approve/dismiss).
            now: the current time.
        """
        now = self.clock() if now is None else now
        limits = self.limits(now)
        per_minute = limits.plan.person_per_minute if limits.plan else None
        if per_minute:
            minutes = max(0, math.ceil(calls / per_minute) - 1)
            seconds = minutes * MINUTE_SECONDS + min(calls, per_minute) * CALL_SECONDS
        else:
            seconds = calls * CALL_SECONDS
        remaining = self.remaining_today(now)
        block = self.block(now)
        fits = (remaining is None or calls <= remaining) and not (block is not None and block.kind == "day")
        into_reserve = remaining is not None and remaining - calls < limits.reserve
        share = calls / limits.daily if limits.daily else None
        return Estimate(calls, seconds, per_minute, share, remaining, fits, into_reserve,
                        self.day_ends_at(now) if limits.daily else None)

    # -- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, int]:
        """Today's own count, to keep across a restart (it is all there is under minute headers)."""
        return {"day": self._day, "used": self.used_today}

    def restore(self, saved: object, *, now: float | None = None) -> bool:
        """Take back a count saved today by `snapshot` (ignored if it is another day's).

        Args:
            saved: what `snapshot` returned (read back from JSON).
            now: the current time.
        """
        now = self.clock() if now is None else now
        self._roll(now)
        if not isinstance(saved, dict):
            return False
        day, used = saved.get("day"), saved.get("used")
        if not isinstance(day, int) or not isinstance(used, int) or day != self._day or used < 0:
            return False
        self.used_today = max(self.used_today, used)
        return True

    # -- words ------------------------------------------------------------------------------

    def budget_text(self, now: float | None = None) -> str:
        """"63 calls left today" (or "about 63 … (counted here)"); "" when no quota is known."""
        now = self.clock() if now is None else now
        remaining = self.remaining_today(now)
        if remaining is None:
            return ""
        counted = self.limits(now).counted
        return f"{'about ' if counted else ''}{remaining} call{'s' if remaining != 1 else ''} left today"

    def plan_text(self, now: float | None = None) -> str:
        """The plan in force and what its limits are, in words."""
        now = self.clock() if now is None else now
        limits = self.limits(now)
        plan = limits.plan
        if plan is None:
            return "No rate limit is known: the server sends no X-RateLimit headers and no plan is configured"
        parts = []
        if plan.daily:
            parts.append(f"{plan.daily:,} calls a day")
        if plan.per_minute:
            parts.append(f"{plan.per_minute} a minute")
        name = plan.title if plan.name != "custom" else "A custom plan"
        text = f"{name} ({' and '.join(parts) or 'limits unknown'})"
        if limits.source == "headers":
            reading = {"daily": "describe the day", "minute": "describe the minute"}.get(limits.reading, "")
            text += f": the X-RateLimit headers {reading}" if reading else ""
            if self.configured is not None and self.configured.name != plan.name:
                text += f" (the config says {self.configured.title}; the headers win)"
        elif limits.source == "config":
            text += ": as configured; the server sends no X-RateLimit headers"
        if plan.name == "custom" and plan.daily and limits.reading == Reading.MINUTE and self.configured is None:
            text += f" (daily quota assumed: {STARTER_DAILY_PER_MINUTE} x the per-minute limit)"
        return text

    def help_text(self, calls_per_poll: int = 1, *, active: bool = True, now: float | None = None) -> str:
        """A paragraph for the help screen: the plan in force and how the budget is spent.

        Args:
            calls_per_poll: calls one poll makes now (the queue view, plus the open view).
            active: whether the person is at the keyboard.
            now: the current time.
        """
        now = self.clock() if now is None else now
        limits = self.limits(now)
        plan = limits.plan
        lines = [self.plan_text(now) + "."]
        if self.interval <= 0:
            lines.append("Live refresh is off (refresh_interval = 0): press r to refresh.")
            return " ".join(lines)
        if plan is None or (plan.daily is None and plan.per_minute is None):
            lines.append(f"Live refresh runs every {self.interval:g} s (refresh_interval).")
        if plan is not None and plan.daily:
            reset = self.day_ends_at(now)
            delay, _why = self.pacing(calls_per_poll, active=active, now=now)
            each = f"{calls_per_poll} call{'s' if calls_per_poll != 1 else ''} each"
            lines.append(
                f"{self.remaining_today(now)} calls are left until the daily reset at {clock_text(reset, now)} "
                f"(in {span_text(reset - now)}). {plan.reserve} are always kept for your own approvals, dismissals "
                f"and chat, and {self.allowance_left(now)} more are set aside for your work today (your calls and "
                "the checks on tasks you approved use them first; what is left flows back to live refresh in the "
                f"last 4 hours). Live refresh spreads the rest until the reset: one refresh every {span_text(delay)} "
                f"now ({each}).")
            if limits.counted:
                lines.append("The headers do not show the day, so this app counts its own calls: calls made "
                             "elsewhere with the same key are not seen.")
        if plan is not None and plan.background_per_minute:
            lines.append(f"Background work never makes more than {plan.background_per_minute} calls in any minute "
                         f"(you keep {plan.person_per_minute}) and never refreshes more often than every "
                         f"{self.interval:g} s (refresh_interval).")
        lines.append(
            f"While you are away (no key for a while, or the terminal lost focus) it refreshes "
            f"{self.policy.away_factor:g} times less often, at least {span_text(self.policy.away_min_interval)} apart, "
            "and once when you come back.")
        if plan is not None:
            lines.append(
                "A 429 while calls remain today is this minute's limit: refresh waits about a minute. When today's "
                "calls are used up the header says so until the reset. r refreshes now (it spends a call) unless "
                "the day's quota is used up.")
        else:
            lines.append("r refreshes now.")
        return " ".join(lines)


# -- formatting -------------------------------------------------------------------------------


def clock_text(at: float, now: float) -> str:
    """A time of day in the person's local time: "14:05", "14:05:09" within two minutes,
    "tomorrow 01:00" or "Tue 01:00" on another day.

    Args:
        at: the time to show (Unix seconds).
        now: the current time, to choose the precision and the day.
    """
    there, here = time.localtime(at), time.localtime(now)
    text = time.strftime("%H:%M:%S" if abs(at - now) < 120 else "%H:%M", there)
    if (there.tm_year, there.tm_yday) != (here.tm_year, here.tm_yday):
        tomorrow = time.localtime(now + DAY_SECONDS)
        same_as_tomorrow = (there.tm_year, there.tm_yday) == (tomorrow.tm_year, tomorrow.tm_yday)
        text = ("tomorrow " if same_as_tomorrow else time.strftime("%a ", there)) + text
    return text


def span_text(seconds: float) -> str:
    """A duration in words: "42 s" (up to two minutes, so a countdown moves), "4 min", "3 h 12 min".

    Args:
        seconds: the duration (negative counts as 0).
    """
    seconds = max(0.0, seconds)
    if seconds < 119.5:
        return f"{max(0, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


# -- the budget as it was (the current screen and `lexi-tui watch` still use it) ------------------

WINDOW_SECONDS = 60.0
"""Lexi's limits are per minute; the headers give the count, not the window's length."""


@dataclass(frozen=True, slots=True)
class RefreshBudget:
    """The refresh policy before the planner: a configured interval, bounded by a per-minute
    reading of the headers. Kept only until the screen hosts `lexi_tui.core.refresh`: it reads
    a daily Limit as per-minute, which spends a Starter day in 20-25 minutes (issue 12)."""

    interval: float
    """The configured seconds between refreshes; 0 turns live refresh off."""
    share: float = 0.5
    window: float = WINDOW_SECONDS

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def reserve(self, limit: int) -> int:
        """Calls kept back for the user's own actions."""
        return max(2, math.ceil(limit * (1 - self.share) * 0.6))

    def delay(self, rate: RateLimit | None, calls: int = 1, now: float | None = None) -> float:
        """Seconds to wait before the next background refresh that will make `calls` calls."""
        base = max(self.interval, 1.0)
        if rate is None or not rate.limit:
            return base
        now = time.time() if now is None else now
        per_call = self.window / max(1.0, rate.limit * self.share)
        base = max(base, per_call * max(1, calls))
        if rate.remaining is not None and rate.remaining - calls < self.reserve(rate.limit):
            wait = rate.seconds_until_reset(now)
            if wait is not None:
                base = max(base, wait + 0.5)
        return base

    def describe(self, rate: RateLimit | None) -> str:
        """One line for the help screen and the README: how the budget is spent now."""
        if not self.enabled:
            return "Live refresh is off (refresh_interval = 0); press r to refresh."
        if rate is None or not rate.limit:
            return f"Refreshing every {self.interval:g} s; the server reports no rate limit."
        every = max(self.interval, self.window / max(1.0, rate.limit * self.share))
        return (
            f"Limit {rate.limit}/min: background refresh every {every:g} s at most, "
            f"pausing when fewer than {self.reserve(rate.limit)} calls remain."
        )


def rate_limited_advice(error: errors.RateLimitedError, now: float | None = None) -> str:
    """When to try again after a 429, under every reading of the rate-limit headers.

    The server's Retry-After when it sent one; else a reset within two minutes is this
    minute's window ("Try again in 40 s"); nothing left and a reset hours away is the day
    ("No calls left until 01:00 (in 3 h 12 min)"); otherwise calls remain today, so it is
    this minute's limit: about a minute (never "until midnight").

    Args:
        error: the 429 as the client raised it (its Retry-After and rate-limit headers).
        now: Unix time (default: the wall clock).
    """
    now = time.time() if now is None else now
    if error.retry_after is not None:
        return f"Try again in {error.retry_after:.0f} s."
    rate = error.rate_limit
    wait = rate.seconds_until_reset(now) if rate is not None else None
    if wait is not None and wait <= 120:
        return f"Try again in {max(1.0, wait):.0f} s."
    if rate is not None and rate.remaining == 0 and rate.reset_at is not None:
        hours, minutes = divmod(int((rate.reset_at - now) // 60), 60)
        span = f"{hours} h {minutes} min" if hours else f"{minutes} min"
        return f"No calls left until {datetime.fromtimestamp(rate.reset_at):%H:%M} (in {span})."
    return "Try again in about a minute."
