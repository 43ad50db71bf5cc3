"""Driving the app with Textual's pilot against the local service: factories and waits.

One place for what the UI, fault, Chamelio and snapshot tests share: a service loaded with
the fixture tasks, an app pointed at it, the service's own record of a task (the judge of what
was applied), and waiting for a condition while the app runs.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server
from lexi_tui.ui.app import AppSettings, LexiApp
from lexi_tui.ui.main.screen import MainScreen

KEY = "wbk_uitest_00000000000000c0de"
FIXTURE_TASKS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "tasks.json").read_text(encoding="utf-8")
)
PENDING_IDS = [t["id"] for t in FIXTURE_TASKS if t["status"] == "pending"]


def pty_env(tmp_path: Path, key: str = KEY, **extra: str) -> dict[str, str]:
    """The environment of a real `lexi-tui` in a pty: this machine's, without Textual's driver
    settings, tmux or the switch that turns the second process off, with the null keyring, `key`
    and data and config folders under `tmp_path`; `extra` on top."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL") and k not in ("TMUX", "LEXI_TUI_NO_FORK")}
    env.update(TERM="xterm-256color", PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", LEXI_API_KEY=key,
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]), **extra)
    return env


def make_service(**overrides: Any) -> RunningServer:
    options: dict[str, Any] = dict(
        keys=(KEY,), tasks=tuple(FIXTURE_TASKS), exec_delay=0.0, failure_rate=0.0, admin=True
    )
    options.update(overrides)
    return start_server(ServerOptions(**options))


def restart(server: RunningServer) -> RunningServer:
    """Start the stopped `server` again on the same port and database (tasks kept)."""
    assert server.options.db_path, "restartable services need a database file"
    return start_server(dataclasses.replace(server.options, port=server.port, tasks=None, seed_tasks=0))


def make_app(server: RunningServer, **overrides: Any) -> LexiApp:
    settings: dict[str, Any] = dict(
        profile="test", base_url=server.base_url, api_key=KEY, use_keyring=False, refresh_interval=0, read_retries=0,
        undo_window=0,
    )
    settings.update(overrides)
    return LexiApp(AppSettings(**settings))


def admin_task(server: RunningServer, task_id: str) -> dict[str, Any]:
    """The service's own record of a task: the judge of what was applied."""
    return httpx.get(f"{server.root_url}/_admin/tasks/{task_id}", timeout=5).json()["data"]


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = 8.0) -> None:
    """Let the app run until `predicate()` holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def loaded(pilot: Any) -> MainScreen:
    """Wait until the triage screen shows its first fetched list; returns the screen."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None)
    return app.screen


def screen_row(app: Any, y: int) -> str:
    """Row `y` of the screen exactly as the user sees it (the text cells of a screenshot):
    what was cut to fit is cut here too."""
    import html
    import re
    cells = re.findall(r'<text[^>]*? x="([\d.]+)"[^>]*?clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>',
                       app.export_screenshot(), re.S)
    row = sorted((float(x), html.unescape(text)) for x, line, text in cells if int(line) == y)
    return "".join(text for _, text in row).replace("\xa0", " ")


# -- the chat panel ---------------------------------------------------------------------------


def chat_lines(screen: MainScreen) -> list[str]:
    """The chat's messages as the person reads them, oldest first."""
    from textual.widgets import Static

    return [str(widget.render()) for widget in screen.chat.query(".chat-message").results(Static)]


async def send(pilot: Any, screen: MainScreen, text: str) -> None:
    """Type `text` into the chat box and press Enter."""
    from textual.widgets import Input

    box = screen.chat.query_one("#chat-input", Input)
    box.value = text
    box.focus()
    await pilot.press("enter")
