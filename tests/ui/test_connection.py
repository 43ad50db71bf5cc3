"""Issue 15: the status bar tells the truth about the connection, after every answer.

Each test drives the app with the pilot against the local service over loopback and reads
what the bar says (`StatusBar.detail`, `StatusBar.line`): online with the calls left today and
the next refresh in words; failing, with the error's short text, and back to online by itself;
offline while the service is stopped, retrying on its own; rate-limited this minute, never
after the time it named; today's quota used up, with the reset; signed out after a 401. The
marked/held/rules indicators stay on an 80-column line; the countdown ticks only while it
counts for someone at the keyboard.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time

import httpx
import pytest
from textual import events

from lexi_tui.core.budget import clock_text
from lexi_tui.core.refresh import EnginePolicy
from lexi_tui.server.runner import start_server
from lexi_tui.ui.screens.login_screen import LoginScreen
from lexi_tui.ui.widgets.status_bar import StatusBar
from support.app import KEY, PENDING_IDS, loaded, make_app, make_service, restart, wait_for

CLOCK = r"\d\d:\d\d(:\d\d)?"
LIST = "GET /v1/lexi/tasks"


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after 0.3 s, 0.6 s, then every second (the app's default starts at 2 s)."""
    monkeypatch.setattr("lexi_tui.ui.main.refresh.POLICY", EnginePolicy(backoff_base=0.3, backoff_cap=1.0, jitter=0.0))


def admin(service, path: str, body: dict | None = None) -> dict:
    url = f"{service.root_url}{path}"
    response = httpx.post(url, json=body, timeout=5) if body is not None else httpx.get(url, timeout=5)
    response.raise_for_status()
    return response.json()["data"]


def bar_of(screen) -> StatusBar:
    return screen.query_one(StatusBar)


async def test_online_says_calls_left_today_and_when_the_next_refresh_comes() -> None:
    with make_service(plan="starter", rate_headers="daily") as service:
        app = make_app(service, refresh_interval=15, plan="starter")
        async with app.run_test(size=(200, 30)) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            await wait_for(pilot, lambda: bar.connection == "online")
            # Starter's 100 a day, less the reserve and the person's share, spread until midnight
            # UTC: minutes between refreshes, in words, with the time of day.
            assert re.fullmatch(rf"online · 99 calls left today · next refresh (tomorrow )?{CLOCK} \(in .+\)",
                                bar.detail), bar.detail
            assert "min" in bar.detail or " h" in bar.detail
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: app.screen is not screen)
            notes = " ".join(app.screen._notes)  # What the help screen shows under the keys.
            assert notes.startswith("Starter (100 calls a day and 10 a minute): the X-RateLimit headers describe the day.")
            midnight = (math.floor(time.time() / 86_400) + 1) * 86_400  # The headers' Reset: UTC midnight.
            assert f"99 calls are left until the daily reset at {clock_text(midnight, time.time())} " in notes  # Not 23:59.


async def test_an_action_answered_500_says_failing_and_the_next_good_answer_says_online(quick_backoff) -> None:
    with make_service() as service:
        app = make_app(service, refresh_interval=1)
        async with app.run_test(size=(200, 30)) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            await wait_for(pilot, lambda: bar.connection == "online")
            httpx.post(f"{service.root_url}/_admin/faults", json={"error_rate": 1.0}, timeout=5).raise_for_status()
            await pilot.press("a")  # The person's call fails: no refresh needed to say so.
            await wait_for(pilot, lambda: bar.connection == "failing")
            assert re.match(rf"failing: .*HTTP 50\d.* at {CLOCK}", bar.detail), bar.detail
            assert "retrying" in bar.detail
            httpx.post(f"{service.root_url}/_admin/faults", json={"error_rate": 0.0}, timeout=5).raise_for_status()
            await wait_for(pilot, lambda: bar.connection == "online", timeout=10)  # By itself, no r.
            assert bar.detail.startswith("online")


async def test_r_while_the_server_fails_says_so_in_a_toast_too(quick_backoff) -> None:
    with make_service() as service:
        app = make_app(service)
        async with app.run_test(size=(200, 30), notifications=True) as pilot:
            screen = await loaded(pilot)
            httpx.post(f"{service.root_url}/_admin/faults", json={"error_rate": 1.0}, timeout=5).raise_for_status()
            await pilot.press("r")
            await wait_for(pilot, lambda: any(n.title == "Refresh failed" for n in app._notifications))
            assert bar_of(screen).connection == "failing"
            assert screen.table.task_count == len(PENDING_IDS)  # The last list stays.


async def test_offline_while_the_service_is_stopped_then_online_by_itself(tmp_path, quick_backoff) -> None:
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service, refresh_interval=1)
        async with app.run_test(size=(200, 30)) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            service.stop()
            await wait_for(pilot, lambda: bar.connection == "offline")
            assert re.match(rf"offline: .+ at {CLOCK} · retrying {CLOCK}", bar.detail), bar.detail
            assert screen.state.retry_at is not None
            assert screen.table.task_count == len(PENDING_IDS)  # The last data stays visible.
            with restart(service):
                await wait_for(pilot, lambda: bar.connection == "online", timeout=10)  # No r pressed.


