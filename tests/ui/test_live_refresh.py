"""Issues 12 and 15: the screen hosts the refresh engine; what follows the clock follows it.

Pilot tests against the local service over loopback: new tasks arrive by themselves and the
rules act on each list; an approved task is followed until it finishes (a toast says what it
did); `--exit-after-load` exits after the first painted list; tab counts say how old they are
or show no number; "updated …" and the list's ages move on as minutes pass (on a clock the
test moves, `lexi_tui.ui.clock.now`); the terminal's focus and keys say when the person is
away and back. Notifications of new tasks while the terminal is unfocused are checked through
a real pseudo-terminal: the bytes are written only when unfocused and `notify` is on.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from textual import events

from benchmarks.pty_probe import PtyChild, visible_text
from lexi_tui.core.refresh import EnginePolicy
from lexi_tui.core.rules import parse_rules
from support.app import KEY, PENDING_IDS, admin_task, loaded, make_app, make_service, wait_for

LIST = "GET /v1/lexi/tasks"


class MovableClock:
    """`lexi_tui.ui.clock.now` that a test moves forward (the engine's and the screen's clock)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> MovableClock:
    moving = MovableClock()
    monkeypatch.setattr("lexi_tui.ui.clock.now", moving.now)
    return moving


def add_task(service, description: str, task_type: str = "prospect_search", created: datetime | None = None) -> str:
    task = {"type": task_type, "description": description, "metadata": {"per_page": 5}}
    if created is not None:
        task["created_at"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    response = httpx.post(f"{service.root_url}/_admin/tasks", json=[task], timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["data"]["ids"][0]


def list_calls(service) -> int:
    return int(httpx.get(f"{service.root_url}/_admin/stats", timeout=5).json()["data"]["by_endpoint"].get(LIST, 0))


def tab_label(screen, view: str) -> str:
    return screen.query_one(f"#view-{view}").label.plain


def row_text(screen, line: int) -> str:
    return "".join(segment.text for segment in screen.table.render_line(line))


# -- the engine, hosted ------------------------------------------------------------------------------


async def test_new_tasks_arrive_by_themselves_and_the_rules_act_on_each_list(service) -> None:
    rules = parse_rules([{"name": "lists", "action": "approve", "type": "list_operation"}])
    app = make_app(service, refresh_interval=0.5, rules=rules)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        plain = add_task(service, "Arrives by itself")
        ruled = add_task(service, "Create list 'Ruled'", task_type="list_operation")
        await wait_for(pilot, lambda: plain in screen.table.visible_ids())  # No key pressed.
        await wait_for(pilot, lambda: admin_task(service, ruled)["approve_count"] == 1)
        assert admin_task(service, plain)["status"] == "pending"
        await wait_for(pilot, lambda: ruled not in screen.table.visible_ids())


async def test_exit_after_load_exits_after_the_first_painted_list(service) -> None:
    app = make_app(service, exit_after_load=True, refresh_interval=15)
    await asyncio.wait_for(app.run_async(headless=True, size=(120, 36)), 20)
    assert list_calls(service) == 1  # The first list, and nothing after it.


async def test_an_approved_task_is_followed_and_a_toast_says_what_it_did(monkeypatch, service) -> None:
    monkeypatch.setattr("lexi_tui.ui.main.refresh.POLICY", EnginePolicy(follow_delays=(0.3, 0.6)))
    app = make_app(service, refresh_interval=60)  # No background poll in the meantime.
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await loaded(pilot)
        first = screen.table.current
        await pilot.press("a")
        await wait_for(pilot, lambda: admin_task(service, first.id)["status"] == "completed")
        await wait_for(pilot, lambda: any(n.title == "Task completed" for n in app._notifications))
        toast = next(n for n in app._notifications if n.title == "Task completed")
        assert toast.message.startswith(first.description)
        assert not screen.state.executing
        assert tab_label(screen, "completed").endswith("· <1m")  # Read to follow it: a count with its age.


async def test_the_finished_toast_shows_the_servers_words_inert(monkeypatch) -> None:
    """A description and a result message with a terminal escape and markup: the toast shows
    them as text (the escape made visible, the markup as typed), nothing reaches the terminal."""
    monkeypatch.setattr("lexi_tui.ui.main.refresh.POLICY", EnginePolicy(follow_delays=(0.3, 0.6)))
    hostile = {"id": "t-hostile", "type": "prospect_search", "status": "pending",
               "description": "Search \x1b]0;pwned\x07 [bold red]CEOs[/]", "created_at": "2026-11-23T11:40:00Z",
               "metadata": {"per_page": 5, "simulate": "complete"}}
    with make_service(tasks=(hostile,)) as service:
        app = make_app(service, refresh_interval=60)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await loaded(pilot)
            await pilot.press("a")
            await wait_for(pilot, lambda: any(n.title == "Task completed" for n in app._notifications))
            toast = next(n for n in app._notifications if n.title == "Task completed")
            assert "\x1b" not in toast.message and "\x07" not in toast.message
            assert toast.message.startswith("Search ") and "[bold red]CEOs[/]" in toast.message
            assert not toast.markup


async def test_a_dialog_holds_live_refresh_and_closing_it_catches_up(service) -> None:
    app = make_app(service, refresh_interval=0.3)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("d", "6", *"half typed")
        dialog = app.screen
        await wait_for(pilot, lambda: str(screen.query_one("#updated").render()).endswith("paused: dialog open"))
        fetched = screen.state.fetched_at
        new = add_task(service, "Arrives while the dialog is open")
        await pilot.pause(1.0)  # Three refreshes' worth of time: none goes.
        assert screen.state.fetched_at == fetched and new not in screen.table.visible_ids()
        assert app.screen is dialog and dialog.query_one("#reason-text").value == "half typed"
        await pilot.press("escape")
        await wait_for(pilot, lambda: new in screen.table.visible_ids())  # Caught up once it closed.
        assert not str(screen.query_one("#updated").render()).endswith("dialog open")


# -- counts, ages and "updated" ---------------------------------------------------------------------


async def test_tab_counts_of_hidden_views_say_how_old_they_are(clock, service) -> None:
    app = make_app(service, refresh_interval=0.5)  # No rate limit: spare calls count the other views.
    async with app.run_test(size=(160, 36)) as pilot:
        screen = await loaded(pilot)
        assert tab_label(screen, "pending") == f"Pending {len(PENDING_IDS)}"  # On screen: no age.
        await wait_for(pilot, lambda: all("·" in tab_label(screen, v) for v in ("approved", "completed",
                                                                                 "dismissed", "failed")))
        assert tab_label(screen, "completed") == "Completed 1 · <1m"
        clock.advance(5 * 60 + 5)
        screen.refresher.update_clock()
        assert tab_label(screen, "completed") == "Completed 1 ·  5m"
        await pilot.press("3")  # On screen now: polled with the queue, so no age.
        await wait_for(pilot, lambda: tab_label(screen, "completed") == "Completed 1")
        assert tab_label(screen, "pending") == f"Pending {len(PENDING_IDS)}"


async def test_no_count_for_views_never_read_when_the_budget_has_no_spare_calls() -> None:
    with make_service(plan="starter", rate_headers="daily") as service:
        app = make_app(service, refresh_interval=0.5, plan="starter")
        async with app.run_test(size=(160, 36)) as pilot:
            screen = await loaded(pilot)
            await pilot.pause(1.5)
            planner = screen.refresher.planner
            assert not planner.has_spare(1, 1)
            assert [tab_label(screen, v) for v in ("approved", "completed", "dismissed", "failed")] == [
                "Approved", "Completed", "Dismissed", "Failed"]
            assert list_calls(service) == 1  # Starter's day: the first list only, so far.


async def test_updated_says_how_old_the_list_is_and_why_refresh_is_paused(clock, service) -> None:
    app = make_app(service, refresh_interval=0)
    async with app.run_test(size=(160, 36)) as pilot:
        screen = await loaded(pilot)
        label = screen.query_one("#updated")

        def says() -> str:
            return str(label.render()).strip()

        assert says() == "updated just now · live refresh off"
        clock.advance(9)
        screen.refresher.update_clock()
        assert says().startswith("updated just now")
        clock.advance(16)
        screen.refresher.update_clock()
        assert says() == "updated 20s ago · live refresh off"  # Never "just now" at 25 s.
        clock.advance(5 * 60)
        screen.refresher.update_clock()
        assert says() == "updated 5m ago · live refresh off"


async def test_list_ages_move_on_by_the_minute(clock, service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        new = add_task(service, "Just queued", created=clock.now() - timedelta(seconds=5))
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.table.visible_ids()[:1] == [new])
        await pilot.pause()
        assert row_text(screen, 0).rstrip().endswith("<1m")
        clock.advance(31)  # 36 s old: still under a minute.
        screen.refresher.update_clock()
        await pilot.pause()
        assert row_text(screen, 0).rstrip().endswith("<1m")
        clock.advance(30)  # 66 s old.
        screen.refresher.update_clock()
        await pilot.pause()
        assert row_text(screen, 0).rstrip().endswith("1m")
        clock.advance(60 * 60)
        screen.refresher.update_clock()
        await pilot.pause()
        assert row_text(screen, 0).rstrip().endswith("1h")


# -- away and back ------------------------------------------------------------------------------------


async def test_the_terminal_losing_focus_polls_less_and_regaining_it_polls_once(clock, service) -> None:
    app = make_app(service, refresh_interval=30)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        engine = screen.refresher.engine
        active_next = engine.state.next_at
        app.post_message(events.AppBlur())
        await wait_for(pilot, lambda: not engine.active())
        assert engine.state.next_at - active_next >= 200  # At least 5 minutes apart while away.
        clock.advance(2 * 60)  # The list is old now.
        before = list_calls(service)
        app.post_message(events.AppFocus())
        await wait_for(pilot, lambda: list_calls(service) > before)  # A refresh now...
        assert engine.active()
        await pilot.pause(0.3)  # (With no rate limit, spare calls may count a hidden view too.)
        settled = list_calls(service)
        await pilot.pause(0.7)
        assert list_calls(service) == settled  # ...then the active pace (30 s).


async def test_no_key_for_a_while_is_away_and_a_key_is_back(clock, service) -> None:
    app = make_app(service, refresh_interval=30)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        engine = screen.refresher.engine
        clock.advance(6 * 60)  # No key for 6 minutes.
        assert not engine.active()
        before = list_calls(service)
        await pilot.press("j")
        assert engine.active()
        await wait_for(pilot, lambda: list_calls(service) > before)  # Back, and the list was old.


# -- notify: through a real pseudo-terminal ---------------------------------------------------------

LAUNCHER = textwrap.dedent("""
    import sys
    from lexi_tui.core.budget import PlannerPolicy
    import lexi_tui.ui.main.refresh as refresh
    # While away the app polls at least 5 minutes apart; here half a second, so a test can wait.
    refresh.PLANNER_POLICY = PlannerPolicy(away_factor=1.0, away_min_interval=0.5)
    from lexi_tui.ui.app import AppSettings, LexiApp
    base_url, key, notify = sys.argv[1:4]
    LexiApp(AppSettings(profile="pty", base_url=base_url, api_key=key, use_keyring=False, refresh_interval=0.5,
                        undo_window=0, notify=notify)).run()
""")
FOCUS_OUT, FOCUS_IN = b"\x1b[O", b"\x1b[I"  # What a terminal with focus reporting sends.


def run_in_pty(tmp_path: Path, service, notify: str) -> dict[str, bytes]:
    """Start the app on a pty; add a task while focused, one after focus-out, one after focus-in;
    returns the bytes the app wrote in each phase."""
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "LC_TERMINAL", "TERM_PROGRAM", "KITTY_WINDOW_ID")}
    env.update(TERM="xterm-256color", PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    phases: dict[str, bytes] = {}
    with PtyChild([sys.executable, str(launcher), service.base_url, KEY, notify], env, cols=120, rows=30) as child:
        assert child.wait_text("Pending", 30), visible_text(bytes(child.output[-2000:]))
        child.wait_quiet(0.5, 10)
        for phase, focus, description in (("focused", None, "Alpha arrives"), ("unfocused", FOCUS_OUT, "Beta arrives"),
                                           ("refocused", FOCUS_IN, "Gamma arrives")):
            if focus is not None:
                child.send(focus)
                child.pump(0.5)
            start = len(child.output)
            add_task(service, description, task_type="list_operation")
            assert child.wait_for(lambda d=description: d in visible_text(bytes(child.output[start:])), 15), phase
            child.pump(0.3)
            phases[phase] = bytes(child.output[start:])
    return phases


DESKTOP = b"\x1b]777;notify;lexi-tui;1 new task to approve (list operation) in pty\x07"


@pytest.mark.parametrize("notify", ["desktop", "bell", "off"])
def test_new_tasks_notify_only_while_the_terminal_is_unfocused_and_notify_is_on(tmp_path: Path, notify: str) -> None:
    with make_service() as service:
        phases = run_in_pty(tmp_path, service, notify)
    for phase, written in phases.items():
        expected_desktop = notify == "desktop" and phase == "unfocused"
        expected_bell = notify == "bell" and phase == "unfocused"
        assert (DESKTOP in written) is expected_desktop, (phase, written[-400:])
        assert (b"\x1b]777;" in written or b"\x1b]9;" in written) is expected_desktop, phase
        assert (b"\x07" in written.replace(DESKTOP, b"")) is expected_bell, (phase, written[-400:])


def test_a_tabs_age_keeps_its_width_from_one_step_to_the_next() -> None:
    """So the tab is repainted alone, not the tab bar and the scrollbars (idle bytes)."""
    from lexi_tui.ui.main.refresh import age_text

    ages = [age_text(seconds) for seconds in (0, 59, 60, 61, 599, 600, 3_599, 3_600, 86_399, 86_400, 9 * 86_400)]
    assert ages == ["<1m", "<1m", " 1m", " 1m", " 9m", "10m", "59m", " 1h", "23h", " 1d", " 9d"]
    assert {len(age) for age in ages} == {3}
