"""One action on one task, sent and understood the same way on every path.

`perform` sends approve, dismiss (reject) or cancel through an `ActionTarget` (every
`lexi_tui.providers` provider is one), classifies the answer with `outcomes.classify`, and
settles a lost answer (`Outcome.UNKNOWN`) by reading the task back (`target.status_of`) before
anyone is told what happened. It never raises for an API error and never sends twice: a lost
answer whose read also fails stays UNKNOWN ("it may have been applied; check before sending
again") and is left to a person.

A key press can call `perform` directly (then `audit.record` in a thread); bulk runs and the
rule runner call it through `lexi_tui.core.bulk`, which adds pacing, the history and stopping.
No I/O but the target's own HTTP calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lexi_tui.api import errors
from lexi_tui.api.text import clean, redact
from lexi_tui.core.outcomes import ACTIONS, LOST_HINT, NOT_FOUND_TEXT, NOT_SENT, Outcome, classify, settle

if TYPE_CHECKING:
    from lexi_tui.api.models import Task
    from lexi_tui.api.ratelimit import RateLimit

__all__ = ["ACTIONS", "NOT_SENT", "ActionTarget", "TaskResult", "perform"]


class ActionTarget(Protocol):
    """What sending an action needs of a provider (`lexi_tui.providers.Provider` has all of it).

    Every method raises `lexi_tui.api.errors.LexiError` subclasses only.
    """

    @property
    def rate_limit(self) -> RateLimit | None:
        """The budget as of the latest response that carried rate-limit headers."""
        ...

    @property
    def last_request_id(self) -> str | None:
        """The request id of the latest response (set before a call returns)."""
        ...

    async def approve(self, task_id: str, *, comment: str | None = None,
                      variables: list[dict[str, Any]] | None = None) -> None: ...

    async def dismiss(self, task_id: str, reason: str | None = None) -> None: ...

    async def cancel(self, task_id: str) -> None: ...

    async def status_of(self, task: Task, *, action: str | None = None) -> str | None:
        """Where `task` is now (a view name, a decision such as "rejected", or
        `outcomes.MOVED_ON`); None when it does not exist (or this key cannot see it)."""
        ...


@dataclass(frozen=True)
class TaskResult:
    """What happened to one task."""

    task: Task
    outcome: str
    """An `Outcome` ("ok", "already_handled", "not_found", "failed", "unknown") or NOT_SENT."""
    detail: str | None = None
    """Why, for anything but "ok": the server's message (masked), or what the read-back showed."""
    request_id: str | None = None
    action: str = ""
    error: errors.LexiError | None = None
    """What the call raised, if it raised (None for a success or a task never sent)."""
    settled: bool = False
    """The answer was lost and the outcome comes from reading the task back."""

    @property
    def rate_limited(self) -> bool:
        """The server refused the call with a 429: nothing was applied."""
        return isinstance(self.error, errors.RateLimitedError)

    def line(self) -> str:
        """The outcome in words, for a log or a result line: "approved", "not found (…)",
        "failed: Missing lexi permission", "unknown: … it may have been applied; …"."""
        if self.outcome == Outcome.APPLIED:
            text = past(self.action) if self.action else "applied"
        elif self.outcome == Outcome.NOT_FOUND:
            text = NOT_FOUND_TEXT
        elif self.outcome == NOT_SENT:
            text = "not sent"
        else:
            text = self.outcome.replace("_", " ")
        return f"{text}: {self.detail}" if self.detail and self.outcome != Outcome.NOT_FOUND else text


def past(action: str) -> str:
    """approve -> approved, dismiss -> dismissed, cancel -> cancelled, reject -> rejected."""
    if action == "cancel":
        return "cancelled"
    return action + ("d" if action.endswith("e") else "ed")


async def perform(
    target: ActionTarget,
    task: Task,
    action: str,
    *,
    reason: str | None = None,
    comment: str | None = None,
    variables: list[dict[str, Any]] | None = None,
) -> TaskResult:
    """Send `action` for `task` once and say what the server did.

    Args:
        target: the provider to send through.
        task: the task as the caller saw it; its id is sent back byte for byte.
        action: "approve", "dismiss" (Chamelio: reject, `reason` is the comment) or "cancel".
        reason: the dismiss reason sent to the server.
        comment, variables: sent with an approval (providers whose capabilities have
            `comments` / `variables`; Lexi refuses them with ValueError).

    Returns a `TaskResult` whose outcome is never UNKNOWN while the task could be read back.
    A 429 comes back as FAILED with `rate_limited` set: pacing is the caller's (bulk waits
    and sends again; a key press shows it). Costs one call, plus the read-back of a lost
    answer (`Capabilities.status_read_calls` at most).
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    try:
        if action == "approve" and (comment or variables):
            await target.approve(task.id, comment=comment, variables=variables)
        elif action == "approve":
            await target.approve(task.id)
        elif action == "dismiss":
            await target.dismiss(task.id, reason)
        else:
            await target.cancel(task.id)
    except errors.LexiError as error:
        outcome = classify(error)
        if outcome is Outcome.UNKNOWN:
            return await settle_lost(target, task, action, error)
        # A failure is told with its HTTP status and request id (what a person quotes to
        # support); "already handled" and "not found" with the server's words alone.
        detail = redact(clean(str(error), multiline=False)) if outcome is Outcome.FAILED else _message(error)
        return TaskResult(task, outcome, detail, error.request_id, action, error)
    # The clients set last_request_id before returning, with no await in between.
    return TaskResult(task, Outcome.APPLIED, None, target.last_request_id, action)


async def settle_lost(target: ActionTarget, task: Task, action: str, error: errors.LexiError) -> TaskResult:
    """The outcome of `action` on `task` whose answer (`error`) was lost, read from the server.

    The task is read back (`target.status_of`) and `outcomes.settle` decides. When the read
    fails too, the outcome stays UNKNOWN and the detail says it may have been applied.
    """
    lost = f"the answer was lost ({_message(error)})"
    try:
        status = await target.status_of(task, action=action)
    except errors.LexiError as read_error:
        detail = f"{lost} and the task could not be read back ({_message(read_error)}): {LOST_HINT}"
        return TaskResult(task, Outcome.UNKNOWN, detail, error.request_id, action, error)
    outcome = settle(action, status)
    where = "no longer exists (or this key cannot see it)" if status is None else f"is now {_shown(status)}"
    meaning = {
        Outcome.APPLIED: f"{past(action)}",
        Outcome.FAILED: "not applied; it can be sent again",
        Outcome.ALREADY_HANDLED: "handled elsewhere",
        Outcome.NOT_FOUND: "not found",
    }[outcome]
    detail = f"{lost}; reading it back, the task {where}: {meaning}"
    return TaskResult(task, outcome, detail, error.request_id, action, error, settled=True)


def unique(tasks: Sequence[Task]) -> list[Task]:
    """`tasks` without repeated ids, first occurrence kept (an id given twice is sent once)."""
    seen: set[str] = set()
    kept: list[Task] = []
    for task in tasks:
        if task.id not in seen:
            seen.add(task.id)
            kept.append(task)
    return kept


def _message(error: errors.LexiError) -> str:
    """The error's message as one masked line (the server's text is cleaned already)."""
    return redact(clean(error.message, multiline=False))


def _shown(status: str) -> str:
    return "at a later approval step" if status == "moved_on" else status.replace("_", " ")
