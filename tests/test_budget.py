"""The live-refresh budget: background polling leaves room for the user's own calls."""

from __future__ import annotations

from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.budget import RefreshBudget

NOW = 1_800_000_000.0


def rate(limit: int, remaining: int, reset_in: float = 30.0) -> RateLimit:
    return RateLimit(limit=limit, remaining=remaining, reset_at=NOW + reset_in, observed_at=NOW)


def test_starter_plan_polls_at_most_every_12_seconds() -> None:
    budget = RefreshBudget(interval=5)
    assert budget.delay(rate(10, 9), now=NOW) == 12.0
    assert budget.delay(rate(10, 9), calls=2, now=NOW) == 24.0


def test_a_longer_configured_interval_wins() -> None:
    assert RefreshBudget(interval=30).delay(rate(50, 40), now=NOW) == 30.0
    assert RefreshBudget(interval=1).delay(rate(50, 40), now=NOW) == 2.4


def test_polling_pauses_until_reset_when_the_reserve_is_reached() -> None:
    budget = RefreshBudget(interval=5)
    assert budget.reserve(10) == 3
    assert budget.delay(rate(10, 3, reset_in=40), now=NOW) == 40.5
    assert budget.delay(rate(10, 4, reset_in=40), now=NOW) == 12.0


def test_no_rate_limit_headers_means_the_configured_interval() -> None:
    assert RefreshBudget(interval=7).delay(None) == 7
    assert not RefreshBudget(interval=0).enabled
    assert "off" in RefreshBudget(interval=0).describe(None)


def test_reset_header_as_seconds_or_epoch() -> None:
    epoch = RateLimit.from_headers({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "4", "x-ratelimit-reset": str(int(NOW + 20))}, now=NOW)
    relative = RateLimit.from_headers({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "4", "x-ratelimit-reset": "20"}, now=NOW)
    assert epoch.seconds_until_reset(NOW) == relative.seconds_until_reset(NOW) == 20
    assert RateLimit.from_headers({}, now=NOW) is None
    # Unparseable headers are no information, not a crash.
    assert RateLimit.from_headers({"x-ratelimit-limit": "ten", "x-ratelimit-remaining": ""}, now=NOW) is None
