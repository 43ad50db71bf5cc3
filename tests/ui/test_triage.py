"""The triage workflow, driven with the pilot against the local service over HTTP."""

from __future__ import annotations

import time

from textual.widgets import Input, Tabs

from faults.fault_support import endpoint_count, exhaust_rate_limit, record_notifications
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.widgets.chat_panel import ChatPanel, TaskCard
from lexi_tui.ui.widgets.status_bar import StatusBar
from support.app import PENDING_IDS, admin_task, loaded, make_app, make_service, restart, screen_row, wait_for


def main(app) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen), f"expected the main screen, got {screen!r}"
    return screen


async def test_opens_on_pending_with_counts_and_navigates(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        assert screen.state.view == "pending"
        assert screen.query_one(Tabs).active == "view-pending"
        assert screen.table.visible_ids() == PENDING_IDS
        assert str(screen.query_one("#view-pending").label) == f"Pending {len(PENDING_IDS)}"
        assert screen.table.current.id == PENDING_IDS[0]
        assert screen.detail.shown.id == PENDING_IDS[0]
        await pilot.press("down", "down")
        assert screen.table.current.id == PENDING_IDS[2]
        assert screen.detail.shown.id == PENDING_IDS[2]
        await wait_for(pilot, lambda: any('"lifecycle_stage"' in line for line in screen.detail.json_view.lines))
        await pilot.press("3")  # The completed view, fetched on demand.
        await wait_for(pilot, lambda: screen.state.view == "completed" and screen.table.task_count == 1)
        assert screen.table.current.status == "completed"
        await pilot.press("1")
        assert screen.table.current.id == PENDING_IDS[0]


async def test_approve_advances_and_the_task_completes(service) -> None:
    app = make_app(service, refresh_interval=1)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await loaded(pilot)
        first = PENDING_IDS[0]
        await pilot.press("a")
        assert screen.table.current.id == PENDING_IDS[1]  # Auto-advance, at once.
        await wait_for(pilot, lambda: first not in screen.table.visible_ids())
        assert admin_task(service, first)["status"] in ("approved", "completed")
        # Live refresh follows the executing task until it completes, then says so. (A live
        # refresh can take the row away before the approve's answer is handled, so wait for
        # what the user sees, not for the follow list to be empty.)
        await wait_for(pilot, lambda: "Task completed" in [n.title for n in app._notifications], timeout=8)
        assert admin_task(service, first)["status"] == "completed"
        assert not screen.state.executing


async def test_campaign_start_asks_first(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("down")
        campaign = screen.table.current
        assert campaign.type == "campaign_start"
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert admin_task(service, campaign.id)["status"] == "pending"
        await pilot.press("a")
        await pilot.press("y")
        await wait_for(pilot, lambda: admin_task(service, campaign.id)["status"] != "pending")


async def test_double_press_sends_one_approval() -> None:
    with make_service(latency_ms=(300, 300)) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            last = PENDING_IDS[-1]
            await pilot.press("G")  # The last task: the cursor cannot advance past it.
            assert screen.table.current.id == last
            await pilot.press("a", "a", "a")
            await wait_for(pilot, lambda: last not in screen.table.visible_ids())
        record = admin_task(service, last)
    assert record["approve_count"] == 1


async def test_dismiss_with_a_preset_and_with_free_text(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        first, second = PENDING_IDS[0], PENDING_IDS[1]
        await pilot.press("d")
        assert isinstance(app.screen, DismissDialog)
        await pilot.press("2", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: first not in screen.table.visible_ids())
        assert admin_task(service, first)["reason"] == "manual_execution"
        assert screen.table.current.id == second
        await pilot.press("d", "o")
        await pilot.press(*"wrong city")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        record = admin_task(service, second)
    assert record["status"] == "dismissed" and record["reason"] == "wrong city"


async def test_failed_dismiss_keeps_the_text_and_retries(tmp_path) -> None:
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            target = screen.table.current.id
            await pilot.press("d", "o", *"keep me")
            service.stop()  # The service goes away before Enter.
            await pilot.press("enter")
            dialog = app.screen
            assert isinstance(dialog, DismissDialog)
            await wait_for(pilot, lambda: not dialog.sending)
            assert dialog.query_one("#reason-text", Input).value == "keep me"
            assert "Not sent" in str(dialog.query_one("#dismiss-status").render())
            with restart(service) as back:  # ...and comes back: Enter tries again.
                await pilot.press("enter")
                await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), timeout=8)
                record = admin_task(back, target)
    assert record["reason"] == "keep me" and record["dismiss_count"] == 1


async def test_chat_proposes_a_task_that_is_approved_from_the_chat(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("c")
        chat = screen.query_one(ChatPanel)
        assert chat.display
        await pilot.press(*"Find 50 CEOs at law firms in California")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(chat.query(TaskCard)) == 1)
        card = chat.query_one(TaskCard)
        assert chat.conversation_id
        # The new task is selected in the list.
        await wait_for(pilot, lambda: screen.table.current is not None and screen.table.current.id == card.task_id)
        await pilot.click("#card-approve")
        await wait_for(pilot, lambda: admin_task(service, card.task_id)["status"] != "pending")
        await wait_for(pilot, lambda: card.has_class("-done"))
        conversation = chat.conversation_id
        await pilot.press(*"thanks")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(chat.query(".chat-lexi")) == 2)
        assert chat.conversation_id == conversation


