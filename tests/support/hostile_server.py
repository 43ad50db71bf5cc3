"""A small hostile HTTP/1.1 server on loopback, for what the local service cannot produce.

Raw asyncio sockets, so a test can send anything a broken or malicious server might: any
status line and reason phrase (escape sequences included), header bytes as given, repeated
headers, a body dripped one byte at a time, a huge or endless body, chunked encoding, a
connection dropped mid-answer, an answer that never comes, or raw bytes verbatim.

It runs its own event loop in a daemon thread, so sync and async tests (and Textual pilot
tests) can use it alike::

    with HostileServer(Reply.json({"data": {"tasks": []}}, headers=[("X-Request-ID", "req\\x1b]2;x\\x07")])) as server:
        client = LexiClient(KEY, server.url)
        ...
    assert server.requests[0].target == "/v1/lexi/tasks?status=pending"

The script is a `Reply` (answer every request with it), a list of replies (one per request,
in order; the last repeats), or a callable `(Request) -> Reply`. Connections are kept alive
between requests unless the reply says otherwise. `stop()` (or leaving the `with`) cancels
every connection, drips and hangs included.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

Bytesish = bytes | str
HeaderList = Sequence[tuple[Bytesish, Bytesish]]


def _b(value: Bytesish) -> bytes:
    """Text as the bytes a test means: str is encoded UTF-8 (so "\\x9b" becomes C2 9B); pass
    bytes for exact bytes (b"\\x9b" is the single byte)."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


@dataclass
class Request:
    """One request as received: method, target (path and query), headers, body."""

    method: str
    target: str
    headers: dict[str, str]
    """Lower-case names; values decoded Latin-1 (byte for byte)."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """How to answer one request.

    Attributes:
        status: the status code (any integer, even an invalid one).
        reason: the reason phrase, sent as given (bytes exact; str as UTF-8).
        headers: extra header lines in order; repeat a name to repeat the header.
        body: the body; `chunks` instead gives it as a stream (an endless generator is fine).
        chunked: send the body with `Transfer-Encoding: chunked`.
        content_length: "auto" (the body's length, or none for `chunks`/`chunked`), an int
            to declare any length (a lie included), or None to send no Content-Length (the
            body then ends when the connection closes, unless chunked).
        drip: seconds to wait between single bytes of the body.
        head_delay: seconds to wait before the status line.
        drop_after: abort the connection after this many body bytes.
        hang: never answer; hold the connection open until the client gives up.
        raw: send exactly these bytes as the whole answer (nothing else is added).
        close: close the connection after this answer.
    """

    status: int = 200
    reason: Bytesish = b"OK"
    headers: HeaderList = ()
    body: Bytesish = b""
    chunks: Iterable[bytes] | None = None
    chunked: bool = False
    content_length: int | str | None = "auto"
    drip: float | None = None
    head_delay: float = 0.0
    drop_after: int | None = None
    hang: bool = False
    raw: bytes | None = None
    close: bool = False

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: HeaderList = (), **options: Any) -> Reply:
        """A JSON body (`json.dumps`, ASCII-escaped) with `Content-Type: application/json`."""
        body = value if isinstance(value, (bytes, str)) else json.dumps(value)
        return cls(status=status, headers=[("Content-Type", "application/json"), *headers], body=body, **options)

    @classmethod
    def endless(cls, chunk: bytes = b"x" * 65536, **options: Any) -> Reply:
        """A body that never ends (chunked unless told otherwise): for size caps."""
        def forever() -> Iterator[bytes]:
            while True:
                yield chunk
        options.setdefault("chunked", True)
        return cls(chunks=forever(), **options)

    @classmethod
    def gzip_bomb(cls, size: int, **options: Any) -> Reply:
        """`size` zero bytes, gzip-compressed (a few KB on the wire per MB decoded)."""
        compressed = gzip.compress(b"\0" * size, compresslevel=9)
        headers = [("Content-Type", "application/json"), ("Content-Encoding", "gzip"), *options.pop("headers", ())]
        return cls(headers=headers, body=compressed, **options)


@dataclass
class _Stats:
    body_bytes_sent: int = 0
    connections: int = 0
    errors: list[BaseException] = field(default_factory=list)


class HostileServer:
    """A scripted HTTP/1.1 server on 127.0.0.1 in a background thread (see the module doc).

    Attributes:
        url: `http://127.0.0.1:PORT` once started.
        requests: every request received, in order.
        stats: `body_bytes_sent` (all answers), `connections`, and `errors` (exceptions
            inside the server itself, which would be bugs in a test's script).
    """

    def __init__(self, script: Reply | Sequence[Reply] | Callable[[Request], Reply]) -> None:
        self._script = script
        self._served = 0
        self.requests: list[Request] = []
        self.stats = _Stats()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life cycle ------------------------------------------------------------------------------

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> HostileServer:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0, limit=1 << 20))
            ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="hostile-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = self._thread = None

    # -- serving ---------------------------------------------------------------------------------

    def _reply_for(self, request: Request) -> Reply:
        script = self._script
        if isinstance(script, Reply):
            return script
        if callable(script):
            return script(request)
        index = min(self._served, len(script) - 1)
        self._served += 1
        return script[index]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                self.requests.append(request)
                if not await self._answer(writer, self._reply_for(request)):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # The client went away: what hostile tests are about.
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # A bug in a script: keep it for the test to see.
            self.stats.errors.append(exc)
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _read_request(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        return Request(method, target, headers, body)

    async def _answer(self, writer: asyncio.StreamWriter, reply: Reply) -> bool:
        """Send one answer; False when the connection must end afterwards."""
        if reply.hang:
            await asyncio.sleep(3600)
            return False
        if reply.head_delay:
            await asyncio.sleep(reply.head_delay)
        if reply.raw is not None:
            writer.write(reply.raw)
            await writer.drain()
            return not reply.close
        body = _b(reply.body)
        streaming = reply.chunks is not None
        head = b"HTTP/1.1 " + str(reply.status).encode() + b" " + _b(reply.reason) + b"\r\n"
        for name, value in reply.headers:
            head += _b(name) + b": " + _b(value) + b"\r\n"
        if reply.content_length == "auto":
            if not reply.chunked and not streaming:
                head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        elif reply.content_length is not None:
            head += b"Content-Length: " + str(reply.content_length).encode() + b"\r\n"
        if reply.chunked:
            head += b"Transfer-Encoding: chunked\r\n"
        delimited_by_close = not reply.chunked and reply.content_length is None
        if reply.close or delimited_by_close:
            head += b"Connection: close\r\n"
        writer.write(head + b"\r\n")
        await writer.drain()
        pieces: Iterable[bytes] = reply.chunks if reply.chunks is not None else ([body] if body else [])
        sent = 0
        for piece in pieces:
            parts = [piece[i:i + 1] for i in range(len(piece))] if reply.drip is not None else [piece]
            for part in parts:
                if reply.drop_after is not None and sent + len(part) > reply.drop_after:
                    part = part[: reply.drop_after - sent]
                    if part:
                        writer.write(_frame(part, reply.chunked))
                        await writer.drain()
                    self.stats.body_bytes_sent += len(part)
                    return False  # `finally` aborts the connection: dropped mid-answer.
                writer.write(_frame(part, reply.chunked))
                await writer.drain()
                sent += len(part)
                self.stats.body_bytes_sent += len(part)
                if reply.drip is not None:
                    await asyncio.sleep(reply.drip)
        if reply.chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return not (reply.close or delimited_by_close)


def _frame(data: bytes, chunked: bool) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data
