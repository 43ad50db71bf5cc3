"""The daily quota and the per-minute limit (Starter: 100 a day, 10 a minute): a 429 with calls
left today waits out the minute, never until midnight; one with none left stops and says when
the quota resets."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from cli_support import SCRIPT, admin_task, cli_env, home, run_cli, start, task_id  # noqa: F401 - fixtures

from lexi_tui.api.errors import RateLimitedError
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.cli import quota
from lexi_tui.cli.exit_codes import Exit

NOW = 1_800_000_000.0


def refused(remaining: int | None, reset_in: float | None, retry_after: float | None = None,
            limit: int = 100) -> RateLimitedError:
    """A 429 as the client builds it (retry_after falls back to the reset when none was sent)."""
    rate = None if remaining is None else RateLimit(limit, remaining, NOW + reset_in if reset_in else None, NOW)
    after = retry_after if retry_after is not None else reset_in
    return RateLimitedError("Rate limit exceeded", retry_after=after, status=429, rate_limit=rate)


@pytest.mark.parametrize(("error", "daily", "wait"), [
    (refused(95, 5 * 3600), False, quota.MINUTE),            # daily headers, calls left: this minute
    (refused(95, 5 * 3600, retry_after=12), False, 12.5),    # ... and a Retry-After that says more
    (refused(0, 5 * 3600), True, None),                      # daily headers, none left: the day is over
    (refused(0, 40, limit=10), False, 40.5),                 # minute headers, none left: wait for the reset
    (refused(3, 40, retry_after=7200, limit=10), True, None),  # minute headers, but Retry-After in hours
    (refused(None, None), False, quota.MINUTE),               # nothing said at all
    (refused(None, None, retry_after=20), False, 20.5),
])
def test_reading_a_429(error, daily: bool, wait: float | None) -> None:
    reading = quota.read_429(error, now=NOW)
    assert reading.daily is daily
    if wait is not None:
        assert reading.wait == pytest.approx(wait)


def test_the_daily_message_names_the_local_time_and_what_is_left() -> None:
    text = quota.describe_daily(quota.read_429(refused(0, 5 * 3600 + 12 * 60), now=NOW), now=NOW)
    assert "daily quota is used up (0 of 100 calls left today)" in text
    assert re.search(r"resets at \d\d:\d\d \(local", text) and text.endswith("in 5 h 12 min.")
    assert quota.duration(42) == "42 s" and quota.duration(600) == "10 min" and quota.duration(7200) == "2 h"


def set_counters(server, **counters: int) -> None:
    httpx.post(f"{server.root_url}/_admin/ratelimit", json=counters, timeout=5).raise_for_status()


def test_a_used_up_day_stops_tasks_and_approve_with_the_reset_time(home: Path) -> None:
    with start(plan="starter") as server:
        set_counters(server, used_today=100)
        listing = run_cli(home, "tasks", "--base-url", server.base_url)
        assert listing.returncode == Exit.QUOTA, listing.stderr
        assert "daily quota is used up (0 of 100 calls left today)" in listing.stderr
        assert re.search(r"resets at \d\d:\d\d \(local, [^)]*\) in \d+ h \d+ min", listing.stderr)
        assert "Waiting" not in listing.stderr
        acting = run_cli(home, "approve", task_id(1), "--base-url", server.base_url)
        assert acting.returncode == Exit.QUOTA, acting.stdout + acting.stderr
        assert "daily quota is used up" in acting.stderr
        assert admin_task(server, task_id(1))["approve_count"] == 0


def test_the_minute_limit_with_minute_headers_is_waited_out(home: Path) -> None:
    """A Starter minute lasts 2 s here (time_scale 30); the headers describe it."""
    with start(plan="starter", rate_headers="minute", time_scale=30) as server:
        set_counters(server, used_this_minute=10)
        result = run_cli(home, "tasks", "--json", "--base-url", server.base_url)
    assert result.returncode == Exit.OK, result.stderr
    assert "Rate limited this minute" in result.stderr and "calls left today" not in result.stderr


def test_a_retry_after_while_calls_remain_today_is_followed(home: Path) -> None:
    with start(plan="starter", rate_headers="daily", retry_after=True, time_scale=30) as server:
        set_counters(server, used_this_minute=10)
        result = run_cli(home, "tasks", "--json", "--base-url", server.base_url)
    assert result.returncode == Exit.OK, result.stderr
    waited = re.search(r"Rate limited this minute \((\d+) calls left today\): waiting (\d+) s", result.stderr)
    assert waited and int(waited.group(1)) > 0 and int(waited.group(2)) <= 3


def test_calls_left_today_means_this_minute_never_midnight(home: Path) -> None:
    """Daily headers with calls left and no Retry-After: wait a minute (interrupted here)."""
    with start(plan="starter", rate_headers="daily") as server:
        set_counters(server, used_this_minute=10)
        process = subprocess.Popen([str(SCRIPT), "tasks", "--base-url", server.base_url], env=cli_env(home),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(home))
        try:
            line = ""
            deadline = time.monotonic() + 20
            assert process.stderr is not None
            while "waiting" not in line and time.monotonic() < deadline:
                line = process.stderr.readline()
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "Rate limited this minute (" in line and "calls left today): waiting 60 s" in line
    assert code == Exit.INTERRUPTED


def test_a_day_spent_in_the_middle_of_a_run_stops_it_there(home: Path) -> None:
    """The list costs the day's last call: the approvals are not sent, and the output says why."""
    with start(plan="starter") as server:
        set_counters(server, used_today=99)
        result = run_cli(home, "approve", task_id(1), task_id(3), "--json", "--base-url", server.base_url)
        assert result.returncode == Exit.QUOTA, result.stdout + result.stderr
        assert "daily quota is used up" in result.stderr
        report = json.loads(result.stdout)
        assert report["not_sent"] == 2 and report["exit_code"] == Exit.QUOTA
        assert [admin_task(server, task_id(n))["approve_count"] for n in (1, 3)] == [0, 0]
