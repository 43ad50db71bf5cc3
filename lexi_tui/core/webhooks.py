"""Receiving Chamelio webhooks: signature checks, replay protection, the receiver (`lexi-tui webhook-listen`
is its command, in `lexi_tui.cli.webhook_listen`).

Chamelio signs each delivery with `X-Chamelio-Signature: sha256=<hex HMAC-SHA256 of the raw
body>` and wraps it in `{event, event_id, organization_id, timestamp, data}`. The receiver
answers, in this order:

* 413 for a body over 1 MiB;
* 401 when the signature header is missing or does not match (checked on the raw bytes,
  in constant time, before anything in the body is trusted);
* 400 for a body that is not such an envelope, or whose timestamp is unreadable, older than
  the replay window or too far in the future;
* 409 for an `event_id` already accepted within the window (a replay);
* 200 otherwise. `flows.tasks.created` and `flows.tasks.step_change` whose data says
  `current_step_type` is `approval` add `data.task_id` to the profile's watch list
  (`lexi_tui.core.watchlist`); other events are acknowledged and ignored (the app refreshes
  watched tasks itself).

Starlette and uvicorn are imported only when a receiver is built, so importing this module
(e.g. to register the CLI arguments) stays cheap.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from lexi_tui.api.text import clean

__all__ = [
    "APPROVAL_EVENTS", "SIGNATURE_HEADER", "Listener", "ReplayGuard", "bind_socket", "build_receiver",
    "sign", "start_listener", "uvicorn_server", "verify_signature",
]

SIGNATURE_HEADER = "X-Chamelio-Signature"
APPROVAL_EVENTS = ("flows.tasks.created", "flows.tasks.step_change")
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_PORT = 8788

TaskCallback = Callable[[int, dict[str, Any]], "Awaitable[bool] | bool"]


def sign(body: bytes, secret: bytes) -> str:
    """The header value Chamelio sends for `body`: `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: bytes) -> bool:
    """Whether `header` carries a valid `sha256=<hex>` HMAC of the raw `body` under `secret`.

    Constant-time comparison; an empty secret or a missing header never verifies. A header
    may list several signatures separated by commas (secret rotation): any match is enough.
    """
    if not header or not secret:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode("ascii")
    matched = False
    for part in header.split(",")[:8]:
        scheme, sep, digest = part.strip().partition("=")
        if not sep or scheme.strip().lower() != "sha256":
            continue
        candidate = digest.strip().lower().encode("utf-8", "replace")
        # Keep comparing after a match so timing does not depend on which entry matched.
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def parse_event_time(value: object) -> float | None:
    """Unix seconds from an ISO 8601 string or an epoch number (milliseconds if huge); None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value) / (1000.0 if value > 1e12 else 1.0)
        return seconds if math.isfinite(seconds) else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            return parse_event_time(float(text))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class ReplayGuard:
    """Remembers accepted event ids for `window` seconds and refuses repeats and stale events.

    An event whose timestamp is older than `window` is refused too: its id may already have
    been forgotten, so it cannot be told apart from a replay. Thread-safe.
    """

    def __init__(self, window: float = 300.0, *, max_future: float = 60.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.time) -> None:
        if not window > 0:
            raise ValueError("window must be > 0")
        self.window = window
        self.max_future = max_future
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()  # id -> forget-at

    def check(self, event_id: str, timestamp: object) -> str | None:
        """None when the event is new and fresh (it is remembered from now on); otherwise why
        not: "replayed", "stale", "future" or "bad_timestamp"."""
        now = self._clock()
        sent = parse_event_time(timestamp)
        if sent is None:
            return "bad_timestamp"
        if sent < now - self.window:
            return "stale"
        if sent > now + self.max_future:
            return "future"
        with self._lock:
            self._purge(now)
            if event_id in self._seen:
                return "replayed"
            self._seen[event_id] = now + self.window + self.max_future
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)
        return None

    def forget(self, event_id: str) -> None:
        """Accept `event_id` again (its processing failed, so the sender's retry must get through)."""
        with self._lock:
            self._seen.pop(event_id, None)

    def __contains__(self, event_id: object) -> bool:
        with self._lock:
            self._purge(self._clock())
            return event_id in self._seen

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._seen)

    def _purge(self, now: float) -> None:
        while self._seen:
            event_id, forget_at = next(iter(self._seen.items()))
            if forget_at > now:
                break
            del self._seen[event_id]


def _task_fields(data: dict[str, Any]) -> tuple[Any, Any]:
    """(task_id, current_step_type) from flat data or data.task."""
    nested = data.get("task") if isinstance(data.get("task"), dict) else {}
    task_id = data.get("task_id", nested.get("task_id"))
    step_type = data.get("current_step_type", nested.get("current_step_type"))
    return task_id, step_type


def _task_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        return int(value.strip()) or None
    return None


def build_receiver(secret: bytes, *, profile: str | None = None, on_task: TaskCallback | None = None,
                   guard: ReplayGuard | None = None, log: Callable[[str], None] | None = None) -> Any:
    """The receiver as an ASGI app (POST to any path; GET /healthz answers 200).

    For each task at an approval step, `on_task(task_id, envelope)` is called (it may be a
    coroutine function and returns whether the task was new); without it, the task is added to
    `profile`'s watch list.
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from lexi_tui.core import watchlist

    if not secret:
        raise ValueError("a webhook secret is required")
    if on_task is None and profile is None:
        raise ValueError("give a profile (whose watch list to add to) or an on_task callback")
    if profile is not None:
        watchlist.path_for(profile)  # ValueError now for a name that cannot be a file
    replay = guard or ReplayGuard()
    say = log or (lambda line: None)

    def answer(status: int, detail: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"detail": detail, **extra} if status >= 400 else {"ok": True, **extra},
                            status_code=status)

    async def add(task_id: int, envelope: dict[str, Any]) -> bool:
        if on_task is not None:
            result = on_task(task_id, envelope)
            return bool(await result) if isinstance(result, Awaitable) else bool(result)
        assert profile is not None
        return await run_in_threadpool(watchlist.add, profile, task_id)

    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return answer(413, "Payload too large")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return answer(413, "Payload too large")
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            say("refused a delivery without a signature")
            return answer(401, "Missing signature")
        if not verify_signature(body, header, secret):
            say("refused a delivery with a wrong signature")
            return answer(401, "Invalid signature")
        try:
            envelope = json.loads(body)
        except (ValueError, RecursionError):
            return answer(400, "Body is not JSON")
        if not isinstance(envelope, dict):
            return answer(400, "Body is not a webhook envelope")
        event, event_id, data = envelope.get("event"), envelope.get("event_id"), envelope.get("data")
        if not isinstance(event, str) or not event:
            return answer(400, "Envelope has no event")
        if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
            return answer(400, "Envelope has no event_id")
        if not isinstance(data, dict):
            return answer(400, "Envelope has no data object")
        raw_task_id, step_type = _task_fields(data)
        wanted = event in APPROVAL_EVENTS and isinstance(step_type, str) and step_type.lower() == "approval"
        task_id = _task_id(raw_task_id)
        if wanted and task_id is None:
            return answer(400, "Envelope data has no valid task_id")
        verdict = replay.check(event_id, envelope.get("timestamp"))
        shown = clean(f"{event} {event_id}", multiline=False)[:160]
        if verdict == "replayed":
            say(f"refused a replayed delivery ({shown})")
            return answer(409, "Event already received")
        if verdict is not None:
            say(f"refused a delivery with a {verdict.replace('_', ' ')} timestamp ({shown})")
            return answer(400, {"stale": "Event timestamp is too old", "future": "Event timestamp is in the future"}
                          .get(verdict, "Event timestamp is not valid"))
        if not wanted or task_id is None:
            return answer(200, "", action="ignored")
        try:
            added = await add(task_id, envelope)
        except Exception as exc:
            replay.forget(event_id)
            say(f"could not add task {task_id} to the watch list: {clean(str(exc), multiline=False)[:200]}")
            return answer(503, "Could not record the task; retry later")
        say(f"task {task_id} is at an approval step: {'added to' if added else 'already in'} the watch list "
            f"({shown})")
        return answer(200, "", action="added" if added else "already_watched", task_id=task_id)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/healthz", health, methods=["GET"]),
                             Route("/", receive, methods=["POST"]),
                             Route("/{path:path}", receive, methods=["POST"])])


# -- running it ----------------------------------------------------------------------------------


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def uvicorn_server(app: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(app, http="h11", loop="asyncio", lifespan="off", log_level="warning",
                            access_log=False, log_config=None, server_header=False)
    return uvicorn.Server(config)


class Listener:
    """A receiver serving in a background thread (tests, or the app receiving webhooks itself)."""

    def __init__(self, server: Any, sock: socket.socket, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._sock = sock
        self._thread = thread
        self.host = host
        self.port: int = sock.getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5.0)
        self._sock.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_listener(secret: bytes, profile: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
                   on_task: TaskCallback | None = None, guard: ReplayGuard | None = None,
                   log: Callable[[str], None] | None = None) -> Listener:
    """Serve a receiver in a daemon thread; returns once it accepts connections."""
    import asyncio

    app = build_receiver(secret, profile=profile, on_task=on_task, guard=guard, log=log)
    sock = bind_socket(host, port)
    server = uvicorn_server(app)

    def serve() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=serve, name=f"webhook-listener:{sock.getsockname()[1]}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the webhook listener did not start")
        time.sleep(0.005)
    return Listener(server, sock, thread, host)
