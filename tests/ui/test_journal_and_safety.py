"""Issues 13-15 on the triage screen: the undo journal kept safely, a second instance that runs
read-only, leftovers told and settled, unwritable local files, the undo window's countdown and
pause, quitting that stays true, and words that match what happens.

Real loopback HTTP against the local service; the service's own records (and its counters) are
the judge of what was sent; the history file and the journal file are read back from disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from textual.widgets import Label, Static

from lexi_tui.core.config import data_dir
from lexi_tui.core.history import read
from lexi_tui.core.journal import HeldAction, HeldJournal
from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog
from lexi_tui.ui.dialogs.quit_dialog import QuitDialog
from support.app import KEY, PENDING_IDS, admin_task, loaded, make_app, make_service, wait_for

FIRST, CAMPAIGN, THIRD = PENDING_IDS[0], PENDING_IDS[1], PENDING_IDS[2]
SIZE = (120, 36)


def notes(app: Any) -> str:
    return "\n".join(f"{n.title}: {n.message}" for n in app._notifications)


def posts(service: Any) -> int:
    """Approve and dismiss requests the service received, whatever their outcome."""
    counts = httpx.get(f"{service.root_url}/_admin/stats", timeout=5).json()["data"]["by_endpoint"]
    return sum(n for label, n in counts.items() if label.startswith("POST /v1/lexi/tasks/"))


def set_faults(service: Any, **changes: Any) -> None:
    httpx.post(f"{service.root_url}/_admin/faults", json=changes, timeout=5).raise_for_status()


def dismiss_elsewhere(service: Any, task_id: str) -> None:
    """Another client (a teammate with the same key) dismisses the task."""
    response = httpx.post(f"{service.base_url}/v1/lexi/tasks/{task_id}/dismiss", json={"reason": "duplicate"},
                          headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
    assert response.status_code == 200, response.text


def approve_elsewhere(service: Any, task_id: str) -> None:
    response = httpx.post(f"{service.base_url}/v1/lexi/tasks/{task_id}/approve",
                          headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
    assert response.status_code == 200, response.text


# -- a second instance on the same profile ------------------------------------------------------


@pytest.fixture
def other_instance() -> Any:
    """Another lexi-tui process holding profile "test" (its instance lock), with one action
    waiting in its journal."""
    with HeldJournal.open("test") as journal:  # Written as that instance would have, then let go.
        journal.hold(HeldAction(FIRST, "prospect_search", "Search for 20 CEOs at law firms in New York", "approve",
                                None, time.time() + 30))
        path = journal.path
    code = ("import sys\nfrom lexi_tui.core.instance_lock import InstanceLock\n"
            "lock = InstanceLock.acquire('test', role='app')\nprint('ready', flush=True)\nsys.stdin.read()\n")
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=os.environ.copy(), text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield SimpleNamespace(pid=process.pid, journal=path, before=path.read_bytes(), mtime=path.stat().st_mtime_ns)
    finally:
        process.kill()
        process.wait(5)


async def test_a_second_instance_runs_read_only_and_never_touches_the_first_ones_journal(
        service: Any, other_instance: Any) -> None:
    app = make_app(service, undo_window=5, rules=[])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        await wait_for(pilot, lambda: bool(screen.query("#read-only")))
        line = str(screen.query_one("#read-only", Label).render())
        assert line.startswith(f"Read-only: lexi-tui (pid {other_instance.pid}, started ")
        assert "already has profile 'test' open. Approve, dismiss, bulk, rules and undo are off here." in line
        await pilot.pause()
        bindings = {b.binding.id: b for b in app.active_bindings.values()}
        for key in ("task.approve", "task.dismiss", "task.undo"):
            assert not bindings[key].enabled, key  # Greyed in the footer...
            assert bindings[key].tooltip.startswith("Off: lexi-tui (pid ")  # ...with the reason.
        await pilot.press("a")
        await pilot.press("d")
        assert app.screen is screen  # No dialog: nothing can be sent from here.
        await pilot.press("space", "a")  # Bulk, from the marks.
        screen.actions.approve(screen.table.current)  # As the palette or a chat card would.
        await pilot.pause(0.3)
        assert app.screen is screen and not screen.state.inflight
        assert "Nothing was sent: lexi-tui (pid" in notes(app)
        assert "Not sent:" not in notes(app)  # The first instance's waiting action is not ours to report.
    assert posts(service) == 0 and read() == []
    assert other_instance.journal.read_bytes() == other_instance.before  # Never read, cleared or written.
    assert other_instance.journal.stat().st_mtime_ns == other_instance.mtime


# -- what the last session left -------------------------------------------------------------------


async def test_leftovers_are_told_per_task_settled_from_the_server_and_recorded(service: Any) -> None:
    with HeldJournal.open("test") as journal:  # A session killed at the worst moments.
        journal.hold(HeldAction(PENDING_IDS[5], "prospect_search", "Search for 25 partners at accounting "
                                "firms in Chicago", "approve", None, time.time()))
        sent = journal.hold(HeldAction(FIRST, "prospect_search", "Search for 20 CEOs at law firms in New York",
                                       "approve", None, time.time()))
        journal.mark_sending(sent.action_id)
        lost = journal.hold(HeldAction(THIRD, "contact_update", "Set lifecycle stage to 'qualified' for 42 contacts",
                                       "approve", None, time.time()))
        journal.mark_sending(lost.action_id)
    approve_elsewhere(service, FIRST)  # That request did reach the server; the one for THIRD did not.
    app = make_app(service, undo_window=5)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        await wait_for(pilot, lambda: "read back from the server" in notes(app))
        told = notes(app)
        assert "✔ approve Search for 20 CEOs at law firms in New York: approved" in told
        assert "✘ approve Set lifecycle stage to 'qualified' for 42 contacts: not applied; act again" in told
        assert "were NOT sent:\napprove: Search for 25 partners at accounting firms in Chicago" in told
        await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids())  # Refreshed: it is approved.
        assert THIRD in screen.table.visible_ids() and PENDING_IDS[5] in screen.table.visible_ids()
    assert admin_task(service, THIRD)["approve_count"] == 0 and admin_task(service, PENDING_IDS[5])["approve_count"] == 0
    lines = {entry.task_id: entry for entry in read()}
    assert (lines[FIRST].outcome, lines[THIRD].outcome, lines[PENDING_IDS[5]].outcome) == ("ok", "failed", "not_sent")
    assert "Read back at start, the task is now completed: approved" in (lines[FIRST].detail or "")
    assert "never sent" in (lines[PENDING_IDS[5]].detail or "")
    assert HeldJournal("test").leftovers() == []  # Released once told: nothing is reported twice.


async def test_a_damaged_journal_is_kept_aside_and_said_where(service: Any) -> None:
    folder = data_dir() / "held"
    folder.mkdir(parents=True)
    (folder / "test.json").write_text('{"version": 2, "actions": [{"task_id": ', encoding="utf-8")
    app = make_app(service, undo_window=5)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: "The undo journal was damaged" in notes(app))
        note = next(n for n in app._notifications if n.title == "The undo journal was damaged")
        kept = [p for p in folder.iterdir() if p.name.startswith("test.json.corrupt-")]
        assert kept and str(kept[0]) in note.message
        await pilot.press("a")  # Triage goes on: a new journal is written.
        await wait_for(pilot, lambda: bool(json.loads((folder / "test.json").read_text())["actions"]))


# -- local files that cannot be written -----------------------------------------------------------


async def test_an_unwritable_journal_holds_nothing_and_says_why(service: Any) -> None:
    data_dir().mkdir(parents=True, exist_ok=True)
    (data_dir() / "held").write_text("not a folder")  # The journal's folder cannot be made.
    app = make_app(service, undo_window=5)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: "Not approved: nothing was sent" in notes(app))
        assert "The undo journal in " in notes(app) and "cannot be written" in notes(app)
        assert FIRST not in screen.table.busy and not screen.state.inflight  # No stale "approving…".
        assert screen.table.current.id == FIRST  # Back where it was: fix the folder, press a again.
        assert screen.query_one("#status-bar").held == 0
        await pilot.pause(0.3)
    assert posts(service) == 0 and admin_task(service, FIRST)["approve_count"] == 0


async def test_a_full_disk_stops_an_action_before_it_is_held(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(service, undo_window=0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        real = os.statvfs

        def full(path: Any) -> Any:  # The disk holding the data folder is full (for root too).
            found = real(path)
            return SimpleNamespace(f_frsize=found.f_frsize, f_bavail=0, f_bfree=0, f_flag=found.f_flag)

        monkeypatch.setattr(os, "statvfs", full)
        await pilot.press("d", "o", *"typed")
        dialog = app.screen
        assert isinstance(dialog, DismissDialog)
        await pilot.press("enter")
        status = dialog.query_one("#dismiss-status", Static)
        await wait_for(pilot, lambda: "Not sent:" in str(status.render()))
        assert "cannot be written" in str(status.render()) and "No space left on device" in str(status.render())
        assert dialog.query_one("#reason-text").value == "typed"  # Kept, for when there is room.
        assert FIRST not in screen.table.busy and not screen.state.inflight
        monkeypatch.setattr(os, "statvfs", real)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
    assert admin_task(service, FIRST)["reason"] == "typed" and posts(service) == 1
    assert [(e.task_id, e.outcome) for e in read()] == [(FIRST, "ok")]


# -- the undo window ------------------------------------------------------------------------------


async def test_the_row_counts_down_and_stops_ticking_when_nothing_waits(service: Any) -> None:
    app = make_app(service, undo_window=5)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        assert screen.table.busy[FIRST] == "approving in 5s"
        await wait_for(pilot, lambda: screen.table.busy.get(FIRST) == "approving in 4s", timeout=3)
        await wait_for(pilot, lambda: screen.table.busy.get(FIRST) == "approving in 3s", timeout=3)
        assert screen.state.countdown is not None  # One timer for every waiting row...
        await pilot.press("u")
        assert FIRST not in screen.table.busy
        assert screen.state.countdown is None  # ...and none once nothing waits: an idle app is quiet.
    assert posts(service) == 0


async def test_a_task_handled_elsewhere_during_its_window_is_told_and_recorded(service: Any) -> None:
    app = make_app(service, undo_window=1.5)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: screen.state.held and all(h.journalled for h in screen.state.held.values()))
        dismiss_elsewhere(service, FIRST)
        await pilot.press("r")  # The list no longer has it.
        await wait_for(pilot, lambda: FIRST not in screen.table.visible_ids())
        await wait_for(pilot, lambda: "Not approved: handled elsewhere" in notes(app), timeout=4)
        assert "it left the queue before its undo window closed, so nothing was sent" in notes(app)
        assert not screen.state.inflight and not screen.state.held
    record = admin_task(service, FIRST)
    assert record["approve_count"] == 0 and record["status"] == "dismissed"
    entry = read()[0]
    assert (entry.task_id, entry.action, entry.outcome) == (FIRST, "approve", "not_sent")
    assert "left the queue" in (entry.detail or "")
    assert HeldJournal("test").leftovers() == []


async def test_the_quit_dialog_pauses_the_windows_so_what_it_says_stays_true(service: Any) -> None:
    app = make_app(service, undo_window=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: all(h.journalled for h in screen.state.held.values()))
        await pilot.press("q")
        dialog = app.screen
        assert isinstance(dialog, QuitDialog)
        assert "1 action is waiting in the undo window and not sent yet; the windows are paused" in str(
            dialog.query_one("#quit-body").render())
        await pilot.pause(1.6)  # Longer than the window: it would have been sent behind the dialog.
        assert posts(service) == 0 and screen.table.busy[FIRST].endswith("(paused)")
        await pilot.press("escape")  # Stay: the window runs on from where it stopped.
        await wait_for(pilot, lambda: admin_task(service, FIRST)["approve_count"] == 1, timeout=4)
        assert screen.table.select(THIRD)
        await pilot.press("a")  # Another task, then quit and drop it: never sent.
        await wait_for(pilot, lambda: screen.state.held and all(h.journalled for h in screen.state.held.values()))
        await pilot.press("q")
        await pilot.pause(1.4)
        await pilot.press("d")
        await wait_for(pilot, lambda: not app.is_running)
    assert posts(service) == 1  # Drop really dropped: the second one never left the machine.


async def test_send_now_that_fails_says_what_and_asks_again(service: Any) -> None:
    app = make_app(service, undo_window=30)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: all(h.journalled for h in screen.state.held.values()))
        set_faults(service, error_rate=1.0)
        await pilot.press("q", "s")
        dialog = app.screen
        assert isinstance(dialog, QuitDialog)
        await wait_for(pilot, lambda: dialog.phase == "failed")
        body = str(dialog.query_one("#quit-body").render())
        assert body.startswith("0 sent. 1 not applied:\n✘ Search for 20 CEOs at law firms in New York: failed: ")
        assert "Send again (s), quit without it (d: nothing more is sent), or stay (esc)?" in body
        assert app.is_running  # Not quit as if all went well.
        set_faults(service, error_rate=0.0)
        await pilot.press("s")  # Send again: it goes, and the app quits.
        await wait_for(pilot, lambda: not app.is_running, timeout=8)
    assert admin_task(service, FIRST)["approve_count"] == 1
    assert [e.outcome for e in read()] == ["ok", "failed"]  # Both answers, newest first.
    assert HeldJournal("test").leftovers() == []


# -- words that match --------------------------------------------------------------------------------


@pytest.mark.parametrize(("window", "said"), [
    (5, "This contacts 150 real people. It is sent in 5 s; u takes it back until then. Once sent, it cannot be undone."),
    (0, "This contacts 150 real people. It is sent at once, and once sent it cannot be undone."),
])
async def test_the_campaign_confirmation_says_what_is_true_for_the_undo_window(service: Any, window: float,
                                                                                said: str) -> None:
    app = make_app(service, undo_window=window)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert screen.table.select(CAMPAIGN)
        await pilot.press("a")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert said in str(dialog.query_one(".dialog-subject").render())
        assert str(dialog.query_one("#no").render()).strip().startswith("Keep it")
        await pilot.press("n")
    assert posts(service) == 0


async def test_the_bulk_confirmation_names_the_campaigns_and_what_the_run_costs() -> None:
    campaigns = [
        {"id": f"camp-{n}", "type": "campaign_start", "status": "pending", "description": f"Start campaign {name}",
         "created_at": f"2026-11-23T11:0{n}:00Z", "metadata": {"campaign_name": name, "contact_count": count}}
        for n, (name, count) in enumerate([("Q3 Push", 200), ("Renewals", 60)])
    ]
    # Limit 5 with an hour's window: headers that describe the day (4 left after the list).
    with make_service(rate_limit=5, rate_window=3600) as service:
        assert httpx.post(f"{service.root_url}/_admin/tasks", json=campaigns).status_code == 201
        app = make_app(service)
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            for task_id in (CAMPAIGN, "camp-0", "camp-1", FIRST, THIRD, PENDING_IDS[5]):
                assert screen.table.select(task_id)
                await pilot.press("space")
            await pilot.press("a")
            dialog = app.screen
            assert isinstance(dialog, BulkDialog)
            body = str(dialog.query_one("#bulk-body").render())
            assert ("3 campaign_start: 'Q2 Outreach' (150 contacts), 'Q3 Push' (200 contacts), 'Renewals' "
                    "(60 contacts) — 410 contacts in all: real people will be contacted.") in body
            assert "6 calls:" in body and "It does not fit: 4 calls are left today" in body
            assert "the run stops when they run out, and the rest stays marked. Start anyway?" in body
            assert str(dialog.query_one("#bulk-start").render()).strip().startswith("Start anyway")
            await pilot.press("escape")
        assert posts(service) == 0


async def test_the_bulk_summary_shows_not_found_and_lost_answers_in_one_toast(service: Any) -> None:
    from lexi_tui.api.models import Task

    app = make_app(service)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        gone = Task.from_api({"id": "deleted-meanwhile", "type": "prospect_search", "status": "pending",
                              "description": "A task deleted since the list was read"})
        screen.store("pending", [gone, *screen.state.pending()])  # The list is a moment old.
        for task_id in (gone.id, FIRST, THIRD):
            assert screen.table.select(task_id)
            await pilot.press("space")
        await pilot.press("a", "y")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        await wait_for(pilot, lambda: dialog.phase == "done", timeout=8)
        shown = str(dialog.query_one("#bulk-summary").render())
        assert "Approved 2 of 3 tasks. 1 was not found (it does not exist, or this key cannot see it)." in shown
        assert "• not found: A task deleted since the list was read" in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        bulk = [n for n in app._notifications if n.title.startswith("Bulk approve")]
        assert [n.title for n in bulk] == ["Bulk approve: 2 of 3 approved"]  # One toast, not one per task.
        assert "deleted-meanwhile" not in screen.table.visible_ids() and not screen.table.marked


async def test_a_burst_of_approvals_gives_one_gathered_toast_not_one_each(service: Any) -> None:
    app = make_app(service, undo_window=0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        shown: list[str] = []
        original = app.notify
        app.notify = lambda message, **kw: (shown.append(kw.get("title", "")), original(message, **kw))[1]  # type: ignore[method-assign]
        await pilot.press("a")
        for task_id in (THIRD, PENDING_IDS[3], PENDING_IDS[4]):
            assert screen.table.select(task_id)
            await pilot.press("a")
        await wait_for(pilot, lambda: not screen.state.inflight and len(shown) >= 2, timeout=6)
        await pilot.pause(1.0)
        assert len(shown) == 2, shown  # The first at once, the rest gathered into one.
        assert shown[1] == "3 approved"


async def test_undo_in_a_burst_takes_back_the_newest_and_the_rest_go(service: Any) -> None:
    app = make_app(service, undo_window=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        assert screen.table.select(THIRD)
        await pilot.press("a", "u")  # Undone before its hold was even written.
        assert screen.actions.waiting == 1 and screen.table.current.id == THIRD
        await wait_for(pilot, lambda: admin_task(service, FIRST)["approve_count"] == 1, timeout=4)
        await pilot.pause(1.2)
    assert admin_task(service, THIRD)["approve_count"] == 0
    assert HeldJournal("test").leftovers() == []


def test_nothing_here_imports_a_data_dir_of_its_own() -> None:
    """The tests above read the same data folder the app writes (the suite's isolated one)."""
    assert str(data_dir()).startswith(os.environ["XDG_DATA_HOME"])
    assert Path(os.environ["XDG_DATA_HOME"]).exists()
