"""Snapshot tests of the Chamelio screens: the detail view and the variables form.

Deterministic like the others (see conftest.py): the app's clock is pinned, the Chamelio face
is seeded as if it were that same moment (`pinned_seed_clock`), and the app is told a fixed
base URL while requests go to the service's free port. After a deliberate UI change, look at
the report, then `pytest tests/snapshots/test_chamelio_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Input, Static

from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server
from lexi_tui.ui.dialogs.approve_dialog import ApproveDialog
from tools.screenshots import chamelio_shots
from tools.screenshots.pilot import FIXED_NOW, settle

WIDE = (120, 36)
TALL = (120, 40)


@pytest.fixture
def chamelio_service(started: list[RunningServer]) -> Iterator[RunningServer]:
    options = ServerOptions(exec_delay=0.0, failure_rate=0.0, **chamelio_shots.server_options())
    with chamelio_shots.pinned_seed_clock(FIXED_NOW.timestamp()), start_server(options) as server:
        started.append(server)  # `make_app` routes the app here.
        chamelio_shots.watch_all(server)
        yield server


def test_chamelio_detail_view(snap_compare, chamelio_service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        await chamelio_shots.show_detail(pilot)
        screen = pilot.app.screen
        fields = str(screen.detail.query_one("#detail-fields", Static).render())
        seen["views"] = screen.state.views
        seen["pending"] = [t.id for t in screen.state.lists["pending"]]
        seen["step"] = "Step Legal approval (approval)" in fields
        seen["files"] = "Files NDA Adventure Works redline 3.docx" in fields
        await settle(pilot)

    assert snap_compare(make_app(**chamelio_shots.SETTINGS), terminal_size=WIDE, run_before=run_before)
    assert seen["views"] == ("pending", "in_progress", "completed", "failed", "cancelled")
    assert seen["pending"] == ["1006", "1001", "1007", "1002"]  # Newest first.
    assert seen["step"] and seen["files"]


def test_chamelio_variables_form(snap_compare, chamelio_service, make_app) -> None:
    seen: dict[str, Any] = {}

    async def run_before(pilot) -> None:
        await chamelio_shots.show_variables_form(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, ApproveDialog)
        seen["types"] = [str(v.type) for v in dialog.variables]
        # A value of the wrong type is caught on the spot, before anything is sent.
        dialog.query_one("#var-0", Input).value = "about 20k"
        dialog.query_one("#approve-comment", Input).value = "Cap agreed with procurement"
        await pilot.press("ctrl+s")
        seen["still_open"] = pilot.app.screen is dialog
        seen["error"] = str(dialog.query_one("#var-error-0", Static).render())
        await settle(pilot)

    assert snap_compare(make_app(**chamelio_shots.SETTINGS), terminal_size=TALL, run_before=run_before)
    assert seen["types"] == ["number", "boolean", "date", "email", "select", "text"]
    assert seen["still_open"] and "must be a number" in seen["error"]
