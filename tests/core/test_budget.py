"""The refresh planner's arithmetic with an injected clock, under each header reading.

Tables: (remaining, seconds to reset, plan) → the next background delay; 429s → "this minute" or
"the day is over"; estimates for bulk runs. The legacy `RefreshBudget` (still used by the current
screen and `lexi-tui watch` until they host the engine) keeps its own tests at the end.
"""

from __future__ import annotations

import math

import pytest

from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.budget import (
    DAY_SECONDS,
    Planner,
    Reading,
    RefreshBudget,
    Why,
    clock_text,
    span_text,
)
from lexi_tui.core.plans import PRO, STARTER, Plan, plan_named, plan_with_daily_limit, plan_with_minute_limit

NOW = 1_772_445_600.0  # 2026-03-02 10:00:00 UTC
MIDNIGHT = (math.floor(NOW / DAY_SECONDS) + 1) * DAY_SECONDS  # 14 h away


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.t = now

    def __call__(self) -> float:
        return self.t


def daily(limit: int, remaining: int, reset_in: float, now: float = NOW) -> RateLimit:
    return RateLimit(limit=limit, remaining=remaining, reset_at=now + reset_in, observed_at=now)


def minute(limit: int, remaining: int, reset_in: float = 40.0, now: float = NOW) -> RateLimit:
    return RateLimit(limit=limit, remaining=remaining, reset_at=now + reset_in, observed_at=now)


def planner(interval: float = 15.0, plan: str | Plan | None = None, **kwargs: object) -> Planner:
    return Planner(interval, plan, clock=FakeClock(), **kwargs)  # type: ignore[arg-type]


# -- the plan table ------------------------------------------------------------------------------


def test_the_plan_table_and_its_lookups() -> None:
    assert (STARTER.daily, STARTER.per_minute, STARTER.reserve, STARTER.background_per_minute) == (100, 10, 20, 4)
    assert STARTER.person_per_minute == 6 and PRO.person_per_minute == 30
    assert plan_named(" Pro ") is PRO and plan_named("gold") is None and plan_named(None) is None
    assert plan_with_daily_limit(1000) is PRO and plan_with_daily_limit(10) is None
    assert plan_with_minute_limit(10) is STARTER and plan_with_minute_limit(100) is None
    custom = Plan.custom(500, 25)
    assert (custom.daily, custom.per_minute, custom.reserve, custom.allowance, custom.background_per_minute) == (
        500, 25, 100, 150, 10)


# -- daily headers ---------------------------------------------------------------------------------

DAILY_TABLE = [
    # limit, remaining, seconds to reset, calls per poll → delay, why. Spare calls = remaining -
    # reserve (Starter 20, Pro 100) - what is left of the allowance (30, 200; it flows back over
    # the last 4 hours).
    (100, 100, 86_400, 1, 86_400 / 50, Why.PACED),            # a fresh Starter day: every 29 min
    (100, 63, 4 * 3600, 1, 4 * 3600 / 13, Why.PACED),         # "63 calls left", 4 h to go
    (100, 63, 4 * 3600, 2, 2 * 4 * 3600 / 13, Why.PACED),     # queue + open view: twice as long
    (100, 40, 3600, 1, 3600 / 13, Why.PACED),                 # 1 h left: 7 of the allowance still held
    (100, 100, 600, 2, 30.0, Why.MINUTE_CAP),                 # 10 min left, plenty: 4 calls a minute at most
    (1000, 1000, 86_400, 1, 86_400 / 700, Why.PACED),         # a fresh Pro day: every 2 min
    (1000, 500, 3600, 1, 15.0, Why.FLOOR),                    # Pro, plenty left: the configured interval
    (1000, 500, 3600, 2, 2 * 3600 / 350, Why.PACED),
    (10_000, 10_000, 86_400, 1, 15.0, Why.FLOOR),             # Org: 8,000 spare calls, 15 s wins
]


@pytest.mark.parametrize(("limit", "remaining", "reset_in", "calls", "delay", "why"), DAILY_TABLE)
def test_daily_headers_spread_the_rest_of_the_day(limit: int, remaining: int, reset_in: float, calls: int,
                                                   delay: float, why: Why) -> None:
    p = planner()
    p.record(200, daily(limit, remaining, reset_in), background=True, at=NOW)
    assert p.reading == Reading.DAILY
    assert p.remaining_today(NOW) == remaining
    got, got_why = p.pacing(calls, now=NOW)
    assert got == pytest.approx(delay) and got_why == why


