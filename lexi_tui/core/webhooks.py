"""Receiving Chamelio webhooks as documented: signature, de-duplication by `event_id`, an event
log that survives restarts, and the task read that decides what to watch. `lexi-tui
webhook-listen` (`lexi_tui.cli.webhook_listen`) is its command.

What Chamelio sends (api-docs/chamelio-facts.md, "Webhooks"):

* `X-Chamelio-Signature: sha256=<hex HMAC-SHA256 of the raw body>` and an envelope `{event,
  event_id, organization_id, timestamp, data}`; `event_id` is "unique delivery ID — use to
  deduplicate retries", `timestamp` is when the event happened.
* When the endpoint does not answer 2xx within 10 s it retries after 1 min, 5 min, 30 min and
  2 h, so one event can arrive several times, the last more than 2.5 hours after it happened,
  and a retry of an event already received must get a 2xx or it keeps coming.
* `flows.tasks.created` and `flows.tasks.step_change` carry `current_step {step_id,
  step_name, assignee}` and **no step type**; `task_id` is an integer in the REST API but a
  string ("task_def456") in the webhook examples; the cancel event is spelled `canceled`
  where REST says `cancelled`.

What the receiver answers, in this order:

* 413 for a body over 1 MiB; 401 when the signature is missing or wrong (checked on the raw
  bytes, in constant time, before anything in the body is trusted); 400 for a body that is
  not such an envelope or has no readable timestamp;
* 200 `{"action": "duplicate"}` for an `event_id` already received (within `retention`,
  across restarts: the ids are in the event log), changing nothing;
* 400 for an event that happened longer ago than the replay window (default 4 h, beyond
  Chamelio's last retry at about 2 h 37 min) or more than 5 minutes in the future;
* 503 when the event cannot be recorded (a full disk): Chamelio retries it later;
* 200 otherwise, as soon as the event is in the log. A created or step-change event whose
  `current_step` is not null is then checked **in the background**: the task is read
  (`GET /tasks/{id}` with the profile's Chamelio key, through a `TaskReader`) and watched only
  when it waits at an approval step (`current_step_type == "approval"`, status pending or
  in_progress). Other events (completed, canceled/cancelled, commented, unknown ones) are
  acknowledged and logged: the app refreshes watched tasks itself.

Why acknowledge first: a read can be slow or fail (rate limit, outage), and Chamelio gives up
after 10 s. The event is appended to the log (fsync'd) before the 200, the check runs
afterwards with retries (`retry_delays`), and the log marks it done only when it is settled,
so a listener killed between the two finishes the check at its next start: no event is lost,
and none is processed twice. When the task still cannot be read after every retry (or the key
is refused), it is watched anyway, so an approval is never missed: the app then shows its
real state. A 404 (after two more tries, in case the task is not readable yet) means the key
cannot see it: not watched, logged.

A `task_id` is accepted as an integer or a string of digits (1 to 2^63-1). A non-numeric one
("task_def456") cannot be read through the integer REST endpoint: the event is acknowledged
and the log says why it was not watched.

The event log (`<data dir>/webhooks/<profile>.events.jsonl`, 0600) is JSON Lines, one line per
event received (`{"id", "at", "event", "task", "todo"}`) and one per event settled (`{"done",
"at", "result"}`); ids are kept for `retention` (the replay window plus a margin) and at most
`MAX_SEEN` of them, and the file is compacted when it has grown to twice what is live. Damaged
lines are counted, the file is copied aside before compaction drops them, and the listener
prints the problem.

Starlette and uvicorn are imported only when a receiver is built, so importing this module
(e.g. to register the CLI arguments) stays cheap. Disk I/O: `EventLog` methods (the receiver
runs them in a thread), `build_receiver` (loads the log), `start_listener`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import json
import math
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lexi_tui.api.text import clean
from lexi_tui.core.storage import Problem, atomic_write, describe_error, ensure_folder, keep_aside

__all__ = [
    "APPROVAL_EVENTS", "CANCEL_EVENTS", "DEFAULT_REPLAY_WINDOW", "RETRY_HORIZON", "SIGNATURE_HEADER",
    "ChamelioTaskReader", "EventLog", "Listener", "PendingEvent", "TaskReader", "TaskState", "bind_socket",
    "build_receiver", "events_path", "parse_event_time", "sign", "start_listener", "uvicorn_server",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Chamelio-Signature"
APPROVAL_EVENTS = ("flows.tasks.created", "flows.tasks.step_change")
"""The events that can bring a task to an approval step: the task is read to find out."""
CANCEL_EVENTS = ("flows.tasks.canceled", "flows.tasks.cancelled")
"""Both spellings: the webhook pages say `canceled`, the REST status is `cancelled`."""
OTHER_EVENTS = ("flows.tasks.completed", "flows.tasks.commented")
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_PORT = 8788

RETRY_HORIZON = 60 + 5 * 60 + 30 * 60 + 2 * 3600 + 5 * 10
"""Seconds from an event's first delivery to its last retry (1 min, 5 min, 30 min, 2 h, plus
five 10 s time-outs): about 2 h 37 min."""
DEFAULT_REPLAY_WINDOW = 4 * 3600.0
"""Events older than this are refused. Longer than `RETRY_HORIZON`, with room for the time
between the event and its first delivery and for clock skew: a legitimate retry is never
refused for its age."""
MAX_FUTURE = 300.0
"""An event stamped this far ahead of our clock is still accepted (clock skew)."""
RETENTION_MARGIN = 3600.0
MAX_SEEN = 100_000
"""Event ids remembered at most (about 10 MB of log); beyond, the oldest settled ones go."""
READ_RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 60.0, 300.0, 900.0)
"""Waits between tries to read a task (about 21 minutes in all) before watching it anyway."""
NOT_FOUND_TRIES = 3
READ_CONCURRENCY = 4

TaskCallback = Callable[[int], "Awaitable[bool] | bool"]
"""`on_task(task_id)`: watch the task some other way; returns whether it was new."""


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
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
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


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


# -- the event log ---------------------------------------------------------------------------------


def events_path(profile: str) -> Path:
    """Where `profile`'s webhook event log lives by default."""
    from lexi_tui.core import watchlist
    from lexi_tui.core.config import data_dir

    watchlist.path_for(profile)  # ValueError for a name that cannot be a file name
    return data_dir() / "webhooks" / f"{profile}.events.jsonl"


