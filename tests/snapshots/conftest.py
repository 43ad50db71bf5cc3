"""Fixtures for the snapshot tests: a pinned clock, and the fixture service behind a stable URL.

Everything that reaches the screen must be the same on every run and every day:
- the clock is pinned, so ages ("20m") and times in the detail pane do not move;
- the app is told one fixed base URL while every request is routed to the service's free
  port (the port would otherwise show in the status bar and on the login screen);
- the service has no rate limit, so the status bar shows no reset time.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server
from lexi_tui.ui.app import AppSettings, LexiApp
from tools.screenshots.pilot import FIXED_NOW, routed, without_proxies

SNAPSHOT_KEY = "wbk_snapshot_000000000000c0de"
SHOWN_BASE_URL = "http://127.0.0.1:8787/functions/v1/api-gateway"
"""What the app is told (and shows); its transport sends the requests to the real port."""

FIXTURE_TASKS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "tasks.json").read_text(encoding="utf-8")
)


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lexi_tui.ui.clock.now", lambda: FIXED_NOW)


@pytest.fixture
def started() -> list[RunningServer]:
    """The services started by this test, latest last: apps are routed to the latest."""
    return []


@pytest.fixture
def start_service(started: list[RunningServer]) -> Iterator[Callable[..., RunningServer]]:
    """Start the fixture service (stopped at the end); keyword arguments override ServerOptions.

    Every app made during the test is routed to the most recently started service.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(without_proxies())

        def start(**overrides: Any) -> RunningServer:
            options: dict[str, Any] = dict(
                keys=(SNAPSHOT_KEY,), tasks=tuple(FIXTURE_TASKS), exec_delay=0.0, failure_rate=0.0, rate_limit=0
            )
            options.update(overrides)
            server = start_server(ServerOptions(**options))
            stack.callback(server.stop)
            started.append(server)
            return server

        yield start


@pytest.fixture
def service(start_service: Callable[..., RunningServer]) -> RunningServer:
    return start_service()


@pytest.fixture
def make_app(started: list[RunningServer]) -> Callable[..., LexiApp]:
    """Build the app against the latest service; keyword arguments override AppSettings."""

    def make(**overrides: Any) -> LexiApp:
        settings: dict[str, Any] = dict(
            transport_factory=(lambda: routed(started[-1])()) if started else None,
            profile="test",
            base_url=SHOWN_BASE_URL,
            api_key=SNAPSHOT_KEY,
            use_keyring=False,
            refresh_interval=0,
            read_retries=0,
        )
        settings.update(overrides)
        app = LexiApp(AppSettings(**settings))
        app.animation_level = "none"  # The tab underline slides for 0.3 s after a relabel.
        return app

    return make

