"""`lexi-tui --demo`: both providers against a local service, without touching the user's data.

One in-process service answers as Lexi (seeded tasks) and, at `/chamelio`, as Chamelio
(seeded workflows, tasks moving through intake, review and approval). The app opens on the
`demo` Lexi profile; `P` switches to `demo-chamelio`, whose watch list is pre-filled with
every seeded Chamelio task.

The demo's data (watch list, audit log, undo journal) lives in a temporary folder, set as
`LEXI_TUI_DATA_DIR` for the demo's lifetime and deleted afterwards: a demo must never add
tasks to a real profile's watch list or actions to the real audit log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lexi_tui.cli.exit_codes import Exit
from lexi_tui.core.config import DATA_DIR_ENV, Profile
from lexi_tui.server.options import CHAMELIO_DEMO_KEY, DEMO_KEY, ServerOptions
from lexi_tui.server.runner import RunningServer, start_server
from lexi_tui.ui.app import AppSettings

LEXI_PROFILE = "demo"
CHAMELIO_PROFILE = "demo-chamelio"
DEMO_PLAN = "pro"
"""The demo's LeadLex plan. Pro (1,000 calls a day, 50 a minute) with headers that describe the
day, as the vendor's docs show them: the status bar counts calls left today down as you work,
and live refresh is paced over the rest of the day (about a refresh a minute or two, faster
near midnight UTC), so the budget is visibly at work. Starter would be dull (a refresh every
20 minutes or so, and a few approvals use up the share kept for you); Org would hide the budget."""
DEMO_OPTIONS = ServerOptions(
    seed_tasks=120, random_seed=7, exec_delay=4.0, plan=DEMO_PLAN, rate_headers="daily", failure_rate=0.15,
    chamelio_seed_workflows=3, chamelio_step_delay=45.0, chamelio_rate_limit=120,
)


@contextlib.contextmanager
def temporary_data_dir() -> Iterator[str]:
    """Point the app's data folder at a fresh temporary folder, restoring the old setting."""
    previous = os.environ.get(DATA_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="lexi-tui-demo-") as folder:
        os.environ[DATA_DIR_ENV] = folder
        try:
            yield folder
        finally:
            if previous is None:
                os.environ.pop(DATA_DIR_ENV, None)
            else:
                os.environ[DATA_DIR_ENV] = previous


DEMO_CACHE_NAME = "lexi-tui demo (the local service)"
"""The name the demo's lists are kept under: its service listens on a new port each run."""


def prepare(settings: AppSettings, server: RunningServer, lists: Path | None = None) -> AppSettings:
    """Make `settings` the demo's: two profiles with their keys, the Chamelio watch list filled.

    Call inside `temporary_data_dir()`: the watch list is written to the data folder.
    """
    from lexi_tui.core import watchlist

    lexi = Profile(LEXI_PROFILE, server.base_url, plan=DEMO_PLAN)
    chamelio = Profile(CHAMELIO_PROFILE, server.chamelio_base_url, provider="chamelio")
    for task_id in server.chamelio_task_ids():
        watchlist.add(CHAMELIO_PROFILE, task_id)
    settings.profiles = (lexi, chamelio)
    settings.profile_keys = {LEXI_PROFILE: DEMO_KEY, CHAMELIO_PROFILE: CHAMELIO_DEMO_KEY}
    settings.profile = lexi.name
    settings.provider = lexi.provider
    settings.base_url = lexi.base_url
    settings.ca_bundle = None
    settings.api_key = DEMO_KEY
    settings.use_keyring = False
    settings.plan = DEMO_PLAN
    if lists is not None:  # The last demo list is painted at the next start, as for an account.
        settings.list_cache_folder = lists
        settings.list_cache_names = {server.base_url: DEMO_CACHE_NAME}
    return settings


def run_demo(settings: AppSettings, refresh: float | None = None) -> int:
    """Run the app against a fresh local service; returns the exit status."""
    from lexi_tui.core.config import data_dir
    from lexi_tui.ui.app import LexiApp

    kept = data_dir() / "crashes"  # Crash reports outlive the demo's temporary folder.
    lists = data_dir() / "demo-lists"  # So does the last list (never a real profile's folder).
    with temporary_data_dir() as folder, start_server(DEMO_OPTIONS) as server:
        prepare(settings, server, lists)
        if refresh is None:
            settings.refresh_interval = 5.0
        app = LexiApp(settings)
        app.run()
        keep_crash_reports(Path(folder) / "crashes", kept)
    # Textual's return_code is 1 after an unhandled exception: the table's CRASHED.
    return Exit.CRASHED if app.return_code else Exit.OK


def keep_crash_reports(source: Path, target: Path) -> list[Path]:
    """Move crash reports out of the temporary folder (0600 files stay 0600); says where."""
    moved: list[Path] = []
    for report in sorted(source.glob("*")) if source.is_dir() else []:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        destination = target / report.name
        shutil.move(str(report), destination)
        moved.append(destination)
        print(f"lexi-tui: the crash report was moved to {destination}", file=sys.stderr)
    return moved
