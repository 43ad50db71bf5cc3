"""Rules in the app (dry run, live, pause) and the history view of what was sent."""

from __future__ import annotations

from textual.widgets import DataTable, Log
from ui_support import PENDING_IDS, admin_task, make_app, make_service, wait_for

from lexi_tui.rules import parse_rules
from lexi_tui.ui.history_screen import HistoryScreen
from lexi_tui.ui.main_screen import MainScreen
from lexi_tui.ui.rule_actions import DryRunScreen

RULES = parse_rules([
    # Would match campaign_start too if it were not protected: it names no type.
    {"name": "everything small", "action": "approve", "metadata": {"per_page": "<= 25"}},
    {"name": "no campaigns", "action": "approve", "description": "(?i)campaign"},
    {"name": "lists", "action": "dismiss", "type": "list_operation", "reason": "manual_execution"},
])


async def loaded(pilot) -> MainScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MainScreen) and pilot.app.screen.fetched_at is not None)
    return pilot.app.screen


async def test_dry_run_then_live_rules_leave_campaign_start_alone() -> None:
    # Latency gives the test time to pause the rules before the first list arrives.
    with make_service(latency_ms=(400, 400)) as service:
        app = make_app(service, rules=RULES)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            screen = app.screen
            await pilot.press("p")
            assert screen.rules_paused
            await wait_for(pilot, lambda: screen.fetched_at is not None)
            await pilot.press("R")
            assert isinstance(app.screen, DryRunScreen)
            would = {d.task.id: d.action for d in app.screen.decisions}
            await pilot.press("escape")
            campaign = PENDING_IDS[1]
            assert campaign not in would  # campaign_start is never auto-approved unless named.
            assert would[PENDING_IDS[0]] == "approve" and would[PENDING_IDS[5]] == "approve"
            assert would[PENDING_IDS[3]] == "dismiss"
            for task_id in PENDING_IDS:
                assert admin_task(service, task_id)["status"] == "pending"  # The dry run sent nothing.
            await pilot.press("p")  # Resume: the rules act now.
            await wait_for(pilot, lambda: all(t not in screen.table.visible_ids() for t in would), timeout=8)
            log = "\n".join(screen.query_one("#rules-log", Log).lines)
            assert "everything small" in log and "lists" in log
            await pilot.press("h")
            assert isinstance(app.screen, HistoryScreen)
            history = app.screen
            await wait_for(pilot, lambda: history.query_one(DataTable).row_count == len(would))
            sources = {entry.source for entry in history.entries}
            assert sources == {"rule:everything small", "rule:lists"}
            await pilot.press("slash", *"lists")
            assert history.query_one(DataTable).row_count == 1
        assert admin_task(service, campaign)["status"] == "pending"
        assert admin_task(service, PENDING_IDS[3])["reason"] == "manual_execution"
        assert admin_task(service, PENDING_IDS[0])["approve_count"] == 1
