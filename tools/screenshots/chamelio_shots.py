"""The Chamelio pictures: the detail view and the variables form, the same on any day.

Used by `tools.screenshots.screenshots` (README pictures) and by the snapshot tests. The local
service seeds its Chamelio workflows relative to "now"; `pinned_seed_clock` makes that now
`FIXED_NOW`, and the app is told a fixed base URL (`SHOWN_BASE_URL`) while its transport (`pilot.routed`) sends
the requests to the service's real port, so no port or date moves between runs.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

from lexi_tui.server.runner import RunningServer

SHOWN_BASE_URL = "http://127.0.0.1:8787/chamelio"
"""What the app is told (and shows): the local service's usual address."""
KEY = "ca_screenshots_000000000000000"
PROFILE = "legal"
SEED = {"chamelio_seed_workflows": 2, "random_seed": 3}
"""Two workflows, tasks 1001-1008: three await approval, with files and every variable type."""

SETTINGS: dict[str, Any] = {"profile": PROFILE, "provider": "chamelio", "base_url": SHOWN_BASE_URL, "api_key": KEY}
"""App settings of a Chamelio shot (on top of the screenshot defaults)."""


def server_options(**overrides: Any) -> dict[str, Any]:
    """The Chamelio half of the service's options for a shot."""
    values: dict[str, Any] = {"chamelio_keys": (KEY,), **SEED}
    values.update(overrides)
    return values


@contextlib.contextmanager
def pinned_seed_clock(timestamp: float) -> Iterator[None]:
    """Seed the Chamelio face as if it were `timestamp` (its tasks' dates follow)."""
    from lexi_tui.server.chamelio import face

    original = face.time
    face.time = types.SimpleNamespace(time=lambda: timestamp)  # type: ignore[assignment]
    try:
        yield
    finally:
        face.time = original  # type: ignore[assignment]


def watch_all(server: RunningServer, profile: str = PROFILE) -> list[int]:
    """Put every task the service holds on the profile's watch list (call in a temporary data dir)."""
    from lexi_tui.core import watchlist

    ids = server.chamelio_task_ids()
    for task_id in ids:
        watchlist.add(profile, task_id)
    return ids


async def show_detail(pilot: Any) -> None:
    """The first task awaiting approval, with its step, assignee and files."""
    from textual.widgets import Static

    from tools.screenshots.pilot import loaded, wait_until

    screen = await loaded(pilot)
    fields = screen.detail.query_one("#detail-fields", Static)
    await wait_until(pilot, lambda: "Files " in str(fields.render()))


async def show_variables_form(pilot: Any) -> None:
    """The approve dialog of the first task, its variables read and shown."""
    from lexi_tui.ui.dialogs.approve_dialog import ApproveDialog
    from tools.screenshots.pilot import loaded, wait_until

    await loaded(pilot)
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ApproveDialog))
    dialog = pilot.app.screen
    await wait_until(pilot, lambda: bool(dialog.query(".var-row")) and not dialog.loading)
    await pilot.pause()