async def test_429_backs_off_and_says_so() -> None:
    """The minute's calls were spent elsewhere (the same key on another machine): r meets a
    429, the bar says the limit and when calls resume, and nothing is sent until then."""
    with make_service(rate_limit=3) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            bar = screen.query_one(StatusBar)
            exhaust_rate_limit(service, at_least=3.0)
            before = endpoint_count(service, "GET /v1/lexi/tasks")
            await pilot.press("r")
            await wait_for(pilot, lambda: bar.connection == "rate-limited")
            assert "rate-limited this minute" in bar.detail and "calls resume" in bar.detail
            assert screen.state.retry_at is not None and screen.state.retry_at > time.time()
            await pilot.press("r")  # Again, inside the minute: said, not sent.
            await pilot.pause(0.5)
            assert endpoint_count(service, "GET /v1/lexi/tasks") == before + 1


async def test_r_with_the_minute_used_up_sends_nothing_and_says_when() -> None:
    """The app's own calls used the minute (headers said 0 left): r is not sent into a
    certain 429; a toast says when the list refreshes instead."""
    with make_service(rate_limit=2) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)  # One call.
            await pilot.press("r")  # Two: the headers now say none left this minute.
            await wait_for(pilot, lambda: not screen.state.refreshing)
            calls = endpoint_count(service, "GET /v1/lexi/tasks")
            await pilot.press("r")
            await wait_for(pilot, lambda: any("refresh" in message for _, message, _ in seen))
            await pilot.pause(0.3)
            assert endpoint_count(service, "GET /v1/lexi/tasks") == calls
            said = " ".join(message for _, message, _ in seen)
            assert "(in " in said, said


async def test_service_going_away_and_coming_back(tmp_path) -> None:
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            bar = screen.query_one(StatusBar)
            service.stop()
            await pilot.press("r")
            await wait_for(pilot, lambda: bar.connection == "offline")
            assert "retrying" in bar.detail
            assert screen.table.task_count == len(PENDING_IDS)  # The last data stays visible.
            with restart(service):
                await wait_for(pilot, lambda: not screen.state.refreshing)
                await pilot.press("r")
                await wait_for(pilot, lambda: bar.connection == "online")


async def test_filter_narrows_and_escape_clears(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash", *"texas")
        assert screen.table.task_count == 1
        assert "Texas" in screen.table.current.description
        await pilot.press("enter")
        assert screen.table.has_focus
        await pilot.press("escape")
        assert screen.table.task_count == len(PENDING_IDS)


async def test_marked_count_stays_on_screen_at_80_columns_while_offline(tmp_path) -> None:
    with make_service(db_path=str(tmp_path / "lexi.db")) as service:
        app = make_app(service)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await loaded(pilot)
            bar = screen.query_one(StatusBar)
            await pilot.press("space", "space")
            service.stop()
            await pilot.press("r")
            await wait_for(pilot, lambda: bar.connection == "offline")
            await pilot.pause()
            line = screen_row(app, bar.region.y)
    assert "○ offline" in line
    assert "◆ 2 marked" in line  # Not pushed off the line by the long connection detail...
    assert " · retrying " in line and "…" in line  # ...which is cut to the room left.
    assert len(line.rstrip()) <= 80


async def test_approving_a_task_that_no_longer_exists_says_not_found(service) -> None:
    """A 404 is "not found" (it does not exist, or this key cannot see it), never "already
    handled"; the history says not_found."""
    from lexi_tui.api.models import Task
    from lexi_tui.core.history import read

    app = make_app(service)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await loaded(pilot)
        gone = Task.from_api({"id": "deleted-meanwhile", "type": "prospect_search", "status": "pending",
                              "description": "A task deleted since the list was read"})
        screen.store("pending", [gone, *screen.state.pending()])
        assert screen.table.select(gone.id)
        await pilot.press("a")
        await wait_for(pilot, lambda: any(n.title == "Could not approve: not found" for n in app._notifications))
        note = next(n for n in app._notifications if n.title == "Could not approve: not found")
        assert "it does not exist, or this key cannot see it" in note.message
        await wait_for(pilot, lambda: gone.id not in screen.table.visible_ids())  # Refreshed away.
    assert [(e.task_id, e.outcome) for e in read()] == [(gone.id, "not_found")]
