"""The connection state's words and the engine's clocks: pure logic, an injected time."""

from __future__ import annotations

import time

import pytest

from lexi_tui.api import errors
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.core.refresh import ConnectionState, Link, ScaledClock, _header_retry_after, _short

NOW = 1_772_445_600.0  # 2026-03-02 10:00:00 UTC


def local(at: float, fmt: str) -> str:
    return time.strftime(fmt, time.localtime(at))


STATES = [
    (ConnectionState(Link.ONLINE, NOW, NOW + 240, "next refresh", budget="63 calls left today"),
     f"online · 63 calls left today · next refresh {local(NOW + 240, '%H:%M')} (in 4 min)"),
    (ConnectionState(Link.OFFLINE, NOW, NOW + 8, "retrying", "could not connect", NOW),
     f"offline: could not connect at {local(NOW, '%H:%M:%S')} · retrying {local(NOW + 8, '%H:%M:%S')} (in 8 s)"),
    (ConnectionState(Link.FAILING, NOW, NOW + 30, "retrying", "Internal server error (HTTP 500)", NOW,
                     "40 calls left today"),
     f"failing: Internal server error (HTTP 500) at {local(NOW, '%H:%M:%S')} · 40 calls left today · "
     f"retrying {local(NOW + 30, '%H:%M:%S')} (in 30 s)"),
    (ConnectionState(Link.RATE_LIMITED, NOW, NOW + 61, "calls resume", budget="90 calls left today"),
     f"rate-limited this minute · 90 calls left today · calls resume {local(NOW + 61, '%H:%M:%S')} (in 61 s)"),
    (ConnectionState(Link.DAY_OVER, NOW, NOW + 3 * 3600 + 12 * 60, "quota resets", budget="0 calls left today"),
     f"daily quota used up · quota resets {local(NOW + 3 * 3600 + 12 * 60, '%H:%M')} (in 3 h 12 min)"),
    (ConnectionState(Link.SIGNED_OUT, NOW, None, "", "the server refused the key", NOW),
     f"signed out: the server refused the key at {local(NOW, '%H:%M:%S')} · nothing is polled until you sign in again"),
    (ConnectionState(Link.ONLINE, NOW, None, "", note="live refresh off (r refreshes)"),
     "online · live refresh off (r refreshes)"),
]


@pytest.mark.parametrize(("state", "text"), STATES, ids=[s.link.value for s, _ in STATES])
def test_every_state_says_what_happens_next_and_when(state: ConnectionState, text: str) -> None:
    assert state.describe(NOW) == text


def test_a_state_never_names_a_time_that_has_passed() -> None:
    state = ConnectionState(Link.RATE_LIMITED, NOW, NOW + 61, "calls resume")
    assert state.describe(NOW + 61).endswith("calls resume now")
    assert state.describe(NOW + 500).endswith("calls resume now")


def test_same_as_ignores_since_and_small_moves() -> None:
    a = ConnectionState(Link.ONLINE, NOW, NOW + 100, "next refresh", budget="9 calls left today")
    assert a.same_as(ConnectionState(Link.ONLINE, NOW + 5, NOW + 100.2, "next refresh", budget="9 calls left today"))
    assert not a.same_as(ConnectionState(Link.ONLINE, NOW, NOW + 101, "next refresh", budget="9 calls left today"))
    assert not a.same_as(ConnectionState(Link.ONLINE, NOW, NOW + 100, "next refresh", budget="8 calls left today"))
    assert not a.same_as(None)


def test_the_scaled_clock_agrees_with_the_service() -> None:
    wall = [1000.0]
    clock = ScaledClock(1440, start=1000.0, wall=lambda: wall[0])
    wall[0] = 1060.0  # A real minute is a virtual day.
    assert clock.now() == 1000.0 + 86_400
    assert clock.from_wall(1001.0) == 2440.0 and clock.real_seconds(1440) == 1.0
    with pytest.raises(ValueError):
        ScaledClock(0)


def test_a_retry_after_the_client_made_up_from_reset_is_not_one() -> None:
    daily = RateLimit(100, 40, NOW + 5 * 3600, NOW)
    derived = errors.RateLimitedError("Rate limit exceeded", retry_after=5 * 3600, rate_limit=daily, status=429)
    assert _header_retry_after(derived) is None  # Hours to midnight: the client's fallback, not the server's.
    sent = errors.RateLimitedError("Rate limit exceeded", retry_after=20, rate_limit=daily, status=429)
    assert _header_retry_after(sent) == 20
    bare = errors.RateLimitedError("Rate limit exceeded", retry_after=7200, status=429)
    assert _header_retry_after(bare) == 7200
    assert _header_retry_after(errors.RateLimitedError("x", status=429)) is None


def test_short_error_texts() -> None:
    assert _short(errors.ServerError("Internal server error", status=500)) == "Internal server error (HTTP 500)"
    assert _short(errors.ServerError("GET x: HTTP 502 Bad Gateway", status=502)) == "GET x: HTTP 502 Bad Gateway"
    assert len(_short(errors.ConnectError("x" * 200))) == 80
