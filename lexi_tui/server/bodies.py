"""Request bodies, read once by the gateway middleware before any route sees them.

Reading the body up front does two things no route can do well on its own:

* **Size limit** (`--max-body`, default 1 MiB). A declared `Content-Length` above the limit
  is refused at once; a chunked body (no Content-Length) is counted while it is read and
  refused as soon as it passes the limit. Either way the rest of what the client sends is read
  and thrown away (up to `DRAIN_LIMIT`) before the 413 goes out: a client that is still
  writing when the server answers and closes would otherwise see a connection reset instead of
  the 413. A client that asked `Expect: 100-continue` is answered without reading anything.
* **Disconnects.** A client that sends headers and half a body and then closes makes the
  ASGI server report `http.disconnect`; inside a route that surfaces as an exception (and a
  logged traceback). Here it simply ends the request, logged at debug level only.

Routes then get a `receive` that replays the whole body in one message.
"""

from __future__ import annotations

import dataclasses

from starlette.types import Message, Receive, Scope

DRAIN_LIMIT = 64 * 1024 * 1024  # read and discard at most this much of a refused body

OK = "ok"
TOO_LARGE = "too_large"
DISCONNECTED = "disconnected"


@dataclasses.dataclass(frozen=True)
class BodyRead:
    """The body read from the client, and how reading ended (OK, TOO_LARGE, DISCONNECTED)."""

    body: bytes
    outcome: str


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return None


def declares_body(scope: Scope) -> bool:
    """Whether the request has a body to read (a non-zero Content-Length or chunked)."""
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in (b"", b"0")
    return _header(scope, b"transfer-encoding") is not None


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared, or None (chunked, absent or unreadable)."""
    length = _header(scope, b"content-length")
    try:
        return int(length) if length is not None else None
    except ValueError:
        return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> BodyRead:
    """Read the whole request body, at most `limit` bytes (0 = no limit).

    Args:
        scope: the request's ASGI scope (for Content-Length and Expect).
        receive: the ASGI server's receive callable.
        limit: the largest body accepted, in bytes; 0 accepts any size.
    """
    declared = declared_length(scope)
    if limit and declared is not None and declared > limit:
        if (_header(scope, b"expect") or b"").lower() == b"100-continue":
            return BodyRead(b"", TOO_LARGE)  # the client waits for us: nothing was sent
        return BodyRead(b"", await _drain(receive, 0))
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return BodyRead(b"", DISCONNECTED)
        chunk = message.get("body", b"")
        total += len(chunk)
        if limit and total > limit:
            if not message.get("more_body", False):
                return BodyRead(b"", TOO_LARGE)
            return BodyRead(b"", await _drain(receive, total))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return BodyRead(b"".join(chunks), OK)


async def _drain(receive: Receive, already: int) -> str:
    """Read and discard the rest of a refused body; TOO_LARGE, or DISCONNECTED if the client left."""
    total = already
    while total <= DRAIN_LIMIT:
        message = await receive()
        if message["type"] == "http.disconnect":
            return DISCONNECTED
        total += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return TOO_LARGE


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands out `body` in one message, then defers to `receive`
    (which then only reports the disconnect, as after any complete body)."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
