"""Approve, dismiss or cancel many tasks in one go, inside both rate limits, with an audit trail.

A run is sequential: `Sender` sends one task at a time and is shared by `run_bulk` (the bulk
dialog, `lexi-tui approve/dismiss`) and the rule runner (`lexi_tui.core.rule_runner`). For each
task it:

1. stops before sending when the run was cancelled or must stop (below);
2. paces: when the last answer said no calls remain, it waits for the reset if the reset is
   near (`Pacing.short_reset`, about two minutes: the per-minute window, or the day's last
   minute), and otherwise stops: the day's quota is spent;
3. checks that the history can be written (`audit.preflight`): an action that cannot be
   recorded is not sent (issue 13), and the run stops;
4. sends through `actions.perform` (classified by `outcomes.classify`; a lost answer is settled
   by reading the task back, never sent again blindly);
5. after a 429: LeadLex's headers describe the day by the docs' example, but may describe the
   minute, so a 429 while calls remain means "this minute": wait `Retry-After` when the server
   sent one, else `Pacing.minute_wait` (about a minute), never until midnight, then send that
   task once more. A 429 with nothing left and a far reset means the day is over: the run
   stops there, the rest "not sent", with the reset time in the summary. A second 429 for the
   same task stops the run too (another client is spending the key, or the day is over and
   the headers describe the minute);
6. writes the audit line (`audit.record`, in a thread).

A run also stops by itself when continuing is pointless or unsafe: the key was refused (401,
403), no credits (402), the server cannot be reached, an answer was lost and could not be
settled, or an audit line could not be written after the server acted. The tasks not sent
are reported as such (nothing was done to them). Cancelling (`cancel` set) lets the request in
flight complete.

Threads: the history's disk I/O (preflight, append) runs in `asyncio.to_thread`; everything
else is on the caller's event loop and never blocks it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lexi_tui.api import errors
from lexi_tui.core import audit
from lexi_tui.core.actions import NOT_SENT, ActionTarget, TaskResult, past, perform, unique
from lexi_tui.core.outcomes import ACTIONS, LOST_HINT, NOT_FOUND_TEXT, Outcome

if TYPE_CHECKING:
    from lexi_tui.api.models import Task
    from lexi_tui.api.ratelimit import RateLimit

__all__ = [
    "OK", "FAILED", "ALREADY_HANDLED", "NOT_FOUND", "UNKNOWN", "NOT_SENT", "ACTIONS",
    "Pacing", "Stop", "Sender", "TaskResult", "BulkSummary", "run_bulk", "calls_needed",
]

OK, FAILED, ALREADY_HANDLED = Outcome.APPLIED, Outcome.FAILED, Outcome.ALREADY_HANDLED
NOT_FOUND, UNKNOWN = Outcome.NOT_FOUND, Outcome.UNKNOWN

ProgressCallback = Callable[[int, int, "Task", str], "object | Awaitable[object]"]
WaitCallback = Callable[[float], "object | Awaitable[object]"]
ResultCallback = Callable[[TaskResult], "object | Awaitable[object]"]

# Errors after which every further call would fail the same way: stop instead.
_FATAL = (
    errors.InvalidKeyError,
    errors.PermissionDeniedError,
    errors.InsufficientCreditsError,
    errors.ConnectError,
    errors.TLSError,
)


@dataclass(frozen=True)
class Pacing:
    """How a run spends the rate limit. The defaults are the policy; tests shorten them to
    match a service whose clock runs faster (`ServerOptions(time_scale=...)`)."""

    minute_wait: float = 60.0
    """Seconds to wait after a 429 that names no `Retry-After` while calls remain."""
    short_reset: float = 120.0
    """A reset this near (seconds) is waited for; a later one means the day is spent."""
    margin: float = 0.25
    """Seconds added to a reset time before sending again, for clock skew with the server."""


@dataclass(frozen=True)
class Stop:
    """Why a run stopped before sending everything."""

    reason: str
    """One clause a person reads after "the run stopped: "."""
    error: errors.LexiError | None = None
    resets_at: float | None = None
    """Unix time the quota resets, when the run stopped because it is spent."""


def calls_needed(tasks: Sequence[Task]) -> int:
    """Calls a run over `tasks` makes when every answer arrives: one per distinct task.

    A lost answer adds the read-back that settles it (`Capabilities.status_read_calls` at
    most: 1 for Chamelio, up to 5 for Lexi); a 429 adds one more try of that task.
    """
    return len(unique(tasks))


class Sender:
    """Sends a run's actions one at a time: pacing, preflight, settling, the audit line.

    Args:
        target: the provider to send through.
        profile: recorded in each audit line.
        history_path: the history file (default: the app's).
        pacing: the rate-limit policy.
        cancel: set it to stop before the next send (or during a wait).
        on_wait: called with the seconds about to be waited for the rate limit.
    """

    def __init__(
        self,
        target: ActionTarget,
        *,
        profile: str = "default",
        history_path: Path | None = None,
        pacing: Pacing | None = None,
        cancel: asyncio.Event | None = None,
        on_wait: WaitCallback | None = None,
    ) -> None:
        self.target = target
        self.profile = profile
        self.history_path = history_path
        self.pacing = pacing or Pacing()
        self.cancel = cancel if cancel is not None else asyncio.Event()
        self.on_wait = on_wait
        self.stop: Stop | None = None
        """Set once the run must not send again."""
        self.waited = 0.0
        """Seconds spent waiting for the rate limit."""
        self.unrecorded: list[TaskResult] = []
        """Actions the server answered whose audit line could not be written."""
        self.history_error: str | None = None
        self._waited_for: RateLimit | None = None  # The state already waited out: not twice.

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    async def send(
        self,
        task: Task,
        action: str,
        *,
        reason: str | None = None,
        comment: str | None = None,
        source: str = "bulk",
    ) -> TaskResult:
        """Send one action (see the module's steps) and return what happened.

        Args:
            reason: sent with a dismissal (and recorded).
            comment: recorded in the audit line only; never sent.
            source: the audit line's source ("bulk", "cli", "rule:<name>").

        The outcome is NOT_SENT when nothing was applied because the run is cancelled or
        stopped, or the history cannot be written, or the rate limit refused the call and
        the run stops (`self.stop` says why).
        """
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if self.stop is not None or self.cancel.is_set():
            return TaskResult(task, NOT_SENT, action=action)
        if not await self._pace():
            return TaskResult(task, NOT_SENT, self.stop.reason if self.stop else None, action=action)
        try:
            await audit.apreflight(self.history_path)
        except OSError as problem:
            self.stop = Stop(audit.reason_text(problem))
            return TaskResult(task, NOT_SENT, self.stop.reason, action=action)

        for attempt in (1, 2):
            result = await perform(self.target, task, action, reason=reason)
            if not result.rate_limited:
                break
            assert isinstance(result.error, errors.RateLimitedError)
            wait = self._after_429(result.error)
            if isinstance(wait, Stop) or attempt == 2:
                self.stop = wait if isinstance(wait, Stop) else Stop(
                    f"the server still refused with 429 (rate limited) after waiting {self.waited:.0f} s; "
                    "another client may be using this key, or today's quota is spent",
                    result.error,
                )
                return TaskResult(task, NOT_SENT, f"refused by the rate limit: {self.stop.reason}",
                                  result.request_id, action, result.error)
            await self._wait(wait)
            if self.cancel.is_set():  # Refused, then cancelled while waiting: nothing was applied.
                return TaskResult(task, NOT_SENT, "refused by the rate limit, then cancelled", action=action)

        if isinstance(result.error, _FATAL):
            self.stop = Stop(result.detail or str(result.error), result.error)
        elif result.outcome == Outcome.UNKNOWN:
            self.stop = Stop(f"the answer for task {task.id} was lost and could not be read back; "
                             "nothing more is sent until a person has looked", result.error)
        await self._record(result, reason=reason if action == "dismiss" else None, comment=comment, source=source)
        return result

    # -- the rate limit --------------------------------------------------------------------

    async def _pace(self) -> bool:
        """Before a send: wait for a near reset when nothing remains; False when the run must
        stop (the quota is spent until a far reset) or was cancelled while waiting."""
        rate = self.target.rate_limit
        if rate is None or rate is self._waited_for or rate.remaining is None or rate.remaining > 0:
            return True
        wait = rate.seconds_until_reset()
        if wait is None:  # Nothing says when: send, and let a 429 say more.
            return True
        if wait > self.pacing.short_reset:
            self.stop = _spent(rate.reset_at)
            return False
        self._waited_for = rate
        await self._wait(wait + self.pacing.margin)
        return not self.cancel.is_set()

    def _after_429(self, error: errors.RateLimitedError) -> float | Stop:
        """Seconds to wait before sending the refused task again, or why the run stops.

        Works whether the headers describe the day (the docs' example) or the minute, and
        whether `retry_after` is only what the server sent (`Retry-After`) or, in an older
        client, falls back to the seconds until Reset."""
        rate = error.rate_limit or self.target.rate_limit
        retry, short = error.retry_after, self.pacing.short_reset
        remaining = rate.remaining if rate is not None else None
        reset_in = rate.seconds_until_reset() if rate is not None else None
        if remaining is not None and remaining > 0:
            # Calls remain in the window the headers describe: the per-minute limit refused.
            return retry if retry is not None and retry <= short else self.pacing.minute_wait
        if remaining is not None and reset_in is not None:  # Nothing remains.
            if reset_in <= short:
                return (retry if retry is not None and retry <= short else reset_in) + self.pacing.margin
            if retry is None or retry > short:
                return _spent(rate.reset_at if rate is not None else None, error)
            return retry
        if retry is None:
            return self.pacing.minute_wait
        if retry <= short:
            return retry
        return _spent(time.time() + retry, error)

    async def _wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking early if the run is cancelled."""
        if seconds <= 0:
            return
        if self.on_wait is not None:
            await _call(self.on_wait, seconds)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await asyncio.wait_for(self.cancel.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self.waited += loop.time() - started

    # -- the audit line --------------------------------------------------------------------

    async def _record(self, result: TaskResult, *, reason: str | None, comment: str | None, source: str) -> None:
        try:
            await asyncio.to_thread(
                audit.record, self.profile, result.task, result.action, result.outcome,
                reason=reason, comment=comment, error=result.error, detail=result.detail,
                request_id=result.request_id, source=source, path=self.history_path,
            )
        except OSError as problem:
            # The server acted; the line is lost. Say so, and send nothing more that could
            # not be recorded either.
            self.unrecorded.append(result)
            self.history_error = audit.reason_text(problem)
            if self.stop is None:
                self.stop = Stop(self.history_error)


def _spent(reset_at: float | None, error: errors.LexiError | None = None) -> Stop:
    """The stop of a run whose quota is spent until `reset_at`."""
    if reset_at is None:
        return Stop("no calls are left today (the daily quota is spent)", error)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(reset_at))
    return Stop(f"no calls are left until {when} (in {_duration(reset_at - time.time())}): "
                "the daily quota is spent", error, reset_at)


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass
class BulkSummary:
    """The outcome of a bulk run, by category, plus everything in order in `results`."""

    action: str
    succeeded: list[Task] = field(default_factory=list)
    failed: list[tuple[Task, str]] = field(default_factory=list)
    """Tasks the server did not apply, with the reason (they may be sent again)."""
    already_handled: list[Task] = field(default_factory=list)
    """Tasks no longer where the action needs them (approved, dismissed, decided elsewhere)."""
    not_found: list[Task] = field(default_factory=list)
    """Tasks the server does not know (404): they do not exist, or this key cannot see them."""
    unknown: list[tuple[Task, str]] = field(default_factory=list)
    """Tasks whose answer was lost and could not be read back: they may have been applied."""
    not_sent: list[Task] = field(default_factory=list)
    """Tasks nothing was done to, because the run was cancelled or stopped early."""
    results: list[TaskResult] = field(default_factory=list)
    stop: Stop | None = None
    """Why the run stopped early, if it did."""
    cancelled: bool = False
    waited: float = 0.0
    """Seconds spent waiting for the rate limit."""
    unrecorded: list[Task] = field(default_factory=list)
    """Tasks the server answered for whose audit line could not be written."""
    history_error: str | None = None
    """Why an audit line could not be written after sending, if one could not."""

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def stopped_by(self) -> errors.LexiError | None:
        """The error that made the run stop early (refused key, unreachable server, 429)."""
        return self.stop.error if self.stop is not None else None

    @property
    def stopped_reason(self) -> str | None:
        return self.stop.reason if self.stop is not None else None

    @property
    def quota_resets_at(self) -> float | None:
        """Unix time the spent quota resets, when that is why the run stopped."""
        return self.stop.resets_at if self.stop is not None else None

    def add(self, result: TaskResult) -> None:
        """File one task's result under its category."""
        self.results.append(result)
        outcome = result.outcome
        if outcome == Outcome.APPLIED:
            self.succeeded.append(result.task)
        elif outcome == Outcome.ALREADY_HANDLED:
            self.already_handled.append(result.task)
        elif outcome == Outcome.NOT_FOUND:
            self.not_found.append(result.task)
        elif outcome == Outcome.UNKNOWN:
            self.unknown.append((result.task, result.detail or LOST_HINT))
        elif outcome == NOT_SENT:
            self.not_sent.append(result.task)
        else:
            self.failed.append((result.task, result.detail or "failed"))

    def describe(self, *, itemise: bool = True, verb: str | None = None) -> str:
        """One paragraph for a person: what was done, what was not, and why.

        Args:
            itemise: name the failed tasks and their errors (False: only count them, for a
                caller that lists each task's outcome next to it, as the app's summary does).
            verb: the word for the action as the person reads it ("reject" for a Chamelio
                dismissal); default: the action.
        """
        word = verb or self.action
        sentences = [f"{past(word).capitalize()} {len(self.succeeded)} of {_count(self.total, 'task')}."]
        if self.already_handled:
            sentences.append(f"{_was(len(self.already_handled))} already handled elsewhere.")
        if self.not_found:
            sentences.append(f"{_was(len(self.not_found))} {NOT_FOUND_TEXT}.")
        if self.unknown:
            shown = ", ".join(task.id for task, _ in self.unknown[:3])
            more = f" and {len(self.unknown) - 3} more" if len(self.unknown) > 3 else ""
            sentences.append(f"{_count(len(self.unknown), 'answer')} {'was' if len(self.unknown) == 1 else 'were'} "
                             f"lost and could not be read back ({shown}{more}): {LOST_HINT}.")
        if self.failed and not itemise:
            sentences.append(f"{len(self.failed)} failed.")
        elif self.failed:
            shown = "; ".join(f"{task.id}: {message}" for task, message in self.failed[:3])
            more = f"; and {len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            sentences.append(f"{len(self.failed)} failed ({shown}{more}).")
        if self.not_sent:
            why = "the run was cancelled" if self.cancelled or self.stop is None else f"the run stopped: {self.stop.reason}"
            sentences.append(f"{_was(len(self.not_sent))} not sent because {why}.")
        if self.waited >= 1:
            sentences.append(f"Waited {self.waited:.0f} s for the rate limit.")
        if self.unrecorded:
            sentences.append(f"{_count(len(self.unrecorded), 'action')} reached the server but could not be "
                             f"recorded in the history ({self.history_error}).")
        return " ".join(sentences)


async def run_bulk(
    target: ActionTarget,
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
    pacing: Pacing | None = None,
) -> BulkSummary:
    """Send `action` ("approve", "dismiss" or "cancel") for each task in turn; say what happened.

    Args:
        target: a `lexi_tui.providers` provider (anything with `ActionTarget`'s calls).
        tasks: the tasks; an id given twice is sent once.
        reason: sent with dismissals (Chamelio: the rejection's comment).
        comment: recorded in the history only; never sent.
        source, profile: recorded in each audit line.
        on_progress: `(done, total, task, outcome)` after each task sent.
        on_result: the `TaskResult` of each task sent (for a per-task log).
        on_wait: the seconds about to be waited for the rate limit.
        cancel: set it to stop before the next send.
        history_path: the history file (default: the app's).
        pacing: the rate-limit policy (default `Pacing()`).

    Every callback may be a coroutine function. Never raises for API errors: they are
    classified in the summary. Calls: `calls_needed(tasks)` when every answer arrives.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    todo = unique(tasks)
    summary = BulkSummary(action=action)
    sender = Sender(target, profile=profile, history_path=history_path, pacing=pacing, cancel=cancel,
                    on_wait=on_wait)
    done = 0
    for position, task in enumerate(todo):
        result = await sender.send(task, action, reason=reason, comment=comment, source=source)
        summary.add(result)
        if result.outcome != NOT_SENT:
            done += 1
            if on_result is not None:
                await _call(on_result, result)
            if on_progress is not None:
                await _call(on_progress, done, len(todo), task, str(result.outcome))
        if sender.stop is not None or sender.cancelled:
            for rest in todo[position + 1:]:
                summary.add(TaskResult(rest, NOT_SENT, action=action))
            break
    summary.stop = sender.stop
    summary.cancelled = sender.cancelled and sender.stop is None
    summary.waited = sender.waited
    summary.unrecorded = [result.task for result in sender.unrecorded]
    summary.history_error = sender.history_error
    return summary


async def _call(callback: Callable[..., object], *args: object) -> None:
    outcome = callback(*args)
    if inspect.isawaitable(outcome):
        await outcome


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _was(n: int) -> str:
    return f"{n} was" if n == 1 else f"{n} were"
