"""A scripted Lexi on the hostile server: what the local service refuses to be.

The local service follows the docs, so it never sends a duplicated id, an empty one, lone
surrogates, a task nested 100,000 deep, a 30 MB description or markup in an error message.
`HostileLexi` answers the app's requests (the task lists, chat, approve and dismiss) from
whatever a test puts in it, over real loopback HTTP (`support.hostile_server`), and keeps
every request so a test can check what was sent.

    with HostileLexi(pending=[task("t-1"), task("t-1")]) as lexi:
        app = lexi.app()          # a LexiApp pointed at it
        ...
        assert lexi.sent("POST")  # the requests the app made
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from lexi_tui.ui.app import AppSettings, LexiApp
from support.hostile_server import HostileServer, Reply, Request

KEY = "wbk_hostile_lexi_0000000000beef"
RATE = [("X-RateLimit-Limit", "100"), ("X-RateLimit-Remaining", "90"), ("X-Request-ID", "req_hostile")]


def task(task_id: Any, description: str = "a task", *, status: str = "pending", type: str = "prospect_search",
         metadata: Any = None, **extra: Any) -> dict[str, Any]:
    """One task as the list endpoint sends it (any field may be anything)."""
    return {"id": task_id, "type": type, "status": status, "description": description,
            "created_at": "2026-11-23T11:00:00Z", "metadata": {} if metadata is None else metadata, **extra}


def error(status: int, code: str, message: str) -> Reply:
    """A documented error envelope with any message."""
    return Reply.json({"error": {"code": code, "message": message}}, status=status, headers=RATE)


class HostileLexi:
    """Lexi's task, chat and action endpoints, answered from test data.

    Attributes:
        lists: status -> the `tasks` array sent for it (any JSON value), or `bytes`: the whole
            body, sent verbatim (for JSON `json.dumps` cannot write, e.g. lone surrogates).
        chat: answers `POST /v1/lexi/chat` (default: done at once, "ok").
        act: answers approve and dismiss (default: success); gets the request and the id.
        override: when set, answers every request instead (a login check, an outage).
        requests: every request received, in order.
    """

    def __init__(self, **lists: Any) -> None:
        self.lists: dict[str, Any] = dict(lists)
        self.chat: Callable[[Request], Reply] = lambda request: Reply.json(
            {"data": {"response": "ok", "task_id": None, "requires_approval": False, "conversation_id": "c-1"}},
            headers=RATE)
        self.act: Callable[[Request, str], Reply] = lambda request, task_id: Reply.json(
            {"data": {"task_id": task_id, "status": "approved", "execution_started": True}}, headers=RATE)
        self.override: Callable[[Request], Reply] | None = None
        self.server = HostileServer(self._answer)

    def __enter__(self) -> HostileLexi:
        self.server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def sent(self, method: str, contains: str = "") -> list[Request]:
        """The requests with this method whose target contains `contains`."""
        return [r for r in self.requests if r.method == method and contains in r.target]

    def app(self, **overrides: Any) -> LexiApp:
        settings: dict[str, Any] = dict(profile="hostile", base_url=self.url, api_key=KEY, use_keyring=False,
                                        refresh_interval=0, read_retries=0, undo_window=0)
        settings.update(overrides)
        return LexiApp(AppSettings(**settings))

    def _answer(self, request: Request) -> Reply:
        if self.override is not None:
            return self.override(request)
        path, _, query = request.target.partition("?")
        if request.method == "GET" and path == "/v1/lexi/tasks":
            status = parse_qs(query).get("status", ["pending"])[0]
            tasks = self.lists.get(status, [])
            if isinstance(tasks, bytes):
                return Reply(headers=[("Content-Type", "application/json"), *RATE], body=tasks)
            return Reply.json({"data": {"tasks": tasks}}, headers=RATE)
        if request.method == "POST" and path == "/v1/lexi/chat":
            return self.chat(request)
        if request.method == "POST" and path.startswith("/v1/lexi/tasks/") and path.endswith(("/approve", "/dismiss")):
            task_id = unquote(path[len("/v1/lexi/tasks/"):].rsplit("/", 1)[0])
            return self.act(request, task_id)
        return error(404, "not_found", f"no route {path}")


def body_of(tasks: list[Any]) -> bytes:
    """A list body written by hand, for values `json.dumps` would refuse or escape: each task is
    either a dict (dumped) or a `str` of raw JSON (sent as written)."""
    parts = [item if isinstance(item, str) else json.dumps(item) for item in tasks]
    return ('{"data": {"tasks": [' + ", ".join(parts) + "]}}").encode("utf-8", "surrogatepass")


def read_until_quiet(fd: int, quiet: float, limit: float) -> bytes:
    """What a pseudo-terminal's master end receives until it is quiet for `quiet` seconds (or
    `limit` seconds have passed): for tests that run the real app and read every byte."""
    import os
    import select
    import time

    out = bytearray()
    deadline = time.monotonic() + limit
    last = time.monotonic()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            last = time.monotonic()
        elif out and time.monotonic() - last > quiet:
            break
    return bytes(out)