@dataclass(frozen=True)
class PendingEvent:
    """An event received whose task is still to be checked."""

    event_id: str
    event: str
    task_id: int
    received_at: float


class EventLog:
    """The event ids received (de-duplication across restarts) and the events still to check.

    Args:
        path: the JSON Lines file; None keeps everything in memory (tests, or a receiver that
            accepts losing its ids on restart).
        retention: seconds an id is remembered after it was received (at least the replay
            window, so an event young enough to be accepted is always recognised).
        max_entries: ids remembered at most.
        compact_after: the file is rewritten once it has this many lines more than twice what is live.
        clock: the wall clock.

    Thread-safe; every method that changes it does disk I/O (append + fsync).
    """

    def __init__(self, path: Path | None, *, retention: float = DEFAULT_REPLAY_WINDOW + MAX_FUTURE + RETENTION_MARGIN,
                 max_entries: int = MAX_SEEN, compact_after: int = 256, clock: Callable[[], float] = time.time) -> None:
        if not retention > 0:
            raise ValueError("retention must be > 0")
        self.path = path
        self.retention = retention
        self.max_entries = max_entries
        self.compact_after = compact_after
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._pending: dict[str, PendingEvent] = {}
        self._lines = 0

    def load(self) -> Problem | None:
        """Read the log (disk I/O); a Problem when it was damaged (it names the copy kept aside)."""
        if self.path is None:
            return None
        with self._lock:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                return self._aside(f"could not be read ({describe_error(exc)})", copy=False)
            bad = self._replay(raw)
            problem = None
            if bad:
                problem = self._aside(f"had {bad} damaged line(s); the ids and events that could be read are kept",
                                      copy=True)
            self._prune(self._clock())
            if len(self._seen) > self.max_entries:
                self._evict()
            if problem is None or problem.kept_aside is not None:  # Never drop lines not kept elsewhere.
                with contextlib.suppress(OSError):
                    self._compact(force=problem is not None)
            return problem

    def _aside(self, what: str, *, copy: bool) -> Problem:
        assert self.path is not None
        try:
            aside = keep_aside(self.path, copy=copy)
        except OSError as exc:
            return Problem(self.path, f"The webhook event log {self.path} {what}, and could not be kept aside "
                           f"({describe_error(exc)}).")
        return Problem(self.path, f"The webhook event log {self.path} {what}; it was kept as {aside}.",
                       kept_aside=aside)

    def _replay(self, raw: bytes) -> int:
        bad = 0
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            self._lines += 1
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):
                bad += 1
                continue
            if not isinstance(item, dict):
                bad += 1
                continue
            at = item.get("at")
            if isinstance(at, bool) or not isinstance(at, (int, float)):
                bad += 1
                continue
            if isinstance(item.get("done"), str):
                self._pending.pop(item["done"], None)
                continue
            event_id, event, task, todo = item.get("id"), item.get("event"), item.get("task"), item.get("todo")
            if not isinstance(event_id, str) or not isinstance(event, str) or not isinstance(todo, bool):
                bad += 1
                continue
            self._seen[event_id] = float(at)
            self._seen.move_to_end(event_id)
            if todo:
                if isinstance(task, bool) or not isinstance(task, int) or task <= 0:
                    bad += 1
                    continue
                self._pending[event_id] = PendingEvent(event_id, event, task, float(at))
        return bad

    def seen(self, event_id: str) -> bool:
        """Whether `event_id` was received (and is still remembered)."""
        with self._lock:
            self._prune(self._clock())
            return event_id in self._seen

    def accept(self, event_id: str, *, event: str, task_id: int | None, result: str | None = None) -> bool:
        """Record a newly received event, durably, before it is acknowledged. Disk I/O.

        Args:
            event_id: the envelope's id.
            event: its event name.
            task_id: the task to check, or None when there is nothing to do for it.
            result: for an event with nothing to do, why (recorded with it).

        Returns False, recording nothing, when the id was already received. Raises OSError
        when the log cannot be written; the event is then not remembered (answer 503).
        """
        now = self._clock()
        with self._lock:
            self._prune(now)
            if event_id in self._seen:
                return False
            line: dict[str, Any] = {"id": event_id, "at": now, "event": event, "task": task_id,
                                    "todo": task_id is not None}
            if result is not None:
                line["result"] = result
            self._append(line)
            self._seen[event_id] = now
            if task_id is not None:
                self._pending[event_id] = PendingEvent(event_id, event, task_id, now)
            if len(self._seen) > self.max_entries:
                self._evict()
            if self._lines > 2 * len(self._seen) + self.compact_after:
                with contextlib.suppress(OSError):
                    self._compact()
            return True

    def done(self, event_id: str, result: str) -> None:
        """Record that the event's check is settled (`result` says how). Disk I/O; raises
        OSError when it cannot be written (the event then stays pending: checking it again at
        the next start is harmless)."""
        with self._lock:
            if event_id not in self._pending:
                return
            self._append({"done": event_id, "at": self._clock(), "result": result})
            del self._pending[event_id]

    def pending(self) -> list[PendingEvent]:
        """Events received whose check is not settled, oldest first."""
        with self._lock:
            return sorted(self._pending.values(), key=lambda p: p.received_at)

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def _append(self, item: dict[str, Any]) -> None:
        if self.path is None:
            return
        data = (json.dumps(item, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")
        ensure_folder(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._lines += 1

    def _prune(self, now: float) -> None:
        horizon = now - self.retention
        while self._seen:
            event_id, at = next(iter(self._seen.items()))
            if at >= horizon:
                break
            del self._seen[event_id]
            # A pending event is kept in `_pending` (and rewritten by compaction) whatever its age.

    def _evict(self) -> None:
        for event_id in list(self._seen):
            if len(self._seen) <= self.max_entries:
                break
            if event_id not in self._pending:
                del self._seen[event_id]

    def _compact(self, *, force: bool = False) -> None:
        """Rewrite the file with what is live (atomically), when that makes it shorter (or
        `force`: damaged lines were kept aside); raises OSError."""
        live = len(self._seen) + sum(1 for event_id in self._pending if event_id not in self._seen)
        if self.path is None or not self._lines or (self._lines <= live and not force):
            return
        lines = []
        for event_id, at in self._seen.items():
            pending = self._pending.get(event_id)
            lines.append({"id": event_id, "at": at, "event": pending.event if pending else "",
                          "task": pending.task_id if pending else None, "todo": pending is not None})
        for pending in self._pending.values():
            if pending.event_id not in self._seen:
                lines.append({"id": pending.event_id, "at": pending.received_at, "event": pending.event,
                              "task": pending.task_id, "todo": True})
        text = "".join(json.dumps(item, ensure_ascii=True, separators=(",", ":")) + "\n" for item in lines)
        atomic_write(self.path, text.encode("ascii"))
        self._lines = len(lines)


# -- reading the task ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskState:
    """What the receiver needs to know of a task: where it is now."""

    task_id: int
    status: str
    step_type: str
    step_name: str = ""

    @property
    def awaiting_approval(self) -> bool:
        """At an approval step and still open (as the app's pending view)."""
        return self.step_type.lower() == "approval" and self.status.lower() in ("pending", "in_progress")


class TaskReader(Protocol):
    """Reads one task (`GET /tasks/{id}`); raises the API client's errors (`LexiError`...)."""

    async def __call__(self, task_id: int) -> TaskState: ...


class ChamelioTaskReader:
    """A TaskReader over `lexi_tui.api.chamelio.ChamelioClient`, created in the receiver's loop
    on first use.

    Args:
        api_key: the profile's Chamelio key (CHAMELIO_API_KEY, else its keyring entry).
        base_url: the profile's Chamelio base URL.
        ca_bundle: a CA file to trust (the profile's `ca_bundle`).
        timeout: seconds per request; the check runs after the answer, so it is not bound by
            Chamelio's 10 s.
    """

    def __init__(self, api_key: str, base_url: str, *, ca_bundle: str | None = None, timeout: float = 15.0) -> None:
        self._key = api_key
        self.base_url = base_url
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._client: Any = None

    def __repr__(self) -> str:
        return f"ChamelioTaskReader(base_url={self.base_url!r})"  # Never the key.

    async def __call__(self, task_id: int) -> TaskState:
        if self._client is None:
            from lexi_tui.api.chamelio import ChamelioClient

            self._client = ChamelioClient(self._key, self.base_url, timeout=self._timeout, ca_bundle=self._ca_bundle)
        task = await self._client.get_task(task_id)
        return TaskState(task_id, str(task.status), task.current_step_type, task.current_step_name)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


# -- the receiver ----------------------------------------------------------------------------------


class _Receiver:
    """The state behind one receiver app: the log, the background checks, the messages."""

    def __init__(self, secret: bytes, *, profile: str | None, on_task: TaskCallback | None, reader: TaskReader,
                 events: EventLog, window: float, max_future: float, say: Callable[[str], None],
                 retry_delays: Sequence[float], clock: Callable[[], float]) -> None:
        self.secret = secret
        self.profile = profile
        self.on_task = on_task
        self.reader = reader
        self.events = events
        self.window = window
        self.max_future = max_future
        self.say = say
        self.retry_delays = tuple(retry_delays)
        self.clock = clock
        self.tasks: set[asyncio.Task[None]] = set()
        self._per_task: dict[int, tuple[asyncio.Lock, int]] = {}
        self._reads: asyncio.Semaphore | None = None

    # -- answering -------------------------------------------------------------------------------

    async def deliver(self, body: bytes, header: str | None) -> tuple[int, dict[str, Any]]:
        """The status and JSON body to answer a delivery with."""
        from starlette.concurrency import run_in_threadpool

        if not header:
            self.say("refused a delivery without a signature (401)")
            return 401, {"detail": "Missing signature"}
        if not verify_signature(body, header, self.secret):
            self.say("refused a delivery with a wrong signature (401)")
            return 401, {"detail": "Invalid signature"}
        try:
            envelope = json.loads(body)
        except (ValueError, RecursionError):
            return 400, {"detail": "Body is not JSON"}
        if not isinstance(envelope, dict):
            return 400, {"detail": "Body is not a webhook envelope"}
        event, event_id, data = envelope.get("event"), envelope.get("event_id"), envelope.get("data")
        if not isinstance(event, str) or not event:
            return 400, {"detail": "Envelope has no event"}
        if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
            return 400, {"detail": "Envelope has no event_id"}
        if not isinstance(data, dict):
            return 400, {"detail": "Envelope has no data object"}
        shown = clean(f"{event} {event_id}", multiline=False)[:160]
        if self.events.seen(event_id):  # In memory: no I/O.
            self.say(f"{shown}: already received; acknowledged, nothing changed")
            return 200, {"ok": True, "action": "duplicate"}
        sent = parse_event_time(envelope.get("timestamp"))
        if sent is None:
            self.say(f"refused {shown}: its timestamp cannot be read (400)")
            return 400, {"detail": "Event timestamp is not valid"}
        now = self.clock()
        if sent < now - self.window:
            self.say(f"refused {shown}: it happened at {_iso(sent)}, longer ago than the replay window "
                     f"({_duration(self.window)}) (400)")
            return 400, {"detail": "Event timestamp is too old"}
        if sent > now + self.max_future:
            self.say(f"refused {shown}: its timestamp {_iso(sent)} is in the future (400)")
            return 400, {"detail": "Event timestamp is in the future"}
        task_id, result, note = self._classify(event, data)
        try:
            fresh = await run_in_threadpool(lambda: self.events.accept(event_id, event=event, task_id=task_id,
                                                                        result=result))
        except OSError as exc:
            self.say(f"could not record {shown} ({describe_error(exc)}): answered 503, Chamelio will retry it")
            return 503, {"detail": "Could not record the event; retry later"}
        if not fresh:
            self.say(f"{shown}: already received; acknowledged, nothing changed")
            return 200, {"ok": True, "action": "duplicate"}
        if task_id is None:
            self.say(f"{shown}: {note}")
            return 200, {"ok": True, "action": result}
        self.say(f"{shown}: task {task_id}; checking whether it waits at an approval step")
        self.submit(PendingEvent(event_id, event, task_id, self.clock()))
        return 200, {"ok": True, "action": "queued", "task_id": task_id}

    def _classify(self, event: str, data: dict[str, Any]) -> tuple[int | None, str, str]:
        """(task id to check or None, result code, a note for the log)."""
        from lexi_tui.core.watchlist import parse_task_id

        raw = data.get("task_id")
        if raw is None and isinstance(data.get("task"), dict):
            raw = data["task"].get("task_id")
        named = clean(str(raw), multiline=False)[:40] if raw is not None else "?"
        if event in APPROVAL_EVENTS:
            if "current_step" in data and data["current_step"] is None:
                return None, "no_step", f"task {named} has no current step (its workflow ended): nothing to watch"
            try:
                return parse_task_id(raw), "queued", ""
            except ValueError as exc:
                if isinstance(raw, str) and not raw.strip().isdigit():
                    why = (f"task id {named!r} is not a number, and Chamelio's REST API reads tasks by "
                           "integer id (GET /tasks/{id}), so it cannot be checked")
                else:
                    why = f"task id {named}: {exc}"
                return None, "unreadable_id", f"not watched: {why}"
        if event in CANCEL_EVENTS:
            return None, "ignored", f"task {named} was cancelled (acknowledged)"
        if event in OTHER_EVENTS:
            return None, "ignored", f"task {named}: {event.rsplit('.', 1)[-1]} (acknowledged)"
        return None, "ignored", "an event this version does not know (acknowledged, ignored)"

    # -- checking in the background ----------------------------------------------------------------

    def submit(self, item: PendingEvent) -> None:
        """Check `item` in the background (on the running loop)."""
        task = asyncio.get_running_loop().create_task(self._process(item))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def start(self) -> None:
        self._reads = asyncio.Semaphore(READ_CONCURRENCY)
        left = self.events.pending()
        if left:
            self.say(f"{len(left)} event(s) received earlier are still to be checked: checking them now")
        for item in left:
            self.submit(item)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(BaseException):
                await task
        close = getattr(self.reader, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()

    async def _process(self, item: PendingEvent) -> None:
        lock, users = self._per_task.get(item.task_id, (asyncio.Lock(), 0))
        self._per_task[item.task_id] = (lock, users + 1)
        try:
            async with lock:  # One check per task at a time, in the order received.
                result = await self._check(item)
        except asyncio.CancelledError:
            raise  # Stopping: it stays pending and is checked at the next start.
        except Exception as exc:  # A bug must not lose the event: it stays pending.
            self.say(f"checking task {item.task_id} failed ({type(exc).__name__}: "
                     f"{clean(str(exc), multiline=False)[:160]}); it is checked again at the next start")
            return
        finally:
            lock, users = self._per_task[item.task_id]
            if users <= 1:
                del self._per_task[item.task_id]
            else:
                self._per_task[item.task_id] = (lock, users - 1)
        if result is None:
            return
        try:
            await asyncio.to_thread(self.events.done, item.event_id, result)
        except OSError as exc:
            self.say(f"could not record that event {item.event_id} is settled ({describe_error(exc)}); "
                     "it is checked again at the next start")

    async def _watched(self, task_id: int) -> bool:
        if self.on_task is not None or self.profile is None:
            return False
        from lexi_tui.core import watchlist

        return task_id in await asyncio.to_thread(watchlist.load, self.profile)

    async def _check(self, item: PendingEvent) -> str | None:
        from lexi_tui.api import errors

        if await self._watched(item.task_id):
            self.say(f"task {item.task_id} is already in the watch list")
            return "already_watched"
        assert self._reads is not None
        delays = (0.0, *self.retry_delays)
        last = "no answer"
        not_found = 0
        for attempt, delay in enumerate(delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                async with self._reads:
                    state = await self.reader(item.task_id)
            except errors.NotFoundError:
                not_found += 1
                last = "Task not found"
                if not_found >= NOT_FOUND_TRIES or attempt == len(delays) - 1:
                    self.say(f"task {item.task_id} was not found with this profile's key: not watched")
                    return "not_found"
                continue
            except (errors.InvalidKeyError, errors.PermissionDeniedError) as exc:
                last = f"the key was refused: {clean(exc.message, multiline=False)[:120]}"
                break  # Retrying cannot help.
            except errors.RateLimitedError as exc:
                last = "rate limited"
                if exc.retry_after:
                    await asyncio.sleep(min(float(exc.retry_after), 600.0))
                continue
            except errors.LexiError as exc:
                last = clean(str(exc), multiline=False)[:160]
                continue
            except (OSError, ValueError) as exc:
                last = f"{type(exc).__name__}: {clean(str(exc), multiline=False)[:120]}"
                continue
            if state.awaiting_approval:
                return await self._watch(item.task_id, "watched", f"it waits at {state.step_name or 'an approval step'!r}")
            step = state.step_type or "no step"
            self.say(f"task {item.task_id} is at {state.step_name or step!r} ({step}, {state.status}), not at an "
                     "approval step: not watched")
            return "not_at_approval"
        self.say(f"could not read task {item.task_id} ({last}); watching it anyway so that an approval is not "
                 "missed (the app shows its real state)")
        return await self._watch(item.task_id, "watched_unverified", "unverified")

    async def _watch(self, task_id: int, result: str, why: str) -> str | None:
        last = ""
        for delay in (0.0, *self.retry_delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                added = await self._add(task_id)
            except ValueError as exc:
                self.say(f"task {task_id} not watched: {exc}")
                return "refused_id"
            except Exception as exc:  # WatchListError, OSError: retry, then leave it pending.
                last = clean(str(exc), multiline=False)[:200]
                continue
            where = "to the watch list" if self.profile is not None and self.on_task is None else ""
            self.say(f"task {task_id} ({why}): {'added ' + where if added else 'already watched'}".rstrip())
            return result if added else "already_watched"
        self.say(f"could not watch task {task_id} ({last}); it is tried again at the next start")
        return None

    async def _add(self, task_id: int) -> bool:
        if self.on_task is not None:
            answer = self.on_task(task_id)
            return bool(await answer) if isinstance(answer, Awaitable) else bool(answer)
        from lexi_tui.core import watchlist

        assert self.profile is not None
        return await asyncio.to_thread(watchlist.add, self.profile, task_id)


def build_receiver(secret: bytes, *, reader: TaskReader, profile: str | None = None,
                   on_task: TaskCallback | None = None, events: EventLog | None = None,
                   window: float = DEFAULT_REPLAY_WINDOW, max_future: float = MAX_FUTURE,
                   log: Callable[[str], None] | None = None, retry_delays: Sequence[float] = READ_RETRY_DELAYS,
                   clock: Callable[[], float] = time.time) -> Any:
    """The receiver as an ASGI app (POST to any path; GET /healthz answers 200). Disk I/O: loads
    the event log.

    Args:
        secret: the endpoint's signing secret.
        reader: reads a task to learn its current step (`ChamelioTaskReader`).
        profile: whose watch list gets the tasks (and names the default event log).
        on_task: instead of the watch list, `on_task(task_id)` for each task found at an approval
            step (may be a coroutine function; returns whether it was new).
        events: the event log (default: the profile's file; in memory without a profile).
        window: events older than this many seconds are refused.
        max_future: how far ahead of this clock an event may be stamped.
        log: receives one line per decision (the command prints them).
        retry_delays: waits between tries to read a task, then to add it.
        clock: the wall clock.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    if not secret:
        raise ValueError("a webhook secret is required")
    if on_task is None and profile is None:
        raise ValueError("give a profile (whose watch list to add to) or an on_task callback")
    if not (window > 0 and math.isfinite(window)):
        raise ValueError("window must be > 0")
    if events is None:
        events = EventLog(events_path(profile) if profile is not None else None,
                          retention=window + max_future + RETENTION_MARGIN, clock=clock)
    elif events.retention < window:
        raise ValueError("the event log must remember ids at least as long as the replay window")
    if profile is not None:
        from lexi_tui.core import watchlist

        watchlist.path_for(profile)  # ValueError now for a name that cannot be a file
    say = log or (lambda line: None)
    problem = events.load()
    if problem is not None:
        say(problem.message)
    receiver = _Receiver(secret, profile=profile, on_task=on_task, reader=reader, events=events, window=window,
                         max_future=max_future, say=say, retry_delays=retry_delays, clock=clock)

    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return JSONResponse({"detail": "Payload too large"}, status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"detail": "Payload too large"}, status_code=413)
        status, answer = await receiver.deliver(body, request.headers.get(SIGNATURE_HEADER))
        return JSONResponse(answer, status_code=status)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "checking": len(receiver.tasks)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await receiver.start()
        try:
            yield
        finally:
            await receiver.stop()

    app = Starlette(routes=[Route("/healthz", health, methods=["GET"]),
                            Route("/", receive, methods=["POST"]),
                            Route("/{path:path}", receive, methods=["POST"])], lifespan=lifespan)
    app.state.receiver = receiver
    return app


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

    config = uvicorn.Config(app, http="h11", loop="asyncio", lifespan="on", log_level="warning",
                            access_log=False, log_config=None, server_header=False)
    return uvicorn.Server(config)


class Listener:
    """A receiver serving in a background thread (tests, or the app receiving webhooks itself)."""

    def __init__(self, server: Any, sock: socket.socket, thread: threading.Thread, host: str, app: Any,
                 lock: Any = None) -> None:
        self._server = server
        self._sock = sock
        self._thread = thread
        self._lock = lock
        self.app = app
        self.host = host
        self.port: int = sock.getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def checking(self) -> int:
        """Background checks still running."""
        return len(self.app.state.receiver.tasks)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10.0)
        self._sock.close()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_listener(secret: bytes, profile: str | None = None, *, reader: TaskReader, host: str = "127.0.0.1",
                   port: int = 0, on_task: TaskCallback | None = None, events: EventLog | None = None,
                   window: float = DEFAULT_REPLAY_WINDOW, log: Callable[[str], None] | None = None,
                   retry_delays: Sequence[float] = READ_RETRY_DELAYS, take_lock: bool = True) -> Listener:
    """Serve a receiver in a daemon thread; returns once it accepts connections. Disk I/O.

    With a profile and `take_lock`, holds the profile's "webhook-listen" instance lock until
    `stop()` (ProfileInUse when another listener has it). Other arguments: `build_receiver`.
    """
    from lexi_tui.core.instance_lock import InstanceLock

    lock = None
    if profile is not None and take_lock:
        lock = InstanceLock.acquire(profile, role="webhook-listen", program="lexi-tui webhook-listen")
    try:
        app = build_receiver(secret, reader=reader, profile=profile, on_task=on_task, events=events, window=window,
                             log=log, retry_delays=retry_delays)
        sock = bind_socket(host, port)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
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
            if lock is not None:
                lock.release()
            raise RuntimeError("the webhook listener did not start")
        time.sleep(0.005)
    return Listener(server, sock, thread, host, app, lock)
