"""Rules in the app (dry run, live, pause) and the history view of what was sent."""

from __future__ import annotations

import httpx
from textual.widgets import DataTable, Log

from lexi_tui.core.history import read
from lexi_tui.core.rules import parse_rules
from lexi_tui.ui.dialogs.rules_dry_run import DryRunScreen
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.screens.history_screen import HistoryScreen
from lexi_tui.ui.widgets.status_bar import StatusBar
from support.app import PENDING_IDS, admin_task, loaded, make_app, make_service, wait_for

RULES = parse_rules([
    # Would match campaign_start too if it were not protected: it names no type.
    {"name": "everything small", "action": "approve", "metadata": {"per_page": "<= 25"}},
    {"name": "no campaigns", "action": "approve", "description": "(?i)campaign"},
    {"name": "lists", "action": "dismiss", "type": "list_operation", "reason": "manual_execution"},
])



async def test_dry_run_then_live_rules_leave_campaign_start_alone() -> None:
    # Latency gives the test time to pause the rules before the first list arrives.
    with make_service(latency_ms=(400, 400)) as service:
        app = make_app(service, rules=RULES)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            screen = app.screen
            await pilot.press("p")
            assert screen.state.rules_paused
            await wait_for(pilot, lambda: screen.state.fetched_at is not None)
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
            # Why each rule acted is kept with it: the explanation shown in the log (where the
            # verb is in the past tense: "✔ approved 'Search…' (rule …)").
            assert all(entry.comment and entry.comment.split(" ", 1)[1] in log for entry in history.entries)
            await pilot.press("slash", *"lists")
            assert history.query_one(DataTable).row_count == 1
        assert admin_task(service, campaign)["status"] == "pending"
        assert admin_task(service, PENDING_IDS[3])["reason"] == "manual_execution"
        assert admin_task(service, PENDING_IDS[0])["approve_count"] == 1


def writes(service) -> int:
    """Approve and dismiss requests the service received (the judge of what was sent)."""
    counts = httpx.get(f"{service.root_url}/_admin/stats", timeout=5).json()["data"]["by_endpoint"]
    return sum(n for label, n in counts.items() if label.startswith("POST /v1/lexi/tasks/"))


async def test_pausing_stops_a_rules_run_part_way() -> None:
    rules = parse_rules([
        {"name": "searches", "action": "approve", "type": "prospect_search"},
        {"name": "lists", "action": "dismiss", "type": "list_operation", "reason": "manual_execution"},
    ])
    matched = [PENDING_IDS[0], PENDING_IDS[3], PENDING_IDS[4], PENDING_IDS[5]]
    with make_service(latency_ms=(300, 300)) as service:
        app = make_app(service, rules=rules)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            screen = app.screen
            await wait_for(pilot, lambda: writes(service) >= 1, timeout=8)  # The first is on its way...
            await pilot.press("p")  # ...and the user pauses the rules.
            await wait_for(pilot, lambda: not screen.state.inflight, timeout=8)
            log = "\n".join(screen.query_one("#rules-log", Log).lines)
            assert "rules paused" in log and "not sent" in log
            await pilot.pause(0.7)  # Longer than a request takes: nothing else goes out.
            sent = writes(service)
            assert 1 <= sent <= 2  # The request in flight when p was pressed may complete; no more.
            still = [t for t in matched if admin_task(service, t)["status"] == "pending"]
            assert len(still) == len(matched) - sent
            assert all(t in screen.table.visible_ids() and t not in screen.table.busy for t in still)


async def test_a_rule_action_that_keeps_failing_is_left_for_a_person() -> None:
    failing = {"id": "rule-fails", "type": "prospect_search", "description": "Backend will fail this one",
               "created_at": "2026-11-23T11:45:00Z", "metadata": {"simulate": "approve_error", "per_page": 5}}
    rules = parse_rules([{"name": "tiny searches", "action": "approve", "metadata": {"per_page": "<= 5"}}])
    with make_service() as service:
        assert httpx.post(f"{service.root_url}/_admin/tasks", json=[failing]).status_code == 201
        app = make_app(service, rules=rules)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            for _ in range(5):
                await wait_for(pilot, lambda: not screen.state.inflight and not screen.state.refreshing)
                await pilot.press("r")
                await wait_for(pilot, lambda: not screen.state.refreshing)
            await wait_for(pilot, lambda: not screen.state.inflight)
            log = "\n".join(screen.query_one("#rules-log", Log).lines)
            assert log.count("✘ approve failed for Backend will fail this one") == 3
            assert "left for you" in log
            assert "rule-fails" in screen.table.visible_ids()
        assert writes(service) == 3  # Six refreshes, three attempts, as `lexi-tui watch` does.
        assert admin_task(service, "rule-fails")["status"] == "pending"


