"""What every picture-taking script shares (the README screenshots, the snapshot tests): the
pinned clock, a transport that routes the app's requests to a local service, proxies set aside,
and the waits that bring the app to a steady screen. Imports nothing of the shot scripts, so
they and `screenshots.py` import it without a circle.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from lexi_tui.server.runner import RunningServer
from lexi_tui.ui import clock

#: "Now" in every screenshot: ages ("20m") and times are computed from it.
FIXED_NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


# -- determinism: the clock and the network ------------------------------------------------


@contextlib.contextmanager
def pinned_clock(moment: datetime = FIXED_NOW) -> Iterator[None]:
    """Make `lexi_tui.ui.clock.now()` return `moment` (ages and times on screen)."""
    original = clock.now
    clock.now = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        clock.now = original  # type: ignore[assignment]


class LocalTransport(httpx.AsyncBaseTransport):
    """Sends every request to `root_url` (scheme, host and port), whatever URL it names."""

    def __init__(self, root_url: str) -> None:
        target = httpx.URL(root_url)
        self._scheme, self._host, self._port = target.scheme, target.host, target.port
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self._scheme, host=self._host, port=self._port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def routed(server: RunningServer) -> Callable[[], httpx.AsyncBaseTransport]:
    """A transport factory for `AppSettings.transport_factory`: every request goes to `server`,
    while the app keeps showing the URL it was given (stable across runs, unlike a free port)."""
    return lambda: LocalTransport(server.root_url)


@contextlib.contextmanager
def without_proxies() -> Iterator[None]:
    """Set the proxy variables aside meanwhile: a proxy would take requests past the transport."""
    saved = {name: os.environ.pop(name) for name in _PROXY_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


# -- waits -----------------------------------------------------------------------------------


async def wait_until(pilot: Any, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Pause until `predicate()` holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not reach the expected state in time")
        await pilot.pause(0.05)


async def loaded(pilot: Any) -> Any:
    """Wait for the main screen's first list and the detail pane's JSON; returns the screen."""
    from lexi_tui.ui.main.screen import MainScreen

    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.state.fetched_at is not None)
    screen = app.screen
    await wait_until(pilot, lambda: bool(screen.detail.json_view.lines))
    await pilot.pause()
    return screen


async def settle(pilot: Any) -> None:
    """Let the screen come to rest: animations done, and a steady (not blinking) text cursor.

    It also re-places the tab underline: after a tab is relabelled ("Pending" becomes
    "Pending 6") Textual 8.2 sometimes measures the tab before its new width is laid out,
    and the underline then stays one label short until the next resize (seen in about one
    run in three). Without this the pictures would differ from run to run.
    """
    from textual.widgets import Input, Tabs

    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause()
    for tabs in (tabs for screen in pilot.app.screen_stack for tabs in screen.query(Tabs)):
        realign = getattr(tabs, "_highlight_active", None)
        if realign is not None:
            realign(animate=False)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
