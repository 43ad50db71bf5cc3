"""Approve or dismiss many tasks in one go, inside the rate limit, with an audit trail.

A Starter key allows 10 calls a minute. Firing 40 approvals at once would collect 30
429s, and a naive retry loop would then fight the app's own refresh for the budget.
So a run is sequential and paces itself: before each call, when the last response said
no calls remain, it waits for the window to reset instead of sending a request it knows
will be refused. A 429 that still comes (another client on the same key) is waited out
once, as the server's `Retry-After` says, and that task is retried once.

Every task sent gets a line in the local history (`lexi_tui.core.history`), whatever the
outcome, so "did my bulk dismiss go through?" has an answer after the terminal is gone.
A run stops cleanly when `cancel` is set: the request in flight completes, and the tasks
not yet sent are reported as not sent (nothing was done to them). It also stops by
itself when continuing is pointless: the key was refused, or the server cannot be
reached; the rest are then not sent either.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lexi_tui.api import errors
from lexi_tui.api.models import Task
from lexi_tui.core import history

if TYPE_CHECKING:
    from lexi_tui.api.lexi import LexiClient

OK, FAILED, ALREADY_HANDLED, NOT_SENT = "ok", "failed", "already_handled", "not_sent"

RESET_MARGIN = 0.25
"""Seconds added to a reset time before sending again, for clock skew with the server."""
DEFAULT_RETRY_WAIT = 2.0
"""Seconds to wait after a 429 that names no retry time."""

ProgressCallback = Callable[[int, int, Task, str], "object | Awaitable[object]"]
WaitCallback = Callable[[float], "object | Awaitable[object]"]
ResultCallback = Callable[["TaskResult"], "object | Awaitable[object]"]

# Errors after which every further call would fail the same way: stop instead.
_FATAL = (
    errors.InvalidKeyError,
    errors.PermissionDeniedError,
    errors.InsufficientCreditsError,
    errors.ConnectError,
    errors.TLSError,
)


@dataclass(frozen=True)
class TaskResult:
    """What happened to one task of a run."""

    task: Task
    outcome: str
    """"ok", "failed", "already_handled" or "not_sent"."""
    detail: str | None = None
    """The error message, for anything but "ok"."""
    request_id: str | None = None


@dataclass
class BulkSummary:
    """The outcome of a bulk run, by category, plus everything in order in `results`."""

    action: str
    succeeded: list[Task] = field(default_factory=list)
    failed: list[tuple[Task, str]] = field(default_factory=list)
    """Tasks the server did not apply, with the error message."""
    already_handled: list[Task] = field(default_factory=list)
    """Tasks that were no longer pending (approved or dismissed elsewhere) or not found."""
    not_sent: list[Task] = field(default_factory=list)
    """Tasks never sent, because the run was cancelled or stopped early."""
    results: list[TaskResult] = field(default_factory=list)
    stopped_by: errors.LexiError | None = None
    """The error that made the run stop early (refused key, unreachable server)."""
    cancelled: bool = False
    waited: float = 0.0
    """Seconds spent waiting for the rate limit."""
    history_error: str | None = None
    """Why the history could not be written, if it could not (the run went on)."""

    @property
    def total(self) -> int:
        return len(self.results)

    def describe(self, *, itemise: bool = True) -> str:
        """One paragraph for a person: what was done, what was not, and why.

        Without `itemise` the failures are only counted, for a caller that lists each
        task's outcome next to it (the app's summary)."""
        verb = {"approve": "Approved", "dismiss": "Dismissed"}.get(self.action, self.action.capitalize())
        sentences = [f"{verb} {len(self.succeeded)} of {_count(self.total, 'task')}."]
        if self.already_handled:
            n = len(self.already_handled)
            sentences.append(
                f"{n} {'was' if n == 1 else 'were'} already handled (approved or dismissed elsewhere, or not found)."
            )
        if self.failed and not itemise:
            sentences.append(f"{len(self.failed)} failed.")
        elif self.failed:
            shown = "; ".join(f"{task.id}: {message}" for task, message in self.failed[:3])
            more = f"; and {len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            sentences.append(f"{len(self.failed)} failed ({shown}{more}).")
        if self.not_sent:
            n = len(self.not_sent)
            why = "the run was cancelled" if self.cancelled else f"the run stopped: {self.stopped_by}"
            sentences.append(f"{n} {'was' if n == 1 else 'were'} not sent because {why}.")
        if self.waited >= 1:
            sentences.append(f"Waited {self.waited:.0f} s for the rate limit.")
        if self.history_error:
            sentences.append(f"The history could not be written: {self.history_error}.")
        return " ".join(sentences)


async def run_bulk(
    client: LexiClient,
    tasks: Sequence[Task],
    action: str,
    *,
    reason: str | None = None,
    comment: str | None = None,
    source: str = "bulk",
    profile: str = "default",
    on_progress: ProgressCallback | None = None,
    on_result: ResultCallback | None = None,
    on_wait: WaitCallback | None = None,
    cancel: asyncio.Event | None = None,
    history_path: Path | None = None,
) -> BulkSummary:
    """Send `action` ("approve" or "dismiss") for each task in turn and classify the outcomes.

    `client` is a `LexiClient`, or anything with its `approve`, `dismiss` and `rate_limit`
    (such as a `lexi_tui.providers` provider).

    `reason` is sent with dismissals; `comment` is only recorded in the history. A task id
    given twice is sent once. `on_progress(done, total, task, outcome)` is called after
    each task sent, `on_result(TaskResult)` likewise with the error detail and request id
    (for a per-task log), `on_wait(seconds)` before waiting for the rate limit; any of them
    may be a coroutine function. Never raises for API errors: they are classified in the
    summary.
    """
    if action not in ("approve", "dismiss"):
        raise ValueError(f"action must be 'approve' or 'dismiss', not {action!r}")
    unique: list[Task] = []
    seen: set[str] = set()
    for task in tasks:
        if task.id not in seen:
            seen.add(task.id)
            unique.append(task)

    summary = BulkSummary(action=action)
    cancel = cancel if cancel is not None else asyncio.Event()
    waited_for: object = None  # The RateLimit last waited out, so a stale one is not waited twice.
    done = 0
    for position, task in enumerate(unique):
        rate = client.rate_limit
        if not cancel.is_set() and rate is not None and rate is not waited_for and rate.remaining is not None:
            wait = rate.seconds_until_reset() if rate.remaining <= 0 else None
            if wait:
                waited_for = rate
                summary.waited += await _wait(wait + RESET_MARGIN, cancel, on_wait)
        if cancel.is_set():
            summary.cancelled = True
            _not_sent(summary, unique[position:])
            break

        result = await _send_one(client, task, action, reason, cancel, on_wait, summary)
        if result is None:  # Cancelled while waiting out a 429: this task was not applied.
            summary.cancelled = True
            _not_sent(summary, unique[position:])
            break
        _record(summary, result)
        _append_history(summary, result, action, reason, comment, source, profile, history_path)
        done += 1
        if on_result is not None:
            await _call(on_result, result)
        if on_progress is not None:
            await _call(on_progress, done, len(unique), task, result.outcome)
        if summary.stopped_by is not None:
            _not_sent(summary, unique[position + 1 :])
            break
    return summary


async def _send_one(
    client: LexiClient,
    task: Task,
    action: str,
    reason: str | None,
    cancel: asyncio.Event,
    on_wait: WaitCallback | None,
    summary: BulkSummary,
) -> TaskResult | None:
    """One task, with one retry after a 429; None when cancelled during that wait."""
    for attempt in (1, 2):
        try:
            if action == "approve":
                await client.approve(task.id)
            else:
                await client.dismiss(task.id, reason)
        except errors.RateLimitedError as exc:
            if attempt == 2:
                return TaskResult(task, FAILED, f"still rate limited after waiting: {exc}", exc.request_id)
            wait = exc.retry_after
            if wait is None and exc.rate_limit is not None:
                wait = exc.rate_limit.seconds_until_reset()
            summary.waited += await _wait(DEFAULT_RETRY_WAIT if wait is None else wait, cancel, on_wait)
            if cancel.is_set():
                return None
            continue
        except errors.LexiError as exc:
            return _classify(task, exc, summary)
        # The client sets last_request_id synchronously before returning, with no await
        # in between, so this is the id of the request just made.
        return TaskResult(task, OK, None, _last_request_id(client))
    raise AssertionError("unreachable")  # pragma: no cover


def _last_request_id(client: object) -> str | None:
    """The request id of the call just made, from a LexiClient or a provider wrapping one."""
    found = getattr(client, "last_request_id", None)
    if found is None:
        found = getattr(getattr(client, "client", None), "last_request_id", None)
    return found if isinstance(found, str) else None


def _classify(task: Task, exc: errors.LexiError, summary: BulkSummary) -> TaskResult:
    if isinstance(exc, errors.NotFoundError):
        return TaskResult(task, ALREADY_HANDLED, f"not found: {exc}", exc.request_id)
    if exc.status == 409:  # Chamelio's "conflict": the task moved on without us.
        return TaskResult(task, ALREADY_HANDLED, exc.message, exc.request_id)
    if isinstance(exc, errors.ValidationError) and any(
        word in exc.message.lower() for word in ("already", "pending")
    ):
        return TaskResult(task, ALREADY_HANDLED, exc.message, exc.request_id)
    if isinstance(exc, _FATAL):
        summary.stopped_by = exc
    message = str(exc)
    if isinstance(exc, errors.TransportError) and exc.sent:
        message += " (it may have been applied: check the task's status before sending it again)"
    return TaskResult(task, FAILED, message, exc.request_id)


def _record(summary: BulkSummary, result: TaskResult) -> None:
    summary.results.append(result)
    if result.outcome == OK:
        summary.succeeded.append(result.task)
    elif result.outcome == ALREADY_HANDLED:
        summary.already_handled.append(result.task)
    else:
        summary.failed.append((result.task, result.detail or "failed"))


def _not_sent(summary: BulkSummary, tasks: Sequence[Task]) -> None:
    for task in tasks:
        summary.results.append(TaskResult(task, NOT_SENT))
        summary.not_sent.append(task)


def _append_history(
    summary: BulkSummary,
    result: TaskResult,
    action: str,
    reason: str | None,
    comment: str | None,
    source: str,
    profile: str,
    path: Path | None,
) -> None:
    entry = history.HistoryEntry(
        time=history.now_iso(),
        profile=profile,
        task_id=result.task.id,
        task_type=str(result.task.type),
        description=result.task.description,
        action=action,
        reason=reason if action == "dismiss" else None,
        comment=comment,
        outcome=result.outcome,
        detail=result.detail,
        request_id=result.request_id,
        source=source,
    )
    try:
        history.append(entry, path)
    except OSError as exc:
        # The actions were sent; failing the run because the log is unwritable would
        # misreport them. Say so once in the summary instead.
        if summary.history_error is None:
            summary.history_error = f"{exc.strerror or exc} ({exc.filename or path or 'history file'})"


async def _wait(seconds: float, cancel: asyncio.Event, on_wait: WaitCallback | None) -> float:
    """Sleep up to `seconds`, waking early if `cancel` is set; returns the time slept."""
    if seconds <= 0:
        return 0.0
    if on_wait is not None:
        await _call(on_wait, seconds)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.wait_for(cancel.wait(), timeout=seconds)
    except TimeoutError:
        pass
    return loop.time() - started


async def _call(callback: Callable[..., object], *args: object) -> None:
    outcome = callback(*args)
    if inspect.isawaitable(outcome):
        await outcome


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