def test_daily_headers_name_the_plan_and_so_its_minute_limit() -> None:
    p = planner(plan="pro")  # The config says Pro; the headers say Starter: the headers win.
    p.record(200, daily(100, 90, 3600), background=True, at=NOW)
    limits = p.limits(NOW)
    assert limits.plan is STARTER and limits.source == "headers" and not limits.counted
    assert "the config says Pro" in p.plan_text(NOW)


def test_the_reserve_stops_background_polling_until_the_reset() -> None:
    p = planner()
    p.record(200, daily(100, 20, 5 * 3600), background=True, at=NOW)
    upcoming = p.next_poll(NOW, 1, now=NOW)
    assert upcoming.why == Why.RESERVE and upcoming.at == pytest.approx(NOW + 5 * 3600 + 1)
    # The person's own calls are not held by the reserve.
    assert p.earliest(1, background=False, now=NOW) == (NOW, None)


def test_the_persons_work_uses_the_allowance_first() -> None:
    p = planner()
    p.record(200, daily(100, 80, 10 * 3600), background=True, at=NOW)
    assert p.spare_today(NOW) == 80 - 20 - 30
    for n in range(10):  # Ten approvals, and their follow-up checks (background, for the person).
        p.record(200, daily(100, 79 - 2 * n, 10 * 3600), background=False, at=NOW + n)
        p.record(200, daily(100, 78 - 2 * n, 10 * 3600), background=True, for_person=True, at=NOW + n)
    assert p.person_work_today == 20 and p.remaining_today(NOW + 10) == 60
    assert p.spare_today(NOW + 10) == 60 - 20 - 10  # Live refresh lost nothing to the person's work.
    assert p.spare_today(NOW + 10, for_person=True) == 40
    # In the last 4 hours what is left of the allowance flows back: at 2 h to go, half of it.
    assert p.allowance_left(NOW + 8 * 3600) == 5


def test_without_spare_calls_live_refresh_resumes_when_the_allowance_flows_back() -> None:
    p = planner()
    day_end = NOW + 10 * 3600
    p.record(200, daily(100, 45, 10 * 3600), background=True, at=NOW)
    assert p.spare_today(NOW) == -5
    at, why = p.earliest(1, now=NOW)
    # allowance_left(t) = floor(30 x (day_end - t) / 4 h) must drop to 45 - 20 - 1 = 24.
    assert why == Why.RESERVE and at == pytest.approx(day_end - 4 * 3600 * 25 / 30 + 1)
    assert p.spare_today(at) >= 1 and p.spare_today(at - 120) < 1  # type: ignore[operator]
    # Follow-up checks may use the allowance.
    assert p.earliest(1, for_person=True, now=NOW) == (NOW, None)


def test_background_never_takes_more_than_its_share_of_a_minute() -> None:
    p = planner(interval=1)
    for n in range(4):  # Four calls (anyone's) in the last minute: Starter's background share is spent.
        p.record(200, daily(100, 90 - n, 3600), background=n % 2 == 0, at=NOW + n)
    at, why = p.earliest(1, now=NOW + 10)
    assert why == Why.MINUTE_CAP and at == pytest.approx(NOW + 60.01)
    assert p.earliest(1, background=False, now=NOW + 10) == (NOW + 10, None)  # The person still has 6.
    assert p.earliest(1, now=NOW + 61) == (NOW + 61, None)


def test_a_custom_daily_limit_is_a_custom_plan_with_the_cautious_minute() -> None:
    p = planner()
    p.record(200, daily(500, 400, 6 * 3600), background=True, at=NOW)
    limits = p.limits(NOW)
    assert limits.reading == Reading.DAILY and limits.plan is not None
    assert (limits.daily, limits.per_minute, limits.reserve) == (500, 10, 100)


def test_a_new_day_without_a_response_counts_from_the_full_quota() -> None:
    p = planner()
    before = MIDNIGHT - 60
    p.record(200, daily(100, 0, 60, now=before), background=True, at=before)
    block = p.block(before + 1)
    assert block is not None and block.kind == "day" and block.until == pytest.approx(MIDNIGHT + 1)
    later = MIDNIGHT + 60
    assert p.block(later) is None and p.remaining_today(later) == 100


# -- minute headers: the day is invisible, the planner counts -----------------------------------------

MINUTE_TABLE = [
    # per-minute limit, configured plan, calls already counted today → daily limit, remaining
    (10, None, 37, 100, 63),     # Limit 10 is Starter's minute: Starter's day
    (50, None, 100, 1000, 900),  # Limit 50 is Pro's
    (10, "pro", 37, 100, 63),    # the headers win over the config
    (20, "pro", 0, 1000, 1000),  # no plan has 20 a minute: the configured plan's day
    (20, None, 0, 200, 200),     # nothing known: 10 x the minute (Starter's ratio)
]


