"""Issue 6, "Faults": a soak at the Starter plan's limit with live refresh on.

Starter allows 10 calls a minute. A minute is too long for a test, so time is scaled by
1/10: the service limits to 10 calls per 6-second window, and the app's refresh budget is
told the window is 6 s too. AppSettings cannot carry the window (RefreshBudget is built in
`LexiApp._start` from `refresh_interval` alone and `RefreshBudget.window` defaults to
`budget.WINDOW_SECONDS`, bound when the dataclass was defined), so the test swaps in a
RefreshBudget with `window=6` where the app builds it.

Scaled the same way, a configured `refresh_interval` of 5 s (real time) is 0.5 s, which
the budget's own 1 s floor turns into 1 s: `refresh_interval=1` gives exactly the real
pacing (max(interval, 12 s per call) at 60 s becomes max(1 s, 1.2 s per call) at 6 s).

For ~75 s a person approves or dismisses the task under the cursor every 3 s (30 s in real
time), answers the confirmation for campaigns, while Lexi queues new tasks now and then.
The service's counters are the judge: not one 429, and every action applied exactly once.
"""

from __future__ import annotations

import asyncio
import functools
import time

import httpx
import pytest
from fault_support import (
    APPROVE,
    DISMISS,
    LIST,
    admin_task,
    assert_alive,
    loaded,
    make_app,
    make_service,
    record_notifications,
    stats,
    wait_for,
)

from lexi_tui.core.budget import RefreshBudget
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.slow

WINDOW = 6.0  # Starter's 60 s, scaled by 1/10.
LIMIT = 10
SOAK_SECONDS = 75.0
PACE = 3.0  # Seconds between the person's actions.
TYPES = ("prospect_search", "contact_update", "list_operation", "prospect_search", "contact_update",
         "list_operation", "campaign_start")


def soak_tasks(count: int, prefix: str, start: int = 0) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{n:03d}",
            "type": TYPES[n % len(TYPES)],
            "description": f"Soak task {n} ({TYPES[n % len(TYPES)]})",
            "created_at": f"2026-11-23T{10 + n // 60:02d}:{59 - n % 60:02d}:00Z",  # Newest first.
            "metadata": {"simulate": "complete", "n": n},
        }
        for n in range(start, start + count)
    ]


async def test_soak_at_the_starter_limit_with_live_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lexi_tui.ui.app.RefreshBudget", functools.partial(RefreshBudget, window=WINDOW))
    seeded = soak_tasks(40, "soak")
    with make_service(tasks=tuple(seeded), rate_limit=LIMIT, rate_window=WINDOW, exec_delay=2.0) as service:
        app = make_app(service, refresh_interval=1)
        approved: list[str] = []
        dismissed: dict[str, str] = {}
        problems: list[str] = []
        queued: list[str] = []
        async with app.run_test(size=(120, 36)) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            assert screen.budget.window == WINDOW and screen.budget.enabled
            bar = screen.query_one(StatusBar)
            started = time.monotonic()
            step = 0
            while time.monotonic() - started < SOAK_SECONDS:
                await asyncio.sleep(max(0.0, started + step * PACE - time.monotonic()))
                step += 1
                if step % 8 == 0:  # Lexi queues a task now and then (admin: not rate limited).
                    extra = soak_tasks(1, "queued", start=len(queued))
                    httpx.post(f"{service.root_url}/_admin/tasks", json=extra, timeout=5).raise_for_status()
                    queued.append(extra[0]["id"])
                task = screen.table.current
                if task is None or task.id in screen.state.inflight or task.status != "pending":
                    continue
                if step % 2:
                    await pilot.press("a")
                    if task.type == "campaign_start":
                        assert isinstance(app.screen, ConfirmDialog)
                        await pilot.press("y")
                    approved.append(task.id)
                    await wait_for(pilot, lambda: task.id not in screen.state.inflight, timeout=PACE)
                    if screen.table.errors.get(task.id):
                        problems.append(f"approve {task.id}: {screen.table.errors[task.id]}")
                else:
                    await pilot.press("d", "2")  # manual_execution
                    dialog = app.screen
                    assert isinstance(dialog, DismissDialog)
                    await pilot.press("enter")
                    dismissed[task.id] = "manual_execution"
                    await wait_for(pilot, lambda: not dialog.sending, timeout=PACE)
                    if app.screen is dialog:
                        problems.append(f"dismiss {task.id}: {dialog.query_one('#dismiss-status').render()}")
                        await pilot.press("escape")
                assert_alive(app)
            # Settle: the live refresh catches up with the service's pending list on its own.
            await wait_for(pilot, lambda: not screen.state.inflight, timeout=PACE)

            def in_sync() -> bool:
                listed = {t.id for t in screen.state.lists.get("pending", [])}
                with httpx.Client(timeout=5) as admin:
                    pending = {
                        t["id"] for t in seeded + soak_tasks(len(queued), "queued")
                        if admin.get(f"{service.root_url}/_admin/tasks/{t['id']}").json()["data"]["status"] == "pending"
                    }
                return listed == pending

            await wait_for(pilot, in_sync, timeout=2 * WINDOW)
            assert bar.connection == "online", (bar.connection, bar.detail)
            assert_alive(app)
        data = stats(service)
        print(f"soak: {SOAK_SECONDS:.0f} s at {LIMIT} calls per {WINDOW:.0f} s; {len(approved)} approved, "
              f"{len(dismissed)} dismissed, {len(queued)} queued by Lexi; service saw {data['by_endpoint'][LIST]} "
              f"list calls, {data['rate_limited']} answered 429")
        assert not problems, problems
        assert data["rate_limited"] == 0, (data, [n for n in seen if n[2] != "information"])
        assert len(approved) >= 10 and len(dismissed) >= 10, (approved, dismissed)
        assert data["by_endpoint"].get(APPROVE, 0) == len(approved)  # One POST per action.
        assert data["by_endpoint"].get(DISMISS, 0) == len(dismissed)
        assert data["by_endpoint"][LIST] >= SOAK_SECONDS / WINDOW * 2  # Live refresh kept going.
        for task in seeded + soak_tasks(len(queued), "queued"):
            record = admin_task(service, task["id"])
            assert record["approve_count"] == (1 if task["id"] in approved else 0), record
            assert record["dismiss_count"] == (1 if task["id"] in dismissed else 0), record
            if task["id"] in dismissed:
                assert record["reason"] == dismissed[task["id"]]