async def test_rate_limited_this_minute_names_when_calls_resume_and_never_stays_after(quick_backoff) -> None:
    # A minute lasts a second here; Retry-After says when it is over.
    with make_service(plan="starter", rate_headers="daily", retry_after=True, time_scale=60) as service:
        app = make_app(service, refresh_interval=30, plan="starter")
        async with app.run_test(size=(200, 30), notifications=True) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            admin(service, "/_admin/ratelimit", {"key": KEY, "used_this_minute": 10})
            await pilot.press("r")  # 429: calls remain today, so this minute's limit.
            await wait_for(pilot, lambda: bar.connection == "rate-limited")
            detail = bar.detail
            assert re.match(rf"rate-limited this minute · \d+ calls left today · calls resume {CLOCK}", detail), detail
            until = screen.state.retry_at
            assert until is not None and until - time.time() < 5  # Seconds, not until midnight.
            await wait_for(pilot, lambda: bar.connection != "rate-limited", timeout=8)
            assert time.time() >= until - 0.5  # Not before the time it named...
            assert time.time() <= until + 3  # ...and not long after it either.


async def test_two_calls_left_today_then_the_daily_quota_used_up() -> None:
    with make_service(plan="starter", rate_headers="daily") as service:
        app = make_app(service, refresh_interval=15, plan="starter")
        async with app.run_test(size=(200, 30), notifications=True) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            admin(service, "/_admin/ratelimit", {"key": KEY, "used_today": 98})
            await pilot.press("r")  # The person's refresh may use the reserve: one call left after it.
            await wait_for(pilot, lambda: "1 call left today" in bar.detail)
            assert "the last 20 calls today are kept for you" in bar.detail  # Background waits.
            assert str(screen.query_one("#updated").render()).endswith("paused: calls kept for you")
            await pilot.press("r")  # The day's last call.
            await wait_for(pilot, lambda: bar.connection == "day-over")
            assert re.fullmatch(rf"daily quota used up · quota resets tomorrow {CLOCK} \(in .+\)", bar.detail), bar.detail
            assert str(screen.query_one("#updated").render()).endswith("paused: quota used up")
            lists = admin(service, "/_admin/stats")["by_endpoint"].get(LIST, 0)
            await pilot.press("r")
            await wait_for(pilot, lambda: any("Today's quota is used up: it resets" in str(n.message)
                                              for n in app._notifications))
            await pilot.pause(0.3)
            assert admin(service, "/_admin/stats")["by_endpoint"].get(LIST, 0) == lists  # Nothing was sent.


async def test_a_refused_key_says_signed_out_and_brings_the_login_back(tmp_path) -> None:
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service, refresh_interval=0)
        async with app.run_test(size=(200, 30)) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            service.stop()
            other = dataclasses.replace(service.options, port=service.port, tasks=None, seed_tasks=0,
                                        keys=("wbk_someone_else_000000000000",))
            with start_server(other):
                await pilot.press("r")
                await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
                assert bar.connection == "signed-out"
                assert bar.detail.endswith("nothing is polled until you sign in again"), bar.detail


async def test_at_80_columns_the_indicators_stay_and_the_detail_gives_way(tmp_path, quick_backoff) -> None:
    from lexi_tui.core.rules import parse_rules

    rules = parse_rules([{"name": "never", "action": "approve", "type": "no_such_type"}])
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service, refresh_interval=1, rules=rules, undo_window=30)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            await pilot.press("space", "space")
            service.stop()
            await wait_for(pilot, lambda: bar.connection == "offline")
            await pilot.pause()
            line = bar.line
            assert len(line) <= 80
            assert "○ offline" in line and "retrying" in line  # What happens next comes first...
            assert "◆ 2 marked" in line and "rules on" in line  # ...and the indicators stay whole.
            assert "…" in line  # The rest of the detail was cut to the room left.


async def test_the_countdown_ticks_for_someone_at_the_keyboard_and_rests_otherwise(tmp_path) -> None:
    # A retry 30-60 s away (the back-off is long here): it counts down by the second.
    slow = EnginePolicy(backoff_base=40.0, backoff_cap=40.0, jitter=0.0)
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service, refresh_interval=1)
        async with app.run_test(size=(200, 30)) as pilot:
            screen = await loaded(pilot)
            screen.refresher.engine.policy = slow
            bar = bar_of(screen)
            countdown = bar.countdown
            service.stop()
            await wait_for(pilot, lambda: bar.connection == "offline")
            first = countdown.text
            assert re.search(r"retrying \d\d:\d\d:\d\d \(in \d+ s\)$", first), first  # The engine's words, whole.
            before = countdown.redraws
            await pilot.pause(2.2)
            assert countdown.redraws - before in (2, 3)  # Once a second, not more.
            assert countdown.text != first
            app.post_message(events.AppBlur())  # Away: retrying less often, said as a time of day only.
            await wait_for(pilot, lambda: "(in " not in countdown.text)
            assert countdown.text.startswith("○ offline: ")  # Still offline: no answer came.
            assert re.search(rf"retrying {CLOCK}$", countdown.text), countdown.text
            resting = countdown.redraws
            await pilot.pause(1.5)
            assert countdown.redraws == resting  # Nothing to redraw while nobody looks.
            app.post_message(events.AppFocus())  # Back: the countdown again.
            await wait_for(pilot, lambda: "(in " in countdown.text)


async def test_a_short_routine_refresh_is_a_pace_not_a_countdown() -> None:
    with make_service() as service:
        app = make_app(service, refresh_interval=2)
        async with app.run_test(size=(200, 30)) as pilot:
            screen = await loaded(pilot)
            bar = bar_of(screen)
            await wait_for(pilot, lambda: "live refresh every" in bar.detail)
            assert bar.detail == "online · live refresh every 2 s"
            drawn = bar.countdown.redraws
            await pilot.pause(4.5)  # Two refreshes: the words stay the same, nothing is redrawn.
            assert bar.countdown.redraws == drawn
