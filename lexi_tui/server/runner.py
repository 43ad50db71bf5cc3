"""Run the service in a background thread: for tests, the demo and the CLI alike.

We bind the listening socket ourselves (port 0 picks a free port, and SO_REUSEADDR lets a
test stop the service and start it again on the same port), then hand it to uvicorn running
its own event loop in a daemon thread. `start_server` returns only once uvicorn accepts
connections. In quiet mode (the default) nothing is written to stdout/stderr, because the TUI
may be drawing on that terminal in the same process.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import glob
import logging
import os
import re
import socket
import tempfile
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from .app import build_app
from .options import CHAMELIO_PREFIX, GATEWAY_PREFIX, ServerOptions
from .service import Service, open_service

logger = logging.getLogger("lexi_tui.server")

TEMP_PREFIX = "lexi-local-"
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def _remove_db_files(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_stale_temporary_dbs() -> int:
    """Delete temporary databases left by processes that died without cleaning up.

    atexit cannot run when a process is killed (SIGKILL, or SIGHUP when a terminal or tmux
    session closes under the in-process demo), so the owner's pid is part of the file name
    and the next start removes files whose owner is gone. Returns how many were removed.
    """
    removed = 0
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{TEMP_PREFIX}*-*.db")):
        match = re.match(rf"{TEMP_PREFIX}(\d+)-", os.path.basename(path))
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            _remove_db_files(path)
            removed += 1
    return removed


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it uvicorn's separate header/body writes meet Nagle's algorithm
    # and the client's delayed ACK — 40 ms per response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _silence_uvicorn() -> None:
    """Keep uvicorn's records away from the terminal: a NullHandler stops Python's last-resort
    stderr handler, and not propagating keeps them out of whatever the host app configured."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        log = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
            log.addHandler(logging.NullHandler())
        log.propagate = False


class _Server(uvicorn.Server):
    """uvicorn.Server whose idle loop can be woken, so stop() does not wait for a 0.1 s tick
    (tests stop and start services a lot)."""

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        """uvicorn's tick loop (on_tick every 0.1 s), but interruptible by request_exit()."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def request_exit(self) -> None:
        """Thread-safe: ask the server to shut down now."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(wake.set)


class RunningServer:
    """A service running in a background thread. Use as a context manager, or call stop()."""

    def __init__(self, options: ServerOptions, service: Service, server: _Server,
                 thread: threading.Thread, sock: socket.socket, db_path: str,
                 cleanup: functools.partial[None] | None) -> None:
        self.options = options
        self.host: str = options.host
        self.port: int = sock.getsockname()[1]
        self.db_path = db_path
        self._service = service
        self._server = server
        self._thread = thread
        self._sock = sock
        self._cleanup = cleanup  # deletes a temporary database; also registered with atexit
        self._stopped = False
        self._stop_lock = threading.Lock()

    @property
    def root_url(self) -> str:
        """`http://HOST:PORT` (admin endpoints live here)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Root plus the gateway prefix: what a client uses instead of the production URL."""
        return self.root_url + GATEWAY_PREFIX

    @property
    def api_key(self) -> str:
        """A key with the lexi permission (the demo key when none was configured)."""
        return self.options.lexi_keys()[0] if self.options.lexi_keys() else ""

    @property
    def chamelio_base_url(self) -> str:
        """Root plus `/chamelio`: what a Chamelio client uses instead of the production URL."""
        return self.root_url + CHAMELIO_PREFIX

    def chamelio_task_ids(self) -> list[int]:
        """Every Chamelio task id the service holds (seeded or created), oldest first."""
        face = self._service.chamelio
        return face.store.ids() if face is not None else []

    @property
    def running(self) -> bool:
        """Whether the server thread is still serving."""
        return not self._stopped and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server thread ends (or timeout); True if it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Graceful stop: finish in-flight requests (briefly), join the thread, close the
        store, release the port and delete a temporary database. Idempotent."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
            self._server.request_exit()
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT)
            self._sock.close()
            self._service.store.close()
            if self._cleanup is not None:
                self._cleanup()
                atexit.unregister(self._cleanup)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningServer {self.base_url} {'running' if self.running else 'stopped'}>"


def start_server(options: ServerOptions) -> RunningServer:
    """Start the service described by `options`; returns once it accepts connections.

    Raises records.TaskDataError for a bad tasks file, OSError if the port cannot be bound,
    RuntimeError if uvicorn fails to start.
    """
    cleanup: functools.partial[None] | None = None
    if options.db_path is None:
        sweep_stale_temporary_dbs()
        fd, db_path = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".db")
        os.close(fd)
        cleanup = functools.partial(_remove_db_files, db_path)
        atexit.register(cleanup)
    else:
        db_path = str(options.db_path)
    try:
        service = open_service(options, db_path)
    except BaseException:
        if cleanup is not None:
            cleanup()
            atexit.unregister(cleanup)
        raise
    try:
        sock = _bind(options.host, options.port)
    except BaseException:
        service.store.close()
        if cleanup is not None:
            cleanup()
            atexit.unregister(cleanup)
        raise

    if options.quiet:
        _silence_uvicorn()
    config = uvicorn.Config(
        build_app(service), http="h11", loop="asyncio", lifespan="on", log_level="warning",
        access_log=False, log_config=None if options.quiet else LOGGING_CONFIG,
        timeout_graceful_shutdown=1, server_header=False,
    )
    server = _Server(config)
    failure: list[BaseException] = []

    def serve() -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_exception_handler)
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # SystemExit from a failed uvicorn start-up included
            failure.append(exc)
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=serve, name=f"lexi-local-service:{sock.getsockname()[1]}", daemon=True)
    running = RunningServer(options, service, server, thread, sock, db_path, cleanup)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            running.stop()
            raise RuntimeError(f"local Lexi service failed to start: {failure[0]!r}" if failure
                               else "local Lexi service did not start in time")
        time.sleep(0.005)
    return running


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's default handler logs to stderr; route it to our (silent by default) logger."""
    logger.debug("event loop: %s", context.get("message"), exc_info=context.get("exception"))
