"""The undo window, quitting with held actions, and marks."""

from __future__ import annotations

import json

import httpx

from lexi_tui.core.history import read
from lexi_tui.core.journal import HeldAction, HeldJournal
from lexi_tui.ui.dialogs.quit_dialog import QuitDialog
from lexi_tui.ui.widgets.status_bar import StatusBar
from support.app import KEY, PENDING_IDS, admin_task, loaded, make_app, wait_for


def approves_received(service) -> int:
    """Approve requests the service received, whatever their outcome (its own counter)."""
    stats = httpx.get(f"{service.root_url}/_admin/stats", timeout=5).json()["data"]
    return int(stats["by_endpoint"].get("POST /v1/lexi/tasks/{id}/approve", 0))



async def test_undo_inside_the_window_sends_nothing(service) -> None:
    app = make_app(service, undo_window=1.0)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await loaded(pilot)
        first = PENDING_IDS[0]
        await pilot.press("a")
        assert screen.table.current.id == PENDING_IDS[1]  # Moved on at once...
        assert screen.query_one(StatusBar).held == 1
        await wait_for(pilot, lambda: any("u takes it back until" in n.title for n in app._notifications))
        await pilot.press("u")
        assert screen.table.current.id == first  # ...and undo puts the task back under the cursor.
        await pilot.pause(1.5)  # Past the window: had undo not worked, it would have been sent by now.
        assert admin_task(service, first)["approve_count"] == 0
        assert approves_received(service) == 0 and read() == []  # Nothing sent, nothing recorded.
        assert first in screen.table.visible_ids() and not screen.journal.actions
        await pilot.press("a")
        await wait_for(pilot, lambda: first not in screen.table.visible_ids(), timeout=4)
    assert admin_task(service, first)["approve_count"] == 1


