"""Issue 6, "Faults": a soak at the Starter plan's limits with live refresh on.

Starter allows 100 calls a day and 10 a minute. A minute is too long for a test, so the
service runs 10 times faster (`time_scale=10`: a minute lasts 6 s, the day's reset comes 10
times sooner) and the app's refresh engine runs on the same clock (`ScaledClock` from the
service's start, swapped in where the screen makes its clock, `refresh.make_clock`). The
planner then sees what a real Starter day looks like, from the headers alone (which describe
the day, as the vendor's docs show): it keeps 20 calls for the person, sets 30 aside for their
work, spreads the rest over the day, and keeps background work to 4 calls in any minute.

For 75 s (12.5 minutes of the service's time) a person approves or dismisses the task under the
cursor every 3 s (every 30 s on the service's clock), answers the confirmation for campaigns,
while Lexi queues new tasks now and then; approved tasks are followed until they finish. The
service's counters are the judge: not one 429, and every action applied exactly once. Live
refresh is on, and paced as a Starter day is: about one background poll per quarter hour of the
service's time, so in these 12.5 minutes its calls are the follow-up checks on approved tasks
(paced inside background work's 4 a minute). At the end the person presses r and the list
matches the service's pending tasks.
"""

from __future__ import annotations

import asyncio
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

from lexi_tui.core.refresh import ScaledClock
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.slow

SCALE = 10.0  # Ten service seconds per real second: Starter's minute lasts 6 s.
SOAK_SECONDS = 75.0
PACE = 3.0  # Real seconds between the person's actions.
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


async def test_soak_at_the_starter_limits_with_live_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = soak_tasks(40, "soak")
    with make_service(tasks=tuple(seeded), plan="starter", rate_headers="daily", time_scale=SCALE,
                      exec_delay=2.0) as service:
        started_at = httpx.get(f"{service.root_url}/_admin/ratelimit", timeout=5).json()["data"]["clock"]["started_at"]
        monkeypatch.setattr("lexi_tui.ui.main.refresh.make_clock", lambda: ScaledClock(SCALE, start=started_at))
        app = make_app(service, refresh_interval=15, plan="starter")
        approved: list[str] = []
        dismissed: dict[str, str] = {}
        problems: list[str] = []
        queued: list[str] = []
        async with app.run_test(size=(120, 36)) as pilot:
            seen = record_notifications(app)
            screen = await loaded(pilot)
            engine = screen.refresher.engine
            assert engine is not None and engine.planner.limits().plan.name == "starter"
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
                assert bar.connection in ("online", "connecting"), (bar.connection, bar.detail)
            await wait_for(pilot, lambda: not screen.state.inflight, timeout=PACE)
            polls_during_soak = engine.stats.background_polls

            def pending_now() -> set[str]:
                with httpx.Client(timeout=5) as admin:
                    return {t["id"] for t in seeded + soak_tasks(len(queued), "queued")
                            if admin.get(f"{service.root_url}/_admin/tasks/{t['id']}").json()["data"]["status"] == "pending"}

            # The person refreshes at the end (a Starter day polls every quarter hour or so of the
            # service's time): the list then matches the service.
            await pilot.press("r")
            await wait_for(pilot, lambda: {t.id for t in screen.state.lists.get("pending", [])} == pending_now(),
                           timeout=4 * PACE)
            assert bar.connection == "online", (bar.connection, bar.detail)
            assert "calls left today" in bar.detail
            assert_alive(app)
            finished = [title for title, _, _ in seen if title.startswith("Task ")]
        data = stats(service)
        print(f"soak: {SOAK_SECONDS:.0f} s at Starter x{SCALE:g}; {len(approved)} approved, {len(dismissed)} dismissed, "
              f"{len(queued)} queued by Lexi; service saw {data['by_endpoint'][LIST]} list calls "
              f"({polls_during_soak} background polls, {engine.stats.follow_checks} follow checks, "
              f"{engine.stats.counts} counts), {data['rate_limited']} answered 429; {len(finished)} finished toasts")
        assert not problems, problems
        assert data["rate_limited"] == 0, (data, [n for n in seen if n[2] != "information"])
        assert len(approved) >= 10 and len(dismissed) >= 10, (approved, dismissed)
        assert data["by_endpoint"].get(APPROVE, 0) == len(approved)  # One POST per action.
        assert data["by_endpoint"].get(DISMISS, 0) == len(dismissed)
        assert engine.stats.follow_checks >= 1 and finished  # Approved tasks were followed to their end.
        for task in seeded + soak_tasks(len(queued), "queued"):
            record = admin_task(service, task["id"])
            assert record["approve_count"] == (1 if task["id"] in approved else 0), record
            assert record["dismiss_count"] == (1 if task["id"] in dismissed else 0), record
            if task["id"] in dismissed:
                assert record["reason"] == dismissed[task["id"]]
