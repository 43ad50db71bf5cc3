"""The key and the queue's first list, found by a second process while the app loads.

The first list costs an HTTP round trip, the client (httpx, ~40 ms to import, and a TLS
context, ~40 ms), and the key (the keyring: ~300 ms the first time). In the app's process all
of that waits for Textual to import and the screen to be built: one interpreter runs one
thing at a time. So before Textual is imported, `lexi-tui` forks: the child looks the key up
(`core.keystore.lookup_key`, as the app would), sends it to the app at once, asks the
planner whether the first refresh may be sent (the day's own count, as the refresh engine
would), and if so fetches the queue through the same provider the app uses. It runs on the
machine's other core while the app imports and paints, writes what it found into a pipe, and
exits.

The app takes the answer as the refresh engine's first call of the queue
(`ui.main.refresh`): it replays the child's `ResponseInfo`s to every listener (the planner
counts the call and reads its headers, the header follows it, `--debug` logs it) at the
moment the engine would have made the call, and the list (or the error) is what the call
returned. So nothing is asked twice and nothing goes uncounted. When the child finds no key,
is not allowed to spend the call, dies, or says nothing within `ANSWER_WAIT`, the app does
what it did without it: the login screen, or its own first call.

Only the child's own messages cross the pipe (an anonymous pipe only the two processes hold),
as pickles: the key (never written anywhere), then the answer. Everything in the answer that
came from the server is what the API client made of it, already cleaned.

POSIX only (`os.fork`), as the terminal handling is; called before any thread is started. `LEXI_TUI_NO_FORK=1` leaves it all to the app's process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lexi_tui.api.errors import LexiError
    from lexi_tui.api.lexi import ResponseInfo
    from lexi_tui.api.models import Task
    from lexi_tui.core.keystore import KeyLookup

READ_RETRIES = 2
"""Retries of a read after a network error, for the app's client and the child's alike."""
KEY_WAIT = 10.0
"""Seconds the app waits for the child's key (its keyring lookup gives up after 3 s) before it
looks the key up itself."""
ANSWER_WAIT = 60.0
"""Seconds the app waits for the child's answer before it asks itself (the child is stopped)."""
_HEADER = struct.Struct("!Q")


@dataclass(frozen=True)
class StartRequest:
    """What the child needs to do what the app would do first.

    Args:
        profile: the profile's name (its keyring entry, its count file, its watch list).
        provider: "lexi" or "chamelio".
        base_url: the server.
        env_var: the variable a key is read from before the keyring (`ProviderInfo.env_var`).
        view: the queue's view (`Capabilities.views[0]`).
        plan: the configured plan ("starter", ...), for the planner; None: not configured.
        refresh_interval: the configured live refresh interval (the planner's).
        ca_bundle: the profile's CA bundle, as the app's client takes it.
        count_path: the file the refresh engine keeps today's call count in.
        use_keyring: look in the keyring after the environment.
    """

    profile: str
    provider: str
    base_url: str
    env_var: str
    view: str
    plan: str | None
    refresh_interval: float
    ca_bundle: str | None
    count_path: str
    use_keyring: bool = True


@dataclass
class FirstAnswer:
    """What the child's first call of the queue got.

    Attributes:
        tasks: the list as the provider returned it, or None after an error.
        error: the error the call raised (an API or transport error), or None.
        heard: every answer the call got (retries included), for the app's listeners.
    """

    tasks: list[Task] | None
    error: LexiError | None
    heard: list[ResponseInfo] = field(default_factory=list)


