"""Snapshot tests for triage at speed (issue 5): the bulk confirmation and summary, the
history view, the rules log and the rules dry run.

Same pattern as test_snapshots.py: each `run_before` brings the app to a state by waiting
on state (never on time) and notes what it saw in `seen`, asserted after the comparison.
Besides the pinned clock of conftest.py, these screens show three more things that would
change from run to run, so they are pinned here too:
- the service's request ids (quoted in error messages): a counter instead of random hex;
- the history's timestamps: one second apart from FIXED_NOW, in the order written;
- the "updated … ago" label: re-armed just before the picture is taken.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.widgets import DataTable, Log

from lexi_tui.core.rules import parse_rules
from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog
from lexi_tui.ui.dialogs.rules_dry_run import DryRunScreen
from lexi_tui.ui.screens.history_screen import HistoryScreen
from lexi_tui.ui.widgets.status_bar import StatusBar
from tools.screenshots.pilot import FIXED_NOW, loaded, settle, wait_until

WIDE = (120, 36)
FIXTURE_TASKS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "tasks.json").read_text(encoding="utf-8")
)
PENDING_IDS = [t["id"] for t in FIXTURE_TASKS if t["status"] == "pending"]
FAILING = {
    "id": "7c1e9a52-0011-4000-8000-000000000011", "type": "prospect_search", "status": "pending",
    "description": "Search for 10 GCs at banks in Boston", "created_at": "2026-11-23T11:45:00Z",
    "metadata": {"query": {"person_titles": ["General Counsel"]}, "per_page": 10, "simulate": "approve_error"},
}
"""The service refuses to approve this one (a 500), so the bulk run has a failure to show."""
RULES = parse_rules([
    {"name": "small searches", "action": "approve", "type": "prospect_search", "metadata": {"per_page": "<= 25"}},
    {"name": "lists by hand", "action": "dismiss", "type": "list_operation", "reason": "manual_execution"},
    # Names no type: it must never approve the campaign_start whose description it matches.
    {"name": "campaigns", "action": "approve", "description": "(?i)campaign"},
])


@pytest.fixture(autouse=True)
def _pinned_ids_and_history_times(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = itertools.count(1)
    monkeypatch.setattr("lexi_tui.server.app.secrets", SimpleNamespace(token_hex=lambda n: f"{next(ids):0{2 * n}x}"))
    seconds = itertools.count(1)
    moment = FIXED_NOW.strftime("%Y-%m-%dT%H:%M")
    monkeypatch.setattr("lexi_tui.core.history.now_iso", lambda: f"{moment}:{next(seconds):02d}.000Z")


def pin_time_based(screen: Any) -> None:
    """"updated just now" however long the steps took on a busy machine, and no toasts
    (each vanishes after a few seconds: whether it is on the picture would depend on speed)."""
    screen.state.fetched_at = time.time()
    screen.refresher.update_clock()
    screen.actions.toasts.flush()  # A gathered action toast would otherwise arrive a moment later.
    screen.app.clear_notifications()


async def mark(pilot: Any, screen: Any, *task_ids: str) -> None:
    for task_id in task_ids:
        assert screen.table.select(task_id)
        await pilot.press("space")


async def bulk_approve_three(pilot: Any, seen: dict[str, Any], *, run: bool) -> Any:
    """Mark the failing search, the campaign and the contact update; `a`; optionally `y`."""
    screen = await loaded(pilot)
    await mark(pilot, screen, FAILING["id"], PENDING_IDS[1], PENDING_IDS[2])
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, BulkDialog))
    dialog = pilot.app.screen
    seen["marked"] = screen.query_one(StatusBar).marked
    if run:
        await pilot.press("y")
        await wait_until(pilot, lambda: dialog.phase == "done", timeout=15)
    return screen, dialog


def test_bulk_confirmation(snap_compare, start_service, make_app) -> None:
    start_service(tasks=(*FIXTURE_TASKS, FAILING))
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen, dialog = await bulk_approve_three(pilot, seen, run=False)
        seen["title"] = str(dialog.query_one(".dialog-title").render())
        seen["body"] = str(dialog.query_one("#bulk-body").render())
        seen["phase"] = dialog.phase
        pin_time_based(screen)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    assert seen == {
        "marked": 3,
        "title": "Approve 3 marked tasks?",
        "body": "1 prospect_search, 1 campaign_start, 1 contact_update\n"
        "1 campaign_start: 'Q2 Outreach' (150 contacts): real people will be contacted.\n"
        "3 calls: about 1 s.\n"  # The service reports no rate limit: no share of a quota to give.
        "Sent one at a time, at once: a bulk run has no undo window.",
        "phase": "confirm",
    }


def test_bulk_summary_with_one_failure(snap_compare, start_service, make_app) -> None:
    start_service(tasks=(*FIXTURE_TASKS, FAILING))
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen, dialog = await bulk_approve_three(pilot, seen, run=True)
        summary = dialog.summary
        seen["succeeded"] = [t.id for t in summary.succeeded]
        seen["failed"] = [t.id for t, _ in summary.failed]
        seen["summary"], seen["failure"] = str(dialog.query_one("#bulk-summary").render()).splitlines()[:2]
        pin_time_based(screen)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=WIDE, run_before=run_before)
    assert seen == {
        "marked": 3,
        "succeeded": [PENDING_IDS[1], PENDING_IDS[2]],
        "failed": [FAILING["id"]],
        "summary": "Approved 2 of 3 tasks. 1 failed.",
        "failure": "✘ Search for 10 GCs at banks in Boston — Execution backend unavailable "
        "(HTTP 500, request req_000000000000000000000002)",
    }


def test_history_view(snap_compare, start_service, make_app) -> None:
    start_service(tasks=(*FIXTURE_TASKS, FAILING))
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen, _dialog = await bulk_approve_three(pilot, seen, run=True)
        await pilot.press("enter")  # Close the summary.
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        await pilot.press("V")  # Clear the failed one's mark: `d` would act on the marked tasks.
        assert screen.table.select(PENDING_IDS[3])
        await pilot.press("d", "2", "enter")  # A manual dismiss: manual_execution.
        await wait_until(pilot, lambda: pilot.app.screen is screen and PENDING_IDS[3] not in screen.table.visible_ids())
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen))
        history = pilot.app.screen
        table = history.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 4)
        seen["times"] = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        seen["outcomes"] = [str(table.get_row_at(row)[2]) for row in range(table.row_count)]
        await pilot.press("down", "down", "down")  # The failed one: why it failed shows under the table.
        seen["detail"] = str(history.query_one("#history-detail").render()).splitlines()
        pin_time_based(screen)
        await settle(pilot)

    # Undo window 0: the dismissal is sent at once (no 5 s hold to wait out).
    assert snap_compare(make_app(undo_window=0), terminal_size=WIDE, run_before=run_before)
    assert seen == {
        "marked": 3,
        "times": ["2026-11-23 12:00:04", "2026-11-23 12:00:03", "2026-11-23 12:00:02", "2026-11-23 12:00:01"],
        "outcomes": ["ok", "ok", "ok", "failed"],
        "detail": [
            "Search for 10 GCs at banks in Boston",
            "task 7c1e9a52-0011-4000-8000-000000000011 · prospect_search · bulk · profile test",
            "request req_000000000000000000000002 · "
            "error: Execution backend unavailable (HTTP 500, request req_000000000000000000000002)",
        ],
    }


def test_rules_log_after_a_live_run(snap_compare, service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        screen = await loaded(pilot)
        acted = {PENDING_IDS[0], PENDING_IDS[3], PENDING_IDS[5]}
        await wait_until(pilot, lambda: not screen.state.inflight and not acted & set(screen.table.visible_ids()))
        log = screen.query_one("#rules-log", Log)
        seen["log"] = [line.split(" (rule")[0] for line in log.lines]
        seen["rows"] = screen.table.visible_ids()
        seen["rules"] = screen.query_one(StatusBar).rules
        pin_time_based(screen)
        await settle(pilot)

    assert snap_compare(make_app(rules=RULES), terminal_size=WIDE, run_before=run_before)
    assert seen == {
        "log": [
            "3 rule(s) active; p pauses them, R shows a dry run",
            # The rule runner's words, as `lexi-tui watch` logs them: what was done, in the past.
            "✔ approved 'Search for 20 CEOs at law firms in New…'",
            "✔ dismissed 'Create list 'Legal – West Coast' from 8…' with reason 'manual_execution'",
            "✔ approved 'Search for 25 partners at accounting fi…'",
        ],
        "rows": [PENDING_IDS[1], PENDING_IDS[2], PENDING_IDS[4]],  # The campaign is still there.
        "rules": "on",
    }


def test_rules_dry_run(snap_compare, start_service, make_app) -> None:
    # Latency gives the pilot time to pause the rules before the first list arrives.
    start_service(latency_ms=(400, 400))
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        from lexi_tui.ui.main.screen import MainScreen

        await wait_until(pilot, lambda: isinstance(pilot.app.screen, MainScreen))
        screen = pilot.app.screen
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.state.fetched_at is not None and screen.table.task_count == 6)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, DryRunScreen))
        seen["would"] = [(d.task.id, d.action, d.rule.name) for d in pilot.app.screen.decisions]
        seen["rules"] = screen.query_one(StatusBar).rules
        pin_time_based(screen)
        await settle(pilot)

    assert snap_compare(make_app(rules=RULES), terminal_size=WIDE, run_before=run_before)
    assert seen == {
        "would": [
            (PENDING_IDS[0], "approve", "small searches"),
            (PENDING_IDS[3], "dismiss", "lists by hand"),
            (PENDING_IDS[5], "approve", "small searches"),
        ],
        "rules": "paused",
    }