async def test_dismiss_is_held_too(service) -> None:
    app = make_app(service, undo_window=1.0)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        target = screen.table.current.id
        await pilot.press("d", "4", "enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert admin_task(service, target)["status"] == "pending"
        await wait_for(pilot, lambda: target not in screen.table.visible_ids(), timeout=4)
    record = admin_task(service, target)
    assert record["status"] == "dismissed" and record["reason"] == "duplicate"


async def test_quitting_with_held_actions_asks_send_or_drop(service) -> None:
    app = make_app(service, undo_window=30)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        first, second = PENDING_IDS[0], PENDING_IDS[2]
        await pilot.press("a")  # First task held...
        await pilot.press("q")
        assert isinstance(app.screen, QuitDialog)
        await pilot.press("escape")  # ...stay.
        assert app.screen is screen and app.is_running
        await pilot.press("q", "d")  # Drop: never sent.
        await wait_for(pilot, lambda: not app.is_running)
    assert admin_task(service, first)["approve_count"] == 0
    app = make_app(service, undo_window=30)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        assert screen.table.current.id == first
        await pilot.press("down", "down", "a", "q", "s")  # Send now, then quit.
        await wait_for(pilot, lambda: not app.is_running, timeout=8)
    assert admin_task(service, second)["approve_count"] == 1
    assert admin_task(service, first)["approve_count"] == 0
    assert approves_received(service) == 1  # The dropped one never left the machine.
    assert [(e.task_id, e.action, e.outcome, e.source) for e in read()] == [(second, "approve", "ok", "manual")]
    assert HeldJournal("test").leftovers() == []  # Nothing left to report at the next start.


async def test_actions_held_when_the_app_was_killed_are_reported_not_sent(service) -> None:
    journal = HeldJournal("test")
    journal.hold(HeldAction(PENDING_IDS[0], "prospect_search", "Search for 20 CEOs", "approve", None, 0))
    assert json.loads(journal.path.read_text())  # On disk, as a kill would leave it.
    app = make_app(service, undo_window=5)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await loaded(pilot)
        note = next(n for n in app._notifications if n.title == "Not sent")
        assert "Search for 20 CEOs" in note.message
    assert admin_task(service, PENDING_IDS[0])["approve_count"] == 0
    assert HeldJournal("test").leftovers() == []


async def test_marks_space_all_and_clear(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        bar = screen.query_one(StatusBar)
        await pilot.press("space", "space")
        assert list(screen.table.marked) == PENDING_IDS[:2]
        assert screen.table.current.id == PENDING_IDS[2]
        assert bar.marked == 2 and "2 marked" in bar.line
        await pilot.press("slash", *"search", "enter")
        searches = [PENDING_IDS[0], PENDING_IDS[4], PENDING_IDS[5]]  # The three prospect searches.
        assert screen.table.visible_ids() == searches
        await pilot.press("v")  # Mark all visible: the filtered ones, and only those...
        assert list(screen.table.marked) == [*PENDING_IDS[:2], PENDING_IDS[4], PENDING_IDS[5]]  # ...added to the marks.
        assert bar.marked == 4 and "4 marked" in bar.line
        await pilot.press("escape")  # The filter goes; the marks stay.
        assert len(screen.table.visible_ids()) == len(PENDING_IDS) and bar.marked == 4
        await pilot.press("V")
        assert not screen.table.marked and bar.marked == 0 and "marked" not in bar.line


async def test_bulk_approve_with_one_failing_keeps_it_marked(service) -> None:
    import httpx

    from lexi_tui.core.history import read
    from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog

    failing = {"id": "bulk-fails", "type": "prospect_search", "description": "Backend will fail this one",
               "created_at": "2026-11-23T11:45:00Z", "metadata": {"simulate": "approve_error"}}
    assert httpx.post(f"{service.root_url}/_admin/tasks", json=[failing]).status_code == 201
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        bar = screen.query_one(StatusBar)
        assert screen.table.current.id == "bulk-fails"
        await pilot.press("space", "space", "down", "space")  # Three marked; the campaign skipped.
        marked = list(screen.table.marked)
        assert marked == ["bulk-fails", PENDING_IDS[0], PENDING_IDS[2]]
        assert "3 marked" in bar.line
        await pilot.press("a")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        assert "Approve 3 marked tasks?" in str(dialog.query_one(".dialog-title").render())
        # One confirmation that says how many of each type.
        assert str(dialog.query_one("#bulk-body").render()).startswith("2 prospect_search, 1 contact_update")
        assert admin_task(service, PENDING_IDS[0])["approve_count"] == 0  # Nothing before the answer.
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.phase == "done", timeout=8)
        summary = dialog.summary
        assert [t.id for t in summary.succeeded] == [PENDING_IDS[0], PENDING_IDS[2]]
        assert [t.id for t, _ in summary.failed] == ["bulk-fails"]
        shown = str(dialog.query_one("#bulk-summary").render())
        assert "Approved 2 of 3 tasks" in shown
        # Which failed and why, and which succeeded, by name.
        assert "✘ Backend will fail this one — Execution backend unavailable (HTTP 500" in shown
        assert "✔ Search for 20 CEOs at law firms in New York" in shown
        assert "✔ Set lifecycle stage to 'qualified'" in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert list(screen.table.marked) == ["bulk-fails"]  # Retrying is one key.
        assert bar.marked == 1 and "1 marked" in bar.line
        assert PENDING_IDS[0] not in screen.table.visible_ids()
    assert admin_task(service, PENDING_IDS[0])["approve_count"] == 1
    assert admin_task(service, PENDING_IDS[2])["approve_count"] == 1
    failed = admin_task(service, "bulk-fails")
    assert (failed["status"], failed["approve_count"]) == ("pending", 0)
    logged = {(e.task_id, e.outcome, e.source, e.profile) for e in read()}
    assert logged == {(PENDING_IDS[0], "ok", "bulk", "test"), (PENDING_IDS[2], "ok", "bulk", "test"),
                      ("bulk-fails", "failed", "bulk", "test")}


async def test_bulk_summary_names_the_already_handled(service) -> None:
    import httpx

    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("space", "down", "space")  # The first and third tasks.
        # Someone else dismisses the third one meanwhile, with the same key.
        other = httpx.post(f"{service.base_url}/v1/lexi/tasks/{PENDING_IDS[2]}/dismiss",
                           headers={"Authorization": f"Bearer {KEY}"}, json={"reason": "duplicate"}, timeout=5)
        assert other.status_code == 200
        await pilot.press("a", "y")
        dialog = app.screen
        await wait_for(pilot, lambda: getattr(dialog, "phase", None) == "done", timeout=8)
        shown = str(dialog.query_one("#bulk-summary").render())
        assert "Approved 1 of 2 tasks. 1 was already handled" in shown
        assert "• already handled: Set lifecycle stage to 'qualified'" in shown
        assert "✔ Search for 20 CEOs at law firms in New York" in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert not screen.table.marked  # Handled elsewhere: nothing left to retry.
        assert PENDING_IDS[2] not in screen.table.visible_ids()
    assert admin_task(service, PENDING_IDS[2])["approve_count"] == 0


async def test_bulk_dismiss_with_one_reason_and_cancel_part_way() -> None:
    from support.app import make_service

    with make_service(latency_ms=(250, 250)) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            await pilot.press("v")  # Mark all six pending tasks.
            await pilot.press("d", "5", "enter")  # One reason for all: testing.
            from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog

            await wait_for(pilot, lambda: isinstance(app.screen, BulkDialog))
            dialog = app.screen
            await pilot.press("y")
            await wait_for(pilot, lambda: dialog.summary is None and len(screen.state.inflight) == 6)
            await pilot.pause(0.6)
            await pilot.press("escape")  # Stop part-way.
            await wait_for(pilot, lambda: dialog.phase == "done", timeout=8)
            summary = dialog.summary
            assert summary.cancelled and summary.not_sent and summary.succeeded
            await pilot.press("enter")
            sent = [t.id for t in summary.succeeded]
            assert set(screen.table.marked) == {t.id for t in summary.not_sent}
        for task_id in PENDING_IDS:
            record = admin_task(service, task_id)
            if task_id in sent:
                assert record["status"] == "dismissed" and record["reason"] == "testing"
            else:
                assert record["dismiss_count"] == 0


async def test_bulk_run_waits_for_the_rate_limit_instead_of_collecting_429s() -> None:
    from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog
    from support.app import make_service

    # Four calls per 2 s: the list and six approvals cannot fit in one window.
    with make_service(rate_limit=4, rate_window=2) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            await pilot.press("v", "a")
            dialog = app.screen
            assert isinstance(dialog, BulkDialog)
            await pilot.press("y")
            status = dialog.query_one("#bulk-status")
            await wait_for(pilot, lambda: "Waiting for the rate limit: " in str(status.render()), timeout=8)
            await wait_for(pilot, lambda: dialog.phase == "done", timeout=10)
            summary = dialog.summary
            assert len(summary.succeeded) == 6 and summary.waited > 0
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is screen)
            assert screen.table.task_count == 0 and not screen.table.marked
        stats = httpx.get(f"{service.root_url}/_admin/stats", timeout=5).json()["data"]
        assert stats["rate_limited"] == 0 and "429" not in stats["by_status"]
        assert approves_received(service) == 6
        assert all(admin_task(service, t)["approve_count"] == 1 for t in PENDING_IDS)