@pytest.mark.parametrize(("limit", "configured", "used", "daily_limit", "remaining"), MINUTE_TABLE)
def test_minute_headers_count_the_day(limit: int, configured: str | None, used: int, daily_limit: int,
                                      remaining: int) -> None:
    p = planner(plan=configured)
    for n in range(used):
        p.record(200, minute(limit, limit - 1), background=n % 3 == 0, at=NOW - 3600 + n)
    p.record(200, minute(limit, limit - 1), background=True, at=NOW)
    p.used_today -= 1  # The last one was only there to set the reading.
    limits = p.limits(NOW)
    assert limits.reading == Reading.MINUTE and limits.counted
    assert limits.daily == daily_limit and p.remaining_today(NOW) == remaining
    assert p.budget_text(NOW) == f"about {remaining} calls left today"
    assert p.allowance_left(NOW) == max(0, limits.plan.allowance - p.person_work_today)  # type: ignore[union-attr]
    expected = max(15.0, (MIDNIGHT - NOW) / (remaining - limits.reserve - p.allowance_left(NOW)))
    assert p.pacing(1, now=NOW)[0] == pytest.approx(expected)


def test_minute_headers_under_a_full_minute_hold_background_until_the_reset() -> None:
    p = planner(interval=1)
    p.record(200, minute(10, 6, reset_in=30), background=False, at=NOW)  # 4 used this minute
    at, why = p.earliest(1, now=NOW)
    assert why == Why.MINUTE_CAP and at == pytest.approx(NOW + 31)


def test_no_headers_use_the_configured_plan_else_the_interval() -> None:
    p = planner(plan="starter")
    p.record(200, None, background=True, at=NOW)
    assert p.limits(NOW).source == "config" and p.remaining_today(NOW) == 99
    bare = planner(interval=7)
    bare.record(200, None, background=True, at=NOW)
    assert bare.limits(NOW).plan is None and bare.remaining_today(NOW) is None
    assert bare.pacing(1, now=NOW) == (7.0, Why.FLOOR)
    assert bare.next_poll(NOW, 1, now=NOW).at == NOW + 7
    assert planner(interval=0).next_poll(NOW, 1, now=NOW).why == Why.OFF


# -- the person away -------------------------------------------------------------------------------


def test_away_polls_four_times_less_often_and_at_most_every_five_minutes() -> None:
    p = planner()
    p.record(200, daily(100, 100, 86_400), background=True, at=NOW)
    assert p.pacing(1, active=False, now=NOW) == (pytest.approx(4 * 1728.0), Why.AWAY)
    pro = planner()
    pro.record(200, daily(1000, 500, 3600), background=True, at=NOW)
    assert pro.pacing(1, active=False, now=NOW) == (300.0, Why.AWAY)


# -- 429s ------------------------------------------------------------------------------------------

RATE_LIMITED_TABLE = [
    # headers on the 429, Retry-After (None: not sent) → kind, seconds until calls may go
    ("daily 40 left", daily(100, 40, 5 * 3600), None, "minute", 61.0),
    ("daily 0 left", daily(100, 0, 5 * 3600), None, "day", 5 * 3600 + 1.0),
    ("daily, Retry-After 20", daily(100, 40, 5 * 3600), 20.0, "minute", 21.0),
    ("minute 0 left", minute(10, 0, reset_in=25), None, "minute", 26.0),
    ("minute 3 left", minute(10, 3, reset_in=25), None, "day", MIDNIGHT - NOW + 1.0),
    ("none, Retry-After 2 h", None, 7200.0, "day", 7201.0),
    ("none, nothing said", None, None, "minute", 61.0),
]


@pytest.mark.parametrize(("rate", "retry_after", "kind", "wait"), [row[1:] for row in RATE_LIMITED_TABLE],
                         ids=[row[0] for row in RATE_LIMITED_TABLE])
def test_a_429_is_this_minute_or_the_day(rate: RateLimit | None, retry_after: float | None, kind: str,
                                         wait: float) -> None:
    p = planner()
    p.record(200, rate, background=True, at=NOW - 1)
    if rate is not None:
        p._observe_rate(rate, NOW)
    block = p.rate_limited(rate, retry_after, at=NOW)
    assert block.kind == kind and block.until == pytest.approx(NOW + wait)
    assert p.block(NOW + wait - 2) is block and p.block(NOW + wait + 0.1) is not block


