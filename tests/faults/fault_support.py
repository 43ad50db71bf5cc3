"""Helpers for the fault tests: the service's faults and counters, liveness checks, and a
proxy that loses answers after the service has acted on the request. The app and service
factories are `tests/support/app.py`'s."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from lexi_tui.server.runner import RunningServer
from lexi_tui.ui.main.screen import MainScreen
from support.app import (
    FIXTURE_TASKS,
    KEY,
    PENDING_IDS,
    admin_task,
    loaded,
    make_app,
    make_service,
    restart,
    wait_for,
)

__all__ = [
    "FIXTURE_TASKS", "KEY", "PENDING_IDS", "admin_task", "make_app", "make_service", "restart", "wait_for",
    "APPROVE", "DISMISS", "CHAT", "LIST",
    "set_faults", "stats", "endpoint_count", "loaded", "assert_alive", "assert_responsive",
    "record_notifications", "stop_in_background", "exhaust_rate_limit", "LossyProxy",
]

APPROVE = "POST /v1/lexi/tasks/{id}/approve"
DISMISS = "POST /v1/lexi/tasks/{id}/dismiss"
CHAT = "POST /v1/lexi/chat"
LIST = "GET /v1/lexi/tasks"


# -- the service's side --------------------------------------------------------------------


def set_faults(server: RunningServer, **changes: Any) -> dict[str, Any]:
    """Change latency_ms / error_rate / drop_rate at runtime (`POST /_admin/faults`)."""
    if "latency_ms" in changes:
        changes["latency_ms"] = list(changes["latency_ms"])
    response = httpx.post(f"{server.root_url}/_admin/faults", json=changes, timeout=5)
    response.raise_for_status()
    return response.json()["data"]


def stats(server: RunningServer) -> dict[str, Any]:
    """The service's request counters (`GET /_admin/stats`): the judge of what was sent."""
    return httpx.get(f"{server.root_url}/_admin/stats", timeout=5).json()["data"]


def endpoint_count(server: RunningServer, label: str) -> int:
    return int(stats(server)["by_endpoint"].get(label, 0))


def exhaust_rate_limit(server: RunningServer, *, at_least: float = 0.8) -> float:
    """Use up the key's budget from another client (the same key on another machine), so
    the app's next request is refused with a 429. Returns the seconds left in the window;
    starts over if fewer than `at_least` are left, so the refusal cannot miss the window."""
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5) as client:
        while True:
            response = client.get("/v1/lexi/tasks", params={"status": "dismissed"})
            if response.status_code == 429:
                left = float(response.headers["x-ratelimit-reset"]) - time.time()
                if left >= at_least:
                    return left
                time.sleep(max(0.0, left) + 0.05)


# -- the app's side --------------------------------------------------------------------------



def assert_alive(app: Any) -> None:
    """No traceback: the app still runs and did not record a crash."""
    assert app.is_running, "the app stopped"
    assert app.return_code is None, f"the app exited with {app.return_code}"
    assert getattr(app, "_crash", None) is None, f"the app crashed: {app._crash!r}"
    assert app._exception is None, f"the app raised: {app._exception!r}"


async def assert_responsive(pilot: Any, screen: MainScreen, *, within: float = 1.0) -> None:
    """A key still moves the cursor at once (and back), whatever is in flight."""
    table = screen.table
    assert table.task_count >= 2, "need two rows to move between"
    before = table.cursor
    key, back = ("down", "up") if before < table.task_count - 1 else ("up", "down")
    started = time.monotonic()
    await pilot.press(key)
    elapsed = time.monotonic() - started
    assert table.cursor != before, f"{key!r} did not move the cursor"
    assert elapsed < within, f"{key!r} took {elapsed:.2f} s: the screen is frozen"
    await pilot.press(back)
    assert table.cursor == before


def record_notifications(app: Any) -> list[tuple[str, str, str]]:
    """Keep (title, message, severity) of every notification the app shows from now on
    (Textual forgets them when they time out). Wraps `app.notify` on this instance only."""
    seen: list[tuple[str, str, str]] = []
    original = app.notify

    def notify(message: Any, *, title: str = "", severity: str = "information", **kwargs: Any) -> None:
        seen.append((str(title), str(message), str(severity)))
        original(message, title=title, severity=severity, **kwargs)

    app.notify = notify
    return seen


def stop_in_background(server: RunningServer) -> asyncio.Task[None]:
    """Stop the service without blocking the app's event loop (stop() waits for the
    in-flight requests, up to uvicorn's 1 s graceful time-out)."""
    return asyncio.ensure_future(asyncio.to_thread(server.stop))


# -- a proxy that loses answers --------------------------------------------------------------


class LossyProxy:
    """A loopback HTTP/1.1 proxy in front of the service that can lose answers.

    Every request is forwarded to the service on a fresh connection and its full answer
    read; when `lose(method, path)` says so, the proxy then closes the client's connection
    without replying. The service has applied the request, the client sees a connection
    dropped after sending (httpx `RemoteProtocolError`): the ambiguous failure a write must
    survive. Faults injected by the service itself happen before the request is applied,
    so they cannot produce this case.
    """

    def __init__(self, upstream: RunningServer) -> None:
        self.upstream_host = upstream.host
        self.upstream_port = upstream.port
        self.prefix = upstream.base_url[len(upstream.root_url):]
        self.lose: Callable[[str, str], bool] = lambda method, path: False
        self.lost: list[str] = []
        self.forwarded: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="lossy-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the proxy did not start")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def lose_once(self, pattern: str) -> None:
        """Lose the answer to the next request whose `METHOD path` matches `pattern`."""
        regex = re.compile(pattern)
        armed = [True]

        def rule(method: str, path: str) -> bool:
            if armed[0] and regex.search(f"{method} {path}"):
                armed[0] = False
                return True
            return False

        self.lose = rule

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()
        self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                body = await reader.readexactly(_content_length(head))
                method, path = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[:2]
                answer = await self._forward(head + body)
                self.forwarded.append(f"{method} {path}")
                if self.lose(method, path):
                    self.lost.append(f"{method} {path}")
                    return  # Close without a word: the service has acted, the client never hears.
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        try:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            return head + await reader.readexactly(_content_length(head))
        finally:
            writer.close()

    def close(self) -> None:
        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)

    def __enter__(self) -> LossyProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
