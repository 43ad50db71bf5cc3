"""Helpers for the action-policy tests: the local service (both faces), its admin counters as
the judge of what was applied, and a lossy proxy for what the service cannot do itself.

The service's admin endpoints are the judge: the tests never trust the code's own account.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from typing import Any

import httpx

from lexi_tui.api.models import Task
from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server

KEY = "wbk_coretest_000000000000000c0re"
OTHER_KEY = "wbk_coretest_00000000000000nolexi"
CHAMELIO_KEY = "ca_coretest_active_0000000000c1"


def start(**overrides: Any) -> RunningServer:
    """A fresh service (admin on, instant successful execution, one Lexi and one Chamelio key)."""
    options: dict[str, Any] = dict(keys=(KEY,), chamelio_keys=(CHAMELIO_KEY,), exec_delay=0.0,
                                   failure_rate=0.0, admin=True, tasks=())
    options.update(overrides)
    return start_server(ServerOptions(**options))


def make_tasks(n: int, prefix: str = "b") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "type": "prospect_search", "description": f"Search {i}",
             "metadata": {"per_page": i}} for i in range(n)]


def as_tasks(raw: list[dict[str, Any]]) -> list[Task]:
    return [Task.from_api({**item, "status": item.get("status", "pending")}) for item in raw]


def admin_task(server: RunningServer, tid: str) -> dict[str, Any]:
    response = httpx.get(f"{server.root_url}/_admin/tasks/{tid}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def admin_stats(server: RunningServer) -> dict[str, Any]:
    return httpx.get(f"{server.root_url}/_admin/stats", timeout=5).json()["data"]


def writes(server: RunningServer) -> int:
    """Lexi approve/dismiss requests the service received (answered or not)."""
    endpoints = admin_stats(server)["by_endpoint"]
    return sum(count for label, count in endpoints.items() if label.startswith("POST /v1/lexi/tasks/"))


def set_faults(server: RunningServer, **changes: Any) -> None:
    httpx.post(f"{server.root_url}/_admin/faults", json=changes, timeout=5).raise_for_status()


def set_used(server: RunningServer, *, today: int | None = None, minute: int | None = None) -> dict[str, Any]:
    """Arrange the key's counters ("2 calls left today") without making the calls."""
    body: dict[str, Any] = {"key": KEY}
    if today is not None:
        body["used_today"] = today
    if minute is not None:
        body["used_this_minute"] = minute
    response = httpx.post(f"{server.root_url}/_admin/ratelimit", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def chamelio_url(server: RunningServer) -> str:
    return server.root_url + "/chamelio"


def chamelio_task(server: RunningServer, **body: Any) -> int:
    """A fresh Chamelio task (at its approval step unless `step=` says otherwise)."""
    response = httpx.post(f"{server.root_url}/_admin/chamelio/tasks", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["task_id"])


def chamelio_record(server: RunningServer, task_id: int) -> dict[str, Any]:
    """What the Chamelio face keeps behind the API: status, approve_calls, cancel_calls, outcome."""
    response = httpx.get(f"{server.root_url}/_admin/chamelio/tasks/{task_id}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["data"]


class LossyProxy:
    """A loopback HTTP/1.1 proxy in front of the service that can lose answers or requests.

    For each request, `fate(method, path)` says what happens: "pass" (forward, answer), "lose"
    (forward, let the service act, then close the client's connection without a word: the
    answer is lost after the write was applied), "drop" (close without forwarding: nothing
    reached the service, yet the client cannot know), or an int status (answer it with that
    status and a JSON error, never forwarding). The service's own `drop_rate` fault drops a
    request before it is applied, like "drop"; only a proxy can lose an answer after.
    """

    def __init__(self, upstream: RunningServer, prefix: str = "") -> None:
        self.upstream_host, self.upstream_port = upstream.host, upstream.port
        self.prefix = prefix
        self.fate: Callable[[str, str], str | int] = lambda method, path: "pass"
        self.log: list[tuple[str, str | int]] = []
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

    def once(self, pattern: str, fate: str | int) -> None:
        """`fate` for the next request whose `METHOD path` matches `pattern`; then pass."""
        regex, armed = re.compile(pattern), [True]

        def rule(method: str, path: str) -> str | int:
            if armed[0] and regex.search(f"{method} {path}"):
                armed[0] = False
                return fate
            return "pass"

        self.fate = rule

    def always(self, pattern: str, fate: str | int) -> None:
        """`fate` for every request whose `METHOD path` matches `pattern`."""
        regex = re.compile(pattern)
        self.fate = lambda method, path: fate if regex.search(f"{method} {path}") else "pass"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def begin() -> None:
            self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(begin())
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
                fate = self.fate(method, path.split("?")[0])
                self.log.append((f"{method} {path}", fate))
                if fate == "drop":
                    return
                if isinstance(fate, int):
                    payload = b'{"detail":"injected by the proxy"}'
                    writer.write(b"HTTP/1.1 %d Injected\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\n\r\n%s" % (fate, len(payload), payload))
                    await writer.drain()
                    continue
                answer = await self._forward(head + body)
                if fate == "lose":
                    return
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