async def test_history_after_manual_bulk_and_rule_actions(service) -> None:
    import json
    import re

    from lexi_tui.core.history import history_path
    from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog

    rules = parse_rules([{"name": "lists", "action": "dismiss", "type": "list_operation", "reason": "manual_execution"}])
    app = make_app(service, rules=rules)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await wait_for(pilot, lambda: PENDING_IDS[3] not in screen.table.visible_ids())  # The rule acted.
        assert screen.table.select(PENDING_IDS[0])
        await pilot.press("a")  # Manual approve (no undo window here).
        await wait_for(pilot, lambda: PENDING_IDS[0] not in screen.table.visible_ids())
        assert screen.table.select(PENDING_IDS[1])
        await pilot.press("d", "4", "enter")  # Manual dismiss, reason "duplicate".
        await wait_for(pilot, lambda: app.screen is screen and PENDING_IDS[1] not in screen.table.visible_ids())
        for task_id in (PENDING_IDS[2], PENDING_IDS[5]):
            assert screen.table.select(task_id)
            await pilot.press("space")
        await pilot.press("a", "y")  # Bulk approve the two marked.
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        await wait_for(pilot, lambda: dialog.phase == "done", timeout=8)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)

        await pilot.press("h")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 5)

        def column(index: int) -> list[str]:
            return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]

        # Newest first: the bulk run, the manual dismiss and approve, the rule's dismiss.
        assert column(4) == ["bulk", "bulk", "manual", "manual", "rule:lists"]
        assert column(1) == ["approve", "approve", "dismiss", "approve", "dismiss"]
        assert column(3)[0] == "Search for 25 partners at accounting firms in Chicago"
        detail = history.query_one("#history-detail")
        shown = str(detail.render())  # Everything about the highlighted (newest) entry.
        assert shown.startswith("Search for 25 partners at accounting firms in Chicago\n")
        assert f"task {PENDING_IDS[5]} · prospect_search · bulk · profile test\nrequest req_" in shown
        await pilot.press("down", "down")
        assert "reason: duplicate" in str(detail.render())
        await pilot.press("down", "down")
        shown = str(detail.render())
        assert "reason: manual_execution" in shown and "comment: dismiss 'Create list" in shown
        await pilot.press("slash", *"bulk")
        assert column(4) == ["bulk", "bulk"]
        assert "2 of 5 entries" in str(history.query_one("#history-status").render())
        await pilot.press("escape")  # Clears the filter and goes back to the table...
        assert table.row_count == 5 and app.screen is history and table.has_focus
        await pilot.press("slash", *"approve search")  # In the filter, "h" is a letter, not "close".
        assert app.screen is history and column(3) == [
            "Search for 25 partners at accounting firms in Chicago", "Search for 20 CEOs at law firms in New York"]
        await pilot.press("escape", "h")  # ...and after Esc, h closes (it used to type into the filter).
        assert app.screen is screen

    lines = [json.loads(line) for line in history_path().read_text(encoding="ascii").splitlines()]
    assert [(e["task_id"], e["action"], e["source"]) for e in lines] == [
        (PENDING_IDS[3], "dismiss", "rule:lists"), (PENDING_IDS[0], "approve", "manual"),
        (PENDING_IDS[1], "dismiss", "manual"), (PENDING_IDS[2], "approve", "bulk"), (PENDING_IDS[5], "approve", "bulk")]
    for entry in lines:  # Every field the issue asks for, filled in.
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
        assert entry["profile"] == "test" and entry["outcome"] == "ok"
        assert entry["task_type"] == admin_task(service, entry["task_id"])["type"]
        assert entry["description"] == admin_task(service, entry["task_id"])["description"]
        assert re.fullmatch(r"req_[0-9a-f]{24}", entry["request_id"] or ""), entry
    assert [e["reason"] for e in lines] == ["manual_execution", None, "duplicate", None, None]
    assert lines[0]["comment"].startswith("dismiss 'Create list")  # The rule's explanation.
    assert {admin_task(service, t)["status"] for t in (PENDING_IDS[0], PENDING_IDS[2], PENDING_IDS[5])} <= {
        "approved", "completed"}


async def test_a_rule_that_names_campaign_start_does_approve_it(service) -> None:
    rules = parse_rules([
        {"name": "any campaign by description", "action": "approve", "description": "(?i)campaign"},
        {"name": "Q2 campaign", "action": "approve", "type": "campaign_start", "metadata": {"contact_count": "<= 150"}},
    ])
    campaign = PENDING_IDS[1]
    app = make_app(service, rules=rules)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await wait_for(pilot, lambda: campaign not in screen.table.visible_ids() and not screen.state.inflight)
        log = "\n".join(screen.query_one("#rules-log", Log).lines)
        assert "(rule 'Q2 campaign': type campaign_start, contact_count 150 <= 150)" in log
        assert "any campaign by description" not in log  # The first rule never got it.
    assert admin_task(service, campaign)["approve_count"] == 1
    assert [(e.task_id, e.source) for e in read()] == [(campaign, "rule:Q2 campaign")]


async def test_keeping_a_filter_leaves_paused_rules_paused(service) -> None:
    rules = parse_rules([{"name": "nothing here", "action": "approve", "type": "no_such_type"}])
    app = make_app(service, rules=rules)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        bar = screen.query_one(StatusBar)
        await pilot.press("p")
        assert "rules paused" in bar.line
        for _ in range(2):
            await pilot.press("slash", *"texas", "enter")
            assert screen.table.has_focus and screen.table.task_count == 1
        await pilot.pause()
        assert "rules paused" in bar.line
        assert screen.state.rules_paused
        log = screen.query_one("#rules-log", Log).lines
        assert sum("rule(s) active" in line for line in log) == 1  # Said once, at start.
        assert log[-1].endswith("rules paused: nothing is acted on automatically")
