"""The triage-at-speed pictures: a bulk confirmation and the history, the same on any day.

Used by `tools.screenshots.screenshots` (README pictures). The history shows when each action
was recorded and the request id the service gave it; both would change from run to run,
so while the history shot acts, `pinned_audit` makes them a counter from `FIXED_NOW`.
Call these inside a temporary data folder: the history shot writes the audit log.
"""

from __future__ import annotations

import contextlib
import itertools
import time
import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any


@contextlib.contextmanager
def pinned_audit(moment: datetime) -> Iterator[None]:
    """History times one second apart from `moment`; the service's request ids a counter."""
    from lexi_tui.core import history
    from lexi_tui.server import app as service_app

    seconds, ids = itertools.count(1), itertools.count(1)
    minute = moment.strftime("%Y-%m-%dT%H:%M")
    original_now, original_secrets = history.now_iso, service_app.secrets
    history.now_iso = lambda: f"{minute}:{next(seconds):02d}.000Z"  # type: ignore[assignment]
    service_app.secrets = types.SimpleNamespace(token_hex=lambda n: f"{next(ids):0{2 * n}x}")  # type: ignore[assignment]
    try:
        yield
    finally:
        history.now_iso = original_now  # type: ignore[assignment]
        service_app.secrets = original_secrets  # type: ignore[assignment]


async def _mark(pilot: Any, descriptions: tuple[str, ...]) -> Any:
    """Mark the tasks whose description starts with one of `descriptions`; returns the screen."""
    from tools.screenshots.pilot import loaded

    screen = await loaded(pilot)
    for start in descriptions:
        task_id = next(t for t in screen.state.lists[screen.state.views[0]] if t.description.startswith(start)).id
        assert screen.table.select(task_id), task_id
        await pilot.press("space")
    return screen


MARKED = ("Search for 20 CEOs", "Start campaign 'Q2 Outreach'", "Search for 25 partners")
"""Two prospect searches and a campaign: the confirmation counts them by type and warns."""


async def show_bulk(pilot: Any) -> None:
    """Three marked tasks, `a`: the one confirmation before a bulk approve."""
    from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog
    from tools.screenshots.pilot import wait_until

    await _mark(pilot, MARKED)
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, BulkDialog))


async def show_history(pilot: Any) -> None:
    """A bulk approve of two searches and a manual dismiss, then `h`."""
    from textual.widgets import DataTable

    from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog
    from lexi_tui.ui.screens.history_screen import HistoryScreen
    from tools.screenshots.pilot import FIXED_NOW, wait_until

    with pinned_audit(FIXED_NOW):
        screen = await _mark(pilot, ("Search for 20 CEOs", "Search for 25 partners"))
        await pilot.press("a", "y")
        dialog = pilot.app.screen
        assert isinstance(dialog, BulkDialog)
        await wait_until(pilot, lambda: dialog.phase == "done")
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        list_task = next(t for t in screen.state.lists[screen.state.views[0]] if t.type == "list_operation")
        assert screen.table.select(list_task.id)
        await pilot.press("d", "2", "enter")  # manual_execution
        await wait_until(pilot, lambda: pilot.app.screen is screen and list_task.id not in screen.table.visible_ids())
        pilot.app.clear_notifications()  # Toasts time out: whether one shows would depend on speed.
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen))
        table = pilot.app.screen.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 3)
    screen.state.fetched_at = time.time()  # "updated just now", however long the steps took.
    screen.refresher.update_clock()