class FirstFetch:
    """The child and the two things it sends: `key` (a `KeyLookup`) and `answer` (a
    `FirstAnswer`, or None when it fetched nothing). Both futures always complete, from a
    reader thread; `close` stops a child still working."""

    def __init__(self, request: StartRequest, pid: int, fd: int) -> None:
        self.request = request
        self.pid = pid
        self.key: Future[KeyLookup | None] = Future()
        self.answer: Future[FirstAnswer | None] = Future()
        self._fd = fd
        self._claimed = False
        self._lock = threading.Lock()
        self._reaping = threading.Lock()
        """Held while waiting for the child to end (never `_lock`: `claim` runs on the event loop)."""
        self._reaped = False
        self._reader = threading.Thread(target=self._read, name="lexi-tui-first-list", daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, request: StartRequest) -> FirstFetch | None:
        """Fork the child; None when the system cannot (the app then does it all itself)."""
        try:
            read_end, write_end = os.pipe()
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return None
        if pid == 0:  # pragma: no cover - the child (its work is tested through the app)
            code = 1
            try:
                os.close(read_end)
                _quiet_stdio()
                _child(request, write_end)
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        return cls(request, pid, read_end)

    def claim(self, view: str) -> Future[FirstAnswer | None] | None:
        """The answer, for the first call of `view` (once; None for any other call)."""
        with self._lock:
            if self._claimed or view != self.request.view:
                return None
            self._claimed = True
            return self.answer

    def close(self) -> None:
        """The app is done with the child: stop it if it is still at work, and reap it."""
        if not self.answer.done():
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGTERM)
        self._reader.join(timeout=2.0)
        self._reap(block=False)

    def _read(self) -> None:
        started = time.monotonic()
        try:
            self.key.set_result(_receive(self._fd, started + KEY_WAIT))
            self.answer.set_result(_receive(self._fd, started + ANSWER_WAIT))
        except Exception:  # The child died, timed out or wrote nothing whole: the app asks itself.
            if not self.key.done():
                self.key.set_result(None)
            if not self.answer.done():
                self.answer.set_result(None)
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGTERM)
        finally:
            os.close(self._fd)
            self._reap(block=True)

    def _reap(self, *, block: bool) -> None:
        with self._reaping:
            if self._reaped:
                return
            try:
                done, _ = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done = self.pid
            self._reaped = done == self.pid


def _receive(fd: int, deadline: float) -> Any:
    """One message: its length (8 bytes), then the pickle. Safe to unpickle: the only writer is
    our own child, over a pipe no other process holds."""
    size = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))[0]
    return pickle.loads(_read_exactly(fd, size, deadline))


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    import select

    chunks: list[bytes] = []
    left = size
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise TimeoutError("the first list did not come in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the child ended before its answer")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _send(fd: int, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _quiet_stdio() -> None:  # pragma: no cover - in the child
    """The child never touches the terminal: no stray warning may land on the app's screen,
    and keys stay the app's."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _child(request: StartRequest, fd: int) -> None:  # pragma: no cover - in the child
    """Find the key, send it; fetch the queue if the planner allows the first refresh; send that."""
    import asyncio
    import sys

    # httpx imports its command-line client (click, rich) unless that import fails; this
    # process never runs it, and it is ~30 ms of the way to the first request.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

    from lexi_tui.core.keystore import KeyLookup, lookup_key

    if request.use_keyring:
        found = lookup_key(request.profile, env_var=request.env_var)
    else:
        key = os.environ.get(request.env_var, "").strip()
        found = KeyLookup(key or None, "env" if key else "none")
    _send(fd, found)
    if not found.key or not may_send_first_refresh(request):
        _send(fd, None)
        return
    _send(fd, asyncio.run(_fetch(request, found.key)))


def may_send_first_refresh(request: StartRequest, now: float | None = None) -> bool:
    """Whether the refresh engine would send its first call now: the planner, with today's own
    count restored from the engine's file, has a call for the person (it has none once the
    configured plan's day is used up by this app's own count)."""
    import json

    from lexi_tui.core.budget import Planner

    planner = Planner(request.refresh_interval, request.plan, daily_quota=request.provider == "lexi",
                      clock=time.time)
    try:
        with open(request.count_path, encoding="utf-8") as saved:
            planner.restore(json.load(saved))
    except (OSError, ValueError):
        pass
    now = time.time() if now is None else now
    at, _why = planner.earliest(1, background=False, now=now)
    return at <= now


async def _fetch(request: StartRequest, key: str) -> FirstAnswer | None:  # pragma: no cover - in the child
    from lexi_tui.api.errors import LexiError
    from lexi_tui.providers import create_provider

    heard: list[ResponseInfo] = []
    try:
        provider = create_provider(request.provider, key, request.base_url, read_retries=READ_RETRIES,
                                   ca_bundle=request.ca_bundle, profile=request.profile)
    except ValueError:
        return None  # The app says what is wrong with the URL itself.
    provider.add_listener(heard.append)
    try:
        tasks = await provider.list_tasks(request.view)
        return FirstAnswer(tasks, None, heard)
    except LexiError as error:
        return FirstAnswer(None, error, heard)
    finally:
        await provider.aclose()
