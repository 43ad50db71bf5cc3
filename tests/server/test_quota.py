"""Daily quota and per-minute limit together (issue 12): plans, which window the headers describe,
Retry-After only on request, 429s that cost nothing, the scaled clock, and /_admin/ratelimit."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from lexi_tui.server import ServerOptions
from lexi_tui.server.clock import DAY_SECONDS, ScaledClock, next_midnight
from lexi_tui.server.keys import mask_key
from lexi_tui.server.options import PLAN_RATE_LIMITS
from lexi_tui.server.ratelimit import RateLimiter

from .conftest import KEY, KEY2, NO_LEXI_KEY, admin_client, admin_get, admin_post, auth

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
RATE_LIMITED = {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}}


def tasks(server, key: str = KEY) -> httpx.Response:
    return admin_client().get(f"{server.base_url}/v1/lexi/tasks", headers=auth(key))


def headers_of(response: httpx.Response) -> tuple[int, int, int]:
    return tuple(int(response.headers[name]) for name in RATE_HEADERS)  # type: ignore[return-value]


def key_counters(server, key: str = KEY) -> dict:
    return next(k for k in admin_get(server, "/ratelimit")["keys"] if k["key"] == mask_key(key))


# -- the plan table and options -----------------------------------------------------------------


def test_plans_are_the_documented_table() -> None:
    table = {name: (limits.daily, limits.per_minute) for name, limits in PLAN_RATE_LIMITS.items()}
    assert table == {"starter": (100, 10), "pro": (1_000, 50), "org": (10_000, 200)}
    for name, (daily, minute) in table.items():
        options = ServerOptions(plan=name)
        assert (options.effective_daily_limit, options.effective_rate_limit) == (daily, minute)
    overridden = ServerOptions(plan="pro", daily_limit=5, rate_limit=0)
    assert (overridden.effective_daily_limit, overridden.effective_rate_limit) == (5, 0)
    assert (ServerOptions().effective_daily_limit, ServerOptions().effective_rate_limit) == (0, 0)
    assert ServerOptions(rate_limit=7).effective_rate_limit == 7 and ServerOptions(rate_limit=7).effective_daily_limit == 0


@pytest.mark.parametrize("overrides", [
    {"plan": "enterprise"}, {"daily_limit": -1}, {"rate_limit": -2}, {"rate_headers": "hourly"},
    {"time_scale": 0}, {"time_scale": -3.0}, {"time_scale": float("nan")}, {"time_scale": float("inf")},
    {"credits": -1}, {"max_body": -5}, {"daily_limit": True},
])
def test_invalid_limit_options_are_rejected(overrides) -> None:
    with pytest.raises(ValueError):
        ServerOptions(**overrides)


# -- headers, 429s, Retry-After ---------------------------------------------------------------------


def test_plan_headers_describe_the_daily_window_ending_at_midnight_utc(make_server) -> None:
    server = make_server(plan="pro")
    before = time.time()
    first, second = tasks(server), tasks(server)
    assert first.status_code == second.status_code == 200
    limit, remaining, reset = headers_of(first)
    assert (limit, remaining) == (1_000, 999) and headers_of(second)[1] == 998
    assert reset % 86_400 == 0, "Reset is a midnight UTC, as in the docs' example (1708905600)"
    assert reset == next_midnight(before) or reset == next_midnight(time.time())
    assert "retry-after" not in first.headers


def test_a_minute_429_keeps_telling_the_day_has_calls_left(make_server) -> None:
    server = make_server(plan="starter")  # 100/day, 10/minute
    answers = [tasks(server) for _ in range(10)]
    assert [r.status_code for r in answers] == [200] * 10
    assert [headers_of(r)[1] for r in answers] == list(range(99, 89, -1))
    for _ in range(3):
        refused = tasks(server)
        assert refused.status_code == 429 and refused.json() == RATE_LIMITED
        limit, remaining, reset = headers_of(refused)
        assert (limit, remaining) == (100, 90), "daily headers: calls remain today, so this was the minute"
        assert reset % 86_400 == 0
        assert "retry-after" not in refused.headers
    counters = key_counters(server)
    assert (counters["used_today"], counters["used_this_minute"]) == (10, 10)  # the 429s consumed nothing
    assert (counters["daily_limit"], counters["minute_limit"]) == (100, 10)
    assert tasks(server, KEY2).status_code == 200  # another key has its own budgets
    stats = admin_get(server, "/stats")
    assert stats["rate_limited"] == 3 and stats["rate_limited_by_key"] == {mask_key(KEY): 3}


def test_minute_headers_when_asked(make_server) -> None:
    server = make_server(plan="starter", rate_headers="minute")
    started = time.time()
    answers = [tasks(server) for _ in range(10)]
    assert [headers_of(r)[:2] for r in answers] == [(10, n) for n in range(9, -1, -1)]
    reset = headers_of(answers[0])[2]
    assert math.ceil(started) + 59 <= reset <= math.ceil(time.time()) + 60
    refused = tasks(server)
    assert refused.status_code == 429 and headers_of(refused) == (10, 0, reset)


def test_the_day_is_over_with_zero_remaining_and_retry_after_until_midnight(make_server) -> None:
    server = make_server(plan="starter", retry_after=True)
    admin_post(server, "/ratelimit", {"key_suffix": KEY[-4:], "used_today": 98})  # "only 2 calls left today"
    assert [headers_of(tasks(server))[1] for _ in range(2)] == [1, 0]
    refused = tasks(server)
    assert refused.status_code == 429 and refused.json() == RATE_LIMITED
    limit, remaining, reset = headers_of(refused)
    assert (limit, remaining) == (100, 0) and reset % 86_400 == 0
    wait = int(refused.headers["retry-after"])
    assert abs(wait - (reset - time.time())) <= 2, "Retry-After counts down to the window that refused: the day"
    assert key_counters(server)["used_today"] == 100


def test_retry_after_names_the_minute_when_the_minute_refused(make_server) -> None:
    server = make_server(plan="pro", rate_limit=2, retry_after=True)
    assert [tasks(server).status_code for _ in range(2)] == [200, 200]
    refused = tasks(server)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60  # the minute, not the ~hours to midnight
    assert headers_of(refused)[:2] == (1_000, 998)
    assert "retry-after" not in tasks(server, KEY2).headers  # only refused calls carry it


def test_without_a_plan_only_the_window_given_applies(make_server) -> None:
    daily_only = make_server(daily_limit=3)
    assert [headers_of(tasks(daily_only))[:2] for _ in range(3)] == [(3, 2), (3, 1), (3, 0)]
    assert tasks(daily_only).status_code == 429
    assert headers_of(tasks(daily_only))[2] % 86_400 == 0
    off = make_server(plan="org", daily_limit=0, rate_limit=0)
    response = tasks(off)
    assert response.status_code == 200 and not any(h in response.headers for h in RATE_HEADERS)
    assert key_counters(off)["used_today"] == 1  # still counted, for the admin view


def test_403_keys_spend_budget_but_401s_do_not(make_server) -> None:
    server = make_server(plan="starter")
    assert tasks(server, NO_LEXI_KEY).status_code == 403
    assert tasks(server, "wbk_unknown_0000000000000009").status_code == 401
    assert key_counters(server, NO_LEXI_KEY)["used_today"] == 1
    assert key_counters(server)["used_today"] == 0


def test_chamelio_keeps_its_own_limit_headers_and_retry_after(make_server) -> None:
    server = make_server(chamelio_rate_limit=1, chamelio_seed_workflows=1, plan="starter")
    with httpx.Client(base_url=server.root_url + "/chamelio", headers={"X-API-Key": "ca_demo_0000000000000000"}) as c:
        assert c.get("/tasks/1001").status_code == 200
        refused = c.get("/tasks/1001")
    assert refused.status_code == 429 and refused.json() == {"detail": "Rate limit exceeded"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60 and refused.headers["x-ratelimit-limit"] == "1"
    assert key_counters(server)["used_today"] == 0  # the faces' budgets are separate


# -- the scaled clock ---------------------------------------------------------------------------------


class FakeTime:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_clock_maps_virtual_boundaries_back_to_real_time() -> None:
    fake = FakeTime(1_708_900_000.0)
    clock = ScaledClock(1_000.0, real=fake)
    assert clock.virtual() == fake.now
    fake.now += 3.0
    assert clock.virtual() == pytest.approx(1_708_900_000.0 + 3_000.0)
    midnight = 1_708_905_600.0  # the docs' Reset example
    assert clock.real_at(midnight) == pytest.approx(1_708_900_000.0 + 5.6)
    assert clock.real_seconds(60) == pytest.approx(0.06)
    assert ScaledClock(1.0, real=fake).real_at(midnight) == midnight  # exact without scaling


def test_daily_window_rolls_over_at_virtual_midnight_not_24h_after_first_call() -> None:
    fake = FakeTime(1_708_905_600.0 - 10.0)  # 23:59:50 UTC
    limiter = RateLimiter(0, 60.0, daily_limit=2, clock=ScaledClock(10.0, real=fake))
    first = limiter.check("k")
    assert first.allowed and first.remaining == 1
    assert first.reset_epoch == math.ceil(fake.now + 1.0)  # 10 virtual seconds at K=10: one real second
    limiter.check("k")
    refused = limiter.check("k")
    assert not refused.allowed and refused.refused_by == ("daily",) and refused.retry_after == 1
    fake.now += 1.0 + 1e-3  # just past the virtual midnight
    after = limiter.check("k")
    assert after.allowed and after.remaining == 1
    assert after.described is not None and after.described.ends_at == pytest.approx(fake.now - 1e-3 + DAY_SECONDS / 10)


def test_minute_window_is_scaled_too() -> None:
    fake = FakeTime(1_000_000.0)
    limiter = RateLimiter(1, 60.0, clock=ScaledClock(60.0, real=fake))
    assert limiter.check("k").allowed
    refused = limiter.check("k")
    assert not refused.allowed and refused.refused_by == ("minute",)
    assert refused.reset_epoch == math.ceil(1_000_001.0)  # 60 virtual seconds = 1 real second
    fake.now += 1.0
    assert limiter.check("k").allowed


def _seconds_to_virtual_midnight(server) -> float:
    clock = admin_get(server, "/ratelimit")["clock"]
    return (next_midnight(clock["virtual_now"]) - clock["virtual_now"]) / clock["time_scale"]


@pytest.mark.slow
def test_a_compressed_day_over_http(make_server) -> None:
    """With K = 43,200 a day lasts 2 s: use up the day, wait until Reset, and the day is new."""
    scale = 43_200.0
    server = make_server(plan="starter", time_scale=scale)
    if _seconds_to_virtual_midnight(server) < 0.6:  # do not straddle the first boundary
        time.sleep(_seconds_to_virtual_midnight(server) + 0.05)
    admin_post(server, "/ratelimit", {"key": KEY, "used_today": 100})
    refused = tasks(server)
    assert refused.status_code == 429 and headers_of(refused)[1] == 0
    reset = headers_of(refused)[2]
    counters = key_counters(server)
    assert counters["day_reset"] == reset == math.ceil(counters["day_ends_at"] - 1e-6)
    assert counters["day_ends_at_virtual"].endswith("T00:00:00Z")
    clock = admin_get(server, "/ratelimit")["clock"]
    virtual_end = clock["started_at"] + (counters["day_ends_at"] - clock["started_at"]) * scale
    # JSON floats carry ~1e-7 s, i.e. ~5e-3 virtual seconds at this K
    assert virtual_end == pytest.approx(round(virtual_end / 86_400) * 86_400, abs=0.05), "a true virtual midnight"
    assert counters["day_ends_at"] - time.time() <= DAY_SECONDS / scale + 0.1
    time.sleep(max(0.0, reset - time.time()) + 0.02)  # a client waiting until Reset...
    again = tasks(server)
    assert again.status_code == 200, "...finds a new day"
    limit, remaining, next_reset = headers_of(again)
    assert (limit, remaining) == (100, 99)
    assert 1 <= next_reset - reset <= 3  # the next midnight, one (2 s) day later, rounded up


@pytest.mark.slow
def test_a_compressed_minute_over_http(make_server) -> None:
    server = make_server(rate_limit=2, time_scale=60.0)  # a 60 s window lasts one real second
    assert [tasks(server).status_code for _ in range(3)] == [200, 200, 429]
    reset = headers_of(tasks(server))[2]
    assert reset - time.time() <= 2.0
    time.sleep(max(0.0, reset - time.time()) + 0.02)
    assert tasks(server).status_code == 200


# -- /_admin/ratelimit --------------------------------------------------------------------------------


def test_admin_shows_and_sets_counters_with_masked_keys(make_server) -> None:
    server = make_server(plan="pro")
    tasks(server)
    view = admin_get(server, "/ratelimit")
    assert (view["plan"], view["daily_limit"], view["minute_limit"], view["headers"], view["retry_after"]) == (
        "pro", 1_000, 50, "daily", False)
    assert view["clock"]["time_scale"] == 1.0
    assert {k["key"] for k in view["keys"]} == {mask_key(KEY), mask_key(KEY2), mask_key(NO_LEXI_KEY)}
    raw = admin_client().get(f"{server.root_url}/_admin/ratelimit").text
    assert KEY not in raw and KEY2 not in raw and NO_LEXI_KEY not in raw
    mine = key_counters(server)
    assert mine["used_today"] == 1 and mine["used_this_minute"] == 1 and mine["remaining_today"] == 999
    assert mine["minute_ends_at"] is not None and mine["minute_reset"] >= time.time()
    by_label = admin_post(server, "/ratelimit", {"key": mask_key(KEY2), "used_this_minute": 49})["data"]
    assert by_label["key"] == mask_key(KEY2) and by_label["used_this_minute"] == 49
    assert tasks(server, KEY2).status_code == 200 and tasks(server, KEY2).status_code == 429
    cleared = admin_post(server, "/ratelimit", {"key": KEY2, "used_this_minute": 0})["data"]
    assert cleared["used_this_minute"] == 0 and cleared["minute_ends_at"] is None
    assert tasks(server, KEY2).status_code == 200


@pytest.mark.parametrize(("body", "status"), [
    ({"used_today": 1}, 400),  # three keys configured: name one
    ({"key_suffix": "000", "used_today": 1}, 400),  # too short
    ({"key_suffix": "9999", "used_today": 1}, 404),
    ({"key": "wbk_nobody", "used_today": 1}, 404),
    ({"key": KEY}, 400),  # nothing to set
    ({"key": KEY, "used_today": -1}, 400),
    ({"key": KEY, "used_this_minute": "5"}, 400),
    ([KEY], 400),
])
def test_admin_rejects_bad_counter_changes(server, body, status) -> None:
    response = admin_client().post(f"{server.root_url}/_admin/ratelimit", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] in ("validation_error", "not_found")
    assert KEY not in response.text