def test_a_429_heard_by_the_listener_then_its_retry_after() -> None:
    p = planner()
    block = p.record(429, daily(100, 40, 5 * 3600), background=False, at=NOW)
    assert block is not None and block.kind == "minute" and block.until == pytest.approx(NOW + 61)
    refined = p.refine_retry_after(12.0, at=NOW)
    assert refined is not None and refined.until == pytest.approx(NOW + 13)
    assert p.used_today == 0 and p.rate_limited_today == 1  # A 429 costs no quota (assumed).


def test_repeated_minute_429s_wait_longer_and_a_good_answer_clears_them() -> None:
    p = planner()
    rate = daily(100, 40, 5 * 3600)
    waits = [p.record(429, rate, background=True, at=NOW + 200 * n).until - (NOW + 200 * n)  # type: ignore[union-attr]
             for n in range(6)]
    assert waits == pytest.approx([61, 121, 181, 241, 301, 301])
    p.record(200, rate, background=True, at=NOW + 1300)
    assert p.block(NOW + 1300) is None
    assert p.record(429, rate, background=True, at=NOW + 1400).until == pytest.approx(NOW + 1461)  # type: ignore[union-attr]


def test_the_count_says_the_day_is_spent() -> None:
    p = planner(plan="starter")
    for n in range(100):
        p.record(200, None, background=False, at=NOW - 1000 + n)
    block = p.block(NOW)
    assert block is not None and block.kind == "day" and block.counted
    assert block.until == pytest.approx(MIDNIGHT + 1)
    assert p.earliest(1, background=False, now=NOW) == (block.until, Why.DAY_OVER)


# -- estimates for bulk runs and rules ----------------------------------------------------------------

ESTIMATE_TABLE = [
    # remaining, calls → seconds, share of today, fits, into reserve
    (63, 6, 6 * 0.3, 0.06, True, False),
    (63, 40, 6 * 60 + 6 * 0.3, 0.40, True, False),
    (63, 50, 8 * 60 + 6 * 0.3, 0.50, True, True),
    (63, 70, 11 * 60 + 6 * 0.3, 0.70, False, True),
]


@pytest.mark.parametrize(("remaining", "calls", "seconds", "share", "fits", "into_reserve"), ESTIMATE_TABLE)
def test_estimate_a_run(remaining: int, calls: int, seconds: float, share: float, fits: bool,
                        into_reserve: bool) -> None:
    p = planner()
    p.record(200, daily(100, remaining, 4 * 3600), background=True, at=NOW)
    estimate = p.estimate(calls, now=NOW)
    assert estimate.seconds == pytest.approx(seconds) and estimate.per_minute == 6
    assert estimate.share_of_today == pytest.approx(share)
    assert (estimate.fits, estimate.into_reserve) == (fits, into_reserve)
    text = estimate.describe(NOW)
    assert (("does not fit" in text) is not fits) and f"{calls} calls" in text


def test_an_estimate_with_no_limit_known() -> None:
    estimate = planner().estimate(10, now=NOW)
    assert estimate.fits and estimate.share_of_today is None and estimate.seconds == pytest.approx(3.0)


# -- spare calls for counts, persistence, words ---------------------------------------------------------


def test_spare_calls_for_counts_only_beyond_polling_at_the_interval() -> None:
    starter = planner()
    starter.record(200, daily(100, 100, 3600), background=True, at=NOW)
    assert not starter.has_spare(1, 1, now=NOW)  # 80 spare, polling at 15 s for an hour needs 240.
    org = planner(interval=60)
    org.record(200, daily(10_000, 9_000, 3600), background=True, at=NOW)
    assert org.has_spare(1, 2, now=NOW)
    assert planner(interval=15).has_spare(1, 1, now=NOW)  # No limit known at all.


def test_the_count_survives_a_restart_the_same_day_only() -> None:
    p = planner(plan="starter")
    for n in range(30):
        p.record(200, None, background=True, at=NOW + n)
    saved = p.snapshot()
    again = planner(plan="starter")
    assert again.restore(saved, now=NOW + 100) and again.remaining_today(NOW + 100) == 70
    tomorrow = planner(plan="starter")
    assert not tomorrow.restore(saved, now=NOW + DAY_SECONDS)
    assert not planner().restore({"day": "x"}, now=NOW)


