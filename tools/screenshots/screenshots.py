"""Regenerate the README screenshots from the app itself: `python -m tools.screenshots.screenshots OUTDIR`.

Each screenshot drives the real app headless (`App.run_test`) against a fresh in-process
local service loaded with the small task list below, with the app's clock pinned, so the
same code gives the same pictures on any day. The app is told the production URL (so the
screens read as a user sees them) while every request is routed to the local service by a
transport (`AppSettings.transport_factory`): nothing leaves the machine, and the key shown is never a real one.

What the snapshot tests share with it is in `tools.screenshots.pilot`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lexi_tui.server.options import PRODUCTION_BASE_URL, ServerOptions
from lexi_tui.server.runner import RunningServer, start_server
from tools.screenshots import chamelio_shots, triage_shots
from tools.screenshots.pilot import FIXED_NOW, loaded, pinned_clock, routed, settle, wait_until, without_proxies

#: The key the local service accepts here; it only ever reaches the local service.
SCREENSHOT_KEY = "wbk_screenshots_0000000000000000"

#: What the chat screenshot asks Lexi (the local service proposes a prospect search for it).
CHAT_MESSAGE = "Find 50 CEOs at law firms in California"

#: Environment variables that would make httpx send requests through a proxy instead.

#: A small, realistic approval queue (no `simulate` hints: nothing is approved here).
TASKS: tuple[dict[str, Any], ...] = (
    {
        "id": "3f6b2a10-8c4e-4b7a-9d21-5e0c7f4a1b01",
        "type": "prospect_search",
        "status": "pending",
        "description": "Search for 20 CEOs at law firms in New York",
        "created_at": "2026-11-23T11:40:00Z",
        "metadata": {
            "query": {
                "person_titles": ["CEO"],
                "organization_industries": ["Legal"],
                "person_locations": ["New York"],
            },
            "per_page": 20,
        },
    },
    {
        "id": "8a0d4e73-1f2b-4c6d-a5e8-0b9c3d7f2e02",
        "type": "campaign_start",
        "status": "pending",
        "description": "Start campaign 'Q2 Outreach' for 150 contacts",
        "created_at": "2026-11-23T11:30:00Z",
        "metadata": {
            "campaign_id": "5b0c3f8e-2c1d-4f7a-9e44-0d6f1a2b3c4d",
            "campaign_name": "Q2 Outreach",
            "contact_count": 150,
        },
    },
    {
        "id": "c41e9b25-6a3d-4f80-b7c2-9d1e5a6b3c03",
        "type": "contact_update",
        "status": "pending",
        "description": "Set lifecycle stage to 'qualified' for 42 contacts who replied",
        "created_at": "2026-11-23T10:05:00Z",
        "metadata": {
            "filter": {"replied": True, "campaign": "Q2 Outreach"},
            "updates": {
                "lifecycle_stage": "qualified",
                "owner": {"name": "Dana Ortiz", "email": "dana@example.com"},
            },
            "contact_count": 42,
        },
    },
    {
        "id": "5d7f0c86-3b9e-4a12-8e4f-2c6a8b0d4e04",
        "type": "list_operation",
        "status": "pending",
        "description": "Create list 'Legal – West Coast' from 85 saved prospects",
        "created_at": "2026-11-23T08:15:00Z",
        "metadata": {
            "operation": "create",
            "list_name": "Legal – West Coast",
            "source": {
                "kind": "saved_search",
                "id": "ss_4411",
                "filters": {"states": ["CA", "OR", "WA"], "seniority": ["c_suite", "vp"]},
            },
            "contact_count": 85,
        },
    },
    {
        "id": "e92a6d37-4c0f-4b58-9a3e-7f1b2c8d5a05",
        "type": "prospect_search",
        "status": "pending",
        "description": "Search for 50 VPs of Sales at SaaS companies in Texas",
        "created_at": "2026-11-22T16:20:00Z",
        "metadata": {
            "query": {
                "person_titles": ["VP of Sales"],
                "organization_industries": ["Computer Software"],
                "person_locations": ["Texas"],
            },
            "per_page": 50,
        },
    },
    {
        "id": "17b3c9e4-5d2a-4e6f-8b01-3a9c4d2e6f06",
        "type": "prospect_search",
        "status": "pending",
        "description": "Search for 25 partners at accounting firms in Chicago",
        "created_at": "2026-11-21T09:00:00Z",
        "metadata": {
            "query": {
                "person_titles": ["Partner"],
                "organization_industries": ["Accounting"],
                "person_locations": ["Chicago"],
            },
            "per_page": 25,
        },
    },
    {
        "id": "a08e5f12-7b4c-4d39-9e6a-4b0d5e3f7a07",
        "type": "list_operation",
        "status": "completed",
        "description": "Add 12 contacts to list 'Warm leads'",
        "created_at": "2026-11-20T14:00:00Z",
        "metadata": {
            "operation": "add",
            "list_name": "Warm leads",
            "contact_count": 12,
            "result": {"list_id": "b3f1c2d4-9e8a-4c7b-8d6e-1f0a2b3c4d5e", "contacts_in_list": 57},
        },
    },
    {
        "id": "6c2d8a49-0e5b-4f71-a3c8-5d1e6f4a8b08",
        "type": "campaign_start",
        "status": "dismissed",
        "description": "Start campaign 'Holiday promo' for 900 contacts",
        "created_at": "2026-11-19T10:00:00Z",
        "metadata": {
            "campaign_id": "d4e5f6a7-1b2c-4d3e-9f80-6a7b8c9d0e1f",
            "campaign_name": "Holiday promo",
            "contact_count": 900,
        },
    },
    {
        "id": "b75f1e60-2a8d-4c93-8f4b-6e2a7b5c9d09",
        "type": "prospect_search",
        "status": "failed",
        "description": "Search for 500 CTOs at fintech startups in London",
        "created_at": "2026-11-18T12:00:00Z",
        "metadata": {
            "query": {
                "person_titles": ["CTO"],
                "organization_industries": ["Financial Services"],
                "person_locations": ["London"],
            },
            "per_page": 500,
            "error": {"code": "insufficient_credits", "message": "Insufficient credits to save 500 prospects"},
        },
    },
    {
        "id": "29c4a7b8-6f1e-4a05-b9d2-7c3e8a1f0b10",
        "type": "contact_update",
        "status": "approved",
        "description": "Assign 30 Boston contacts to Sam Lee",
        "created_at": "2026-11-23T11:50:00Z",
        "metadata": {"filter": {"city": "Boston"}, "updates": {"owner": "sam@example.com"}, "contact_count": 30},
    },
)


# -- the shots -------------------------------------------------------------------------------

Step = Callable[[Any], Awaitable[None]]


async def show_detail(pilot: Any) -> None:
    """The contact update, whose metadata nests objects two levels deep."""
    screen = await loaded(pilot)
    await pilot.press("down", "down")
    await wait_until(pilot, lambda: any('"owner"' in line for line in screen.detail.json_view.lines))


async def show_dismiss(pilot: Any) -> None:
    from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog

    await loaded(pilot)
    await pilot.press("d")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, DismissDialog))


async def show_chat(pilot: Any) -> None:
    from textual.widgets import Input

    from lexi_tui.ui.widgets.chat_panel import TaskCard

    screen = await loaded(pilot)
    await pilot.press("c")
    # Typed in one go: a key press costs ~60 ms of idle-waiting, a sentence seconds.
    screen.chat.query_one("#chat-input", Input).value = CHAT_MESSAGE
    await pilot.press("enter")
    await wait_until(pilot, lambda: bool(screen.chat.query(TaskCard)))
    card = screen.chat.query_one(TaskCard)
    # The list refreshes and selects the proposed task; wait for that to finish too.
    await wait_until(
        pilot,
        lambda: not screen.state.refreshing
        and screen.table.current is not None
        and screen.table.current.id == card.task_id,
    )


async def show_help(pilot: Any) -> None:
    from lexi_tui.ui.screens.help_screen import HelpScreen

    await loaded(pilot)
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))


async def show_login(pilot: Any) -> None:
    from lexi_tui.ui.screens.login_screen import LoginScreen

    await wait_until(pilot, lambda: isinstance(pilot.app.screen, LoginScreen) and pilot.app.focused is not None)


@dataclass(frozen=True)
class Shot:
    name: str
    size: tuple[int, int]
    step: Step
    settings: dict[str, Any]


SHOTS: tuple[Shot, ...] = (
    Shot("main-wide.svg", (120, 36), loaded, {}),
    Shot("main-80x24.svg", (80, 24), loaded, {}),
    Shot("detail.svg", (120, 36), show_detail, {}),
    Shot("dismiss.svg", (120, 36), show_dismiss, {}),
    Shot("chat.svg", (120, 36), show_chat, {}),
    Shot("help.svg", (120, 36), show_help, {}),
    Shot("light.svg", (120, 36), loaded, {"theme": "textual-light"}),
    Shot("login.svg", (100, 30), show_login, {"api_key": None}),
    Shot("chamelio-detail.svg", (120, 36), chamelio_shots.show_detail, chamelio_shots.SETTINGS),
    Shot("chamelio-approve.svg", (120, 40), chamelio_shots.show_variables_form, chamelio_shots.SETTINGS),
    Shot("bulk.svg", (120, 36), triage_shots.show_bulk, {}),
    # Undo window 0: the dismissal in it is sent at once instead of after a 5 s hold.
    Shot("history.svg", (120, 36), triage_shots.show_history, {"undo_window": 0}),
)


async def take(shot: Shot, server: RunningServer) -> str:
    """Run the app for one shot against `server` and return the SVG."""
    from lexi_tui.ui.app import AppSettings, LexiApp

    settings: dict[str, Any] = dict(
        profile="default",
        base_url=PRODUCTION_BASE_URL,
        api_key=SCREENSHOT_KEY,
        use_keyring=False,
        refresh_interval=0,
        read_retries=0,
        transport_factory=routed(server),
    )
    settings.update(shot.settings)
    app = LexiApp(AppSettings(**settings))
    app.animation_level = "none"  # E.g. the tab underline would otherwise slide after a relabel.
    async with app.run_test(size=shot.size) as pilot:
        await shot.step(pilot)
        await settle(pilot)
        return app.export_screenshot(simplify=True)


async def take_all(outdir: Path, shots: Sequence[Shot] = SHOTS) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    key_from_env = os.environ.pop("LEXI_API_KEY", None)  # The login shot must not skip the screen.
    from lexi_tui.cli.demo import temporary_data_dir

    try:  # A temporary data folder: the Chamelio watch list and the audit log stay out of yours.
        with pinned_clock(), temporary_data_dir(), without_proxies():
            for shot in shots:
                options = ServerOptions(
                    keys=(SCREENSHOT_KEY,), tasks=TASKS, exec_delay=0.0, failure_rate=0.0, rate_limit=0,
                    **chamelio_shots.server_options(),
                )
                with chamelio_shots.pinned_seed_clock(FIXED_NOW.timestamp()), start_server(options) as server:
                    chamelio_shots.watch_all(server)
                    svg = await take(shot, server)
                path = outdir / shot.name
                path.write_text(svg, encoding="utf-8")
                written.append(path)
    finally:
        if key_from_env is not None:
            os.environ["LEXI_API_KEY"] = key_from_env
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python -m tools.screenshots.screenshots OUTDIR", file=sys.stderr)
        return 2
    for path in asyncio.run(take_all(Path(args[0]))):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
