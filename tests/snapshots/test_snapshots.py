"""Snapshot tests: what each important screen looks like, pinned as SVG.

`snap_compare` runs the app headless (with its own event loop, so these tests are plain
functions) and compares the screen with `__snapshots__/test_snapshots/<test>.svg`. After a
deliberate UI change, look at the report, then `pytest tests/snapshots --snapshot-update`.

Each `run_before` brings the app to a concrete state (waiting on state, never on time) and
writes what it saw into `seen`; the assertions on `seen` run after the comparison, where a
failure reads as a normal assertion rather than a crashed screenshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.screens.help_screen import HelpScreen
from lexi_tui.ui.screens.login_screen import LoginScreen
from lexi_tui.ui.widgets.chat_panel import TaskCard
from lexi_tui.ui.widgets.status_bar import StatusBar
from tools.screenshots.pilot import loaded, settle, wait_until

WIDE = (120, 36)
SMALL = (80, 24)


def test_main_screen_wide(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen = await loaded(pilot)
        seen["rows"] = screen.table.task_count
        seen["connection"] = screen.query_one(StatusBar).connection
        seen["side_by_side"] = screen.query_one("#side").region.x > screen.query_one("#list-pane").region.x
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    assert seen == {"rows": 6, "connection": "online", "side_by_side": True}


def test_main_screen_80x24_stacks_the_panes(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen = await loaded(pilot)
        listing, side = screen.query_one("#list-pane").region, screen.query_one("#side").region
        seen["stacked"] = side.y >= listing.bottom and side.x == listing.x
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)
    assert seen == {"stacked": True}


def test_detail_pane_shows_nested_metadata(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen = await loaded(pilot)
        await pilot.press("down", "down")  # The contact update: objects nested two deep.
        view = screen.detail.json_view
        await wait_until(pilot, lambda: any('"owner"' in line for line in view.lines))
        seen["type"] = screen.detail.shown.type
        seen["nested"] = [line.strip() for line in view.lines if line.strip().startswith('"name"')]
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    assert seen == {"type": "contact_update", "nested": ['"name": "Dana Ortiz",']}


def test_dismiss_dialog(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen = await loaded(pilot)
        first = screen.table.current
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, DismissDialog))
        seen["target"] = pilot.app.screen.target.id == first.id
        seen["reason"] = pilot.app.screen.reason
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    assert seen == {"target": True, "reason": "not_relevant"}


def test_chat_reply_proposes_a_task(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen = await loaded(pilot)
        await pilot.press("c")
        # Set in one go: typing a sentence key by key costs seconds of idle-waiting.
        screen.chat.query_one("#chat-input", Input).value = "Find 50 CEOs at law firms in California"
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(screen.chat.query(TaskCard)))
        card = screen.chat.query_one(TaskCard)
        # The list refreshes and puts the cursor on the proposed task.
        await wait_until(
            pilot,
            lambda: not screen.state.refreshing
            and screen.table.current is not None
            and screen.table.current.id == card.task_id,
        )
        seen["rows"] = screen.table.task_count
        seen["input"] = screen.chat.query_one("#chat-input", Input).value
        seen["card_type"] = screen.table.current.type
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    assert seen == {"rows": 7, "input": "", "card_type": "prospect_search"}


def test_login_screen(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, LoginScreen) and pilot.app.focused is not None)
        seen["focused"] = pilot.app.focused.id
        await settle(pilot)

    assert snap_compare(make_app(api_key=None), terminal_size=(100, 30), run_before=run_before)
    assert seen == {"focused": "login-key"}


def test_login_screen_refuses_a_bad_key(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, LoginScreen) and pilot.app.focused is not None)
        screen = pilot.app.screen
        screen.query_one("#login-key", Input).value = "wbk_not_a_real_key_0000beef"
        await pilot.press("enter")
        status = screen.query_one("#login-status", Static)
        await wait_until(pilot, lambda: status.has_class("-error"))
        seen["status"] = str(status.render())
        await settle(pilot)

    assert snap_compare(make_app(api_key=None), terminal_size=(100, 30), run_before=run_before)
    assert seen == {"status": "wbk_…beef was refused: the key is invalid, revoked or expired."}


def test_help_screen(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        seen["help"] = True
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    assert seen == {"help": True}


def test_offline_after_the_service_stops(snap_compare, start_service, make_app, tmp_path: Path) -> None:
    server = start_service(db_path=str(tmp_path / "lexi.db"))
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen = await loaded(pilot)
        server.stop()
        await pilot.press("r")
        bar = screen.query_one(StatusBar)
        await wait_until(pilot, lambda: bar.connection == "offline" and not screen.state.refreshing)
        seen["detail"] = bar.detail
        seen["rows"] = screen.table.task_count  # The last list stays on screen.
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    # At 120 columns the retry comes right after the headline, and the error is cut to the room left.
    assert seen == {"detail": "offline · retrying 12:00:01 (in 2 s) · GET /v1/lexi/tasks: could not connect (All c…",
                    "rows": 6}


def test_light_theme(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        await loaded(pilot)
        seen["dark"] = pilot.app.current_theme.dark
        await settle(pilot)

    assert snap_compare(make_app(theme="textual-light"), terminal_size=WIDE, run_before=run_before)
    assert seen == {"dark": False}



def test_an_empty_queue_says_so(snap_compare, start_service, make_app) -> None:
    start_service(tasks=())
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        from lexi_tui.ui.main.screen import MainScreen

        app = pilot.app  # Not `loaded`: it waits for metadata, and an empty queue has none.
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None)
        fields = app.screen.detail.query_one("#detail-fields", Static)
        await wait_until(pilot, lambda: "queue is clear" in str(fields.render()))
        seen["detail"] = str(fields.render())
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)
    assert seen == {"detail": "No pending tasks: the queue is clear"}


def test_help_at_80x24(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        seen["help"] = True
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)
    assert seen == {"help": True}