def test_words_for_the_screen_and_the_help() -> None:
    assert span_text(42) == "42 s" and span_text(240) == "4 min" and span_text(3 * 3600 + 12 * 60) == "3 h 12 min"
    assert span_text(-5) == "0 s"
    assert len(clock_text(NOW + 30, NOW)) == 8 and len(clock_text(NOW + 600, NOW)) == 5
    p = planner()
    p.record(200, daily(100, 63, 4 * 3600), background=True, at=NOW)
    assert p.budget_text(NOW) == "63 calls left today"
    text = p.help_text(1, now=NOW)
    assert "Starter (100 calls a day and 10 a minute)" in text and "the X-RateLimit headers describe the day" in text
    assert "63 calls are left until the daily reset" in text
    assert "20 are always kept" in text and "30 more are set aside" in text
    assert "(you keep 6)" in text and "every 15 s" in text
    assert "counts its own calls" not in text
    counted = planner(plan="starter")
    assert "counts its own calls" in counted.help_text(1, now=NOW)
    assert "off" in planner(interval=0).help_text(1, now=NOW)


def test_chamelio_has_no_daily_quota() -> None:
    p = planner(daily_quota=False)
    p.record(200, minute(60, 59, reset_in=30), background=True, at=NOW)
    limits = p.limits(NOW)
    assert limits.daily is None and limits.per_minute == 60 and p.remaining_today(NOW) is None
    assert p.pacing(1, now=NOW) == (15.0, Why.FLOOR)


# -- the legacy budget (until the screen hosts the engine) ----------------------------------------------


def rate(limit: int, remaining: int, reset_in: float = 30.0) -> RateLimit:
    return RateLimit(limit=limit, remaining=remaining, reset_at=NOW + reset_in, observed_at=NOW)


def test_legacy_starter_plan_polls_at_most_every_12_seconds() -> None:
    budget = RefreshBudget(interval=5)
    assert budget.delay(rate(10, 9), now=NOW) == 12.0
    assert budget.delay(rate(10, 9), calls=2, now=NOW) == 24.0


def test_legacy_a_longer_configured_interval_wins() -> None:
    assert RefreshBudget(interval=30).delay(rate(50, 40), now=NOW) == 30.0
    assert RefreshBudget(interval=1).delay(rate(50, 40), now=NOW) == 2.4


def test_legacy_polling_pauses_until_reset_when_the_reserve_is_reached() -> None:
    budget = RefreshBudget(interval=5)
    assert budget.reserve(10) == 3
    assert budget.delay(rate(10, 3, reset_in=40), now=NOW) == 40.5
    assert budget.delay(rate(10, 4, reset_in=40), now=NOW) == 12.0


def test_legacy_no_rate_limit_headers_means_the_configured_interval() -> None:
    assert RefreshBudget(interval=7).delay(None) == 7
    assert not RefreshBudget(interval=0).enabled
    assert "off" in RefreshBudget(interval=0).describe(None)


def test_reset_header_as_seconds_or_epoch() -> None:
    epoch = RateLimit.from_headers({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "4", "x-ratelimit-reset": str(int(NOW + 20))}, now=NOW)
    relative = RateLimit.from_headers({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "4", "x-ratelimit-reset": "20"}, now=NOW)
    assert epoch is not None and relative is not None
    assert epoch.seconds_until_reset(NOW) == relative.seconds_until_reset(NOW) == 20
    assert RateLimit.from_headers({}, now=NOW) is None
    # Unparseable headers are no information, not a crash.
    assert RateLimit.from_headers({"x-ratelimit-limit": "ten", "x-ratelimit-remaining": ""}, now=NOW) is None


# -- what the person is told after a 429 ------------------------------------------------------


def test_the_advice_after_a_429_fits_every_reading_of_the_headers() -> None:
    from lexi_tui.api import errors
    from lexi_tui.api.ratelimit import RateLimit
    from lexi_tui.core.budget import rate_limited_advice

    now = 1_796_000_000.0

    def refused(rate: RateLimit | None, retry_after: float | None = None) -> errors.RateLimitedError:
        return errors.RateLimitedError("Rate limit exceeded", status=429, retry_after=retry_after, rate_limit=rate)

    assert rate_limited_advice(refused(None, retry_after=30), now) == "Try again in 30 s."  # Retry-After, if sent.
    minute = RateLimit(10, 0, now + 40, now)  # Headers of the minute.
    assert rate_limited_advice(refused(minute), now) == "Try again in 40 s."
    day = RateLimit(100, 0, now + 3 * 3600 + 12 * 60, now)  # Headers of the day, nothing left.
    assert rate_limited_advice(refused(day), now).startswith("No calls left until ")
    assert rate_limited_advice(refused(day), now).endswith("(in 3 h 12 min).")
    left_today = RateLimit(100, 57, now + 5 * 3600, now)  # Calls left today: this minute's limit.
    assert rate_limited_advice(refused(left_today), now) == "Try again in about a minute."
    assert rate_limited_advice(refused(None), now) == "Try again in about a minute."