async def test_a_second_enter_after_the_reason_does_not_start_a_bulk_run(service) -> None:
    from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog

    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("space", "space")
        await pilot.press("d", "5", "enter", "enter")  # Enter chose the reason; a reflex Enter follows.
        dialog = app.screen
        assert isinstance(dialog, BulkDialog) and dialog.phase == "confirm"
        await pilot.pause(0.3)
        assert [admin_task(service, t)["dismiss_count"] for t in PENDING_IDS[:2]] == [0, 0]
        await pilot.press("y")  # Only y (or the button) starts it.
        await wait_for(pilot, lambda: dialog.phase == "done", timeout=8)
        await pilot.press("enter")  # Enter closes the summary.
        await wait_for(pilot, lambda: app.screen is screen)
    assert [admin_task(service, t)["reason"] for t in PENDING_IDS[:2]] == ["testing", "testing"]


async def test_quit_during_a_bulk_run_waits_for_it_to_be_stopped() -> None:
    from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog
    from support.app import make_service

    with make_service(latency_ms=(300, 300)) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await loaded(pilot)
            await pilot.press("v", "a", "y")
            dialog = app.screen
            assert isinstance(dialog, BulkDialog)
            await wait_for(pilot, lambda: approves_received(service) >= 1)
            await pilot.press("q")  # Mid-run: the app stays, and says how to stop.
            assert app.is_running and app.screen is dialog and dialog.phase == "running"
            assert any("esc to stop it" in n.message for n in app._notifications)
            await pilot.press("escape")
            await wait_for(pilot, lambda: dialog.phase == "done", timeout=8)
            sent = {t.id for t in dialog.summary.succeeded}
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is screen)
            await pilot.press("q")
            await wait_for(pilot, lambda: not app.is_running)
        # Every approval the service applied has its line in the history.
        applied = {t for t in PENDING_IDS if admin_task(service, t)["approve_count"] == 1}
        assert applied == sent and 1 <= len(sent) < len(PENDING_IDS)
        assert {e.task_id for e in read()} == sent
