"""What a server's answer to an action means: one policy for every path.

A key press, a bulk run, a rule, a command and the history all ask the same question of an
answer to approve, dismiss (reject) or cancel: was it applied? The answer is one of

* `APPLIED`: the server accepted the action;
* `ALREADY_HANDLED`: the server says the task is no longer where the action needs it — a Lexi
  400 whose message says the task was already approved or dismissed or is not pending
  (lexi-approve-task.md, lexi-dismiss-task.md), a Chamelio 409 "Task is not awaiting
  approval" or "Task cannot be cancelled in its current state" (chamelio-approve-task.md,
  chamelio-facts.md);
* `NOT_FOUND`: a 404, the id does not exist or the key cannot see it — never "already handled";
* `FAILED`: every other error; the action was not applied and may be sent again;
* `UNKNOWN`: the answer was lost after the request may have reached the server (the
  connection dropped or timed out after sending, a gateway answered 502/504 in the origin's
  place, or a success status came with a body that is not the documented JSON). Never retried
  blindly: it is settled by reading the task (`settle`).

Stdlib plus the API's error classes (which do not load httpx).
"""

from __future__ import annotations

import enum
import re

from lexi_tui.api import errors

ACTIONS = ("approve", "dismiss", "cancel")
"""Every action a path can send (and the history can record): `cancel` is Chamelio's."""

NOT_SENT = "not_sent"
"""A task of a run, or a held action, that was never sent (cancelled, stopped early, refused
because it could not be journalled or recorded): nothing was done to it. Not an `Outcome`:
no answer was read."""

DRY_RUN = "dry_run"
"""The outcome of a decision a rule made in a dry run: nothing was sent."""


class Outcome(enum.StrEnum):
    """The meaning of an answer; the value is what the history records."""

    APPLIED = "ok"
    ALREADY_HANDLED = "already_handled"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """How a person reads it: "applied", "already handled", "not found"..."""
        return "applied" if self is Outcome.APPLIED else self.value.replace("_", " ")

    @property
    def done(self) -> bool:
        """The task needs nothing more from this action (it leaves the queue)."""
        return self in (Outcome.APPLIED, Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND)


_NO_LONGER_THERE = re.compile(r"\balready\b|\bnot\b.{0,12}\bpending\b|\bnot awaiting\b", re.IGNORECASE)
"""Lexi's 400 texts for a task that moved on: "Task has already been approved", "Task has
already been dismissed", "Task is not in `pending` status"."""

_GATEWAY_LOST = (502, 504)
"""A gateway answered because the origin did not: the origin may have applied the action."""


def classify(error: errors.LexiError | None) -> Outcome:
    """The outcome of an action whose call raised `error` (None: it returned normally).

    Args:
        error: what the client raised, or None for a success.
    """
    if error is None:
        return Outcome.APPLIED
    if isinstance(error, errors.TransportError):
        return Outcome.UNKNOWN if error.sent else Outcome.FAILED
    if isinstance(error, errors.NotFoundError) or error.status == 404:
        return Outcome.NOT_FOUND
    if isinstance(error, errors.ConflictError) or error.status == 409:
        return Outcome.ALREADY_HANDLED
    if error.status == 400 and _NO_LONGER_THERE.search(error.message or ""):
        return Outcome.ALREADY_HANDLED
    if error.status in _GATEWAY_LOST:
        return Outcome.UNKNOWN
    if isinstance(error, errors.MalformedResponseError) and error.status is not None and 200 <= error.status < 300:
        return Outcome.UNKNOWN
    return Outcome.FAILED


MOVED_ON = "moved_on"
"""A status a provider may report after a lost answer: the task waits at another approval step
than the one the action was sent for (Chamelio workflows can pass several), with no decision
of that step to be seen. It was handled, by whom cannot be told; it must never be sent again
as if it still waited where the person saw it."""

TARGETS: dict[str, tuple[str, ...]] = {
    "approve": ("approved", "completed", "failed", "in_progress"),
    "dismiss": ("dismissed", "rejected"),
    "cancel": ("cancelled", "canceled"),
}
"""Where a task can be once the action was applied. Lexi executes an approved task (approved,
then completed or failed); a Chamelio approval moves the workflow on (in_progress, then
completed), and the Chamelio provider reports the decision of the step itself ("approved",
"rejected") when the task's step runs show it. A dismissal only ever leads to "dismissed"
(Lexi) or "rejected" (Chamelio): a Lexi task found completed after a lost dismissal was
approved by someone else, and a Chamelio task that moved on without a visible decision is
not claimed as ours (ALREADY_HANDLED, never resent)."""

OPEN: dict[str, tuple[str, ...]] = {
    "approve": ("pending",),
    "dismiss": ("pending",),
    "cancel": ("pending", "in_progress", MOVED_ON),
}
"""Where a task still is when the action was not applied: approve and dismiss act on a task
awaiting approval; cancel on any open task."""


def settle(action: str, status: str | None, *, before: str | None = None) -> Outcome:
    """The outcome of an action whose answer was lost, from the task's status read afterwards.

    Args:
        action: "approve", "dismiss" or "cancel".
        status: the task's status (the app's view name, or a decision such as "rejected", or
            `MOVED_ON`) as read now; None when the read found no such task.
        before: the status the task had when the action was sent; by default every status
            the action applies to (`OPEN`).

    A task still where it was was not touched (FAILED: safe to send again); one in a status
    the action leads to was applied (possibly by someone else at the same moment: the server
    cannot tell us which, and either way nothing more is to be done); one elsewhere was
    handled otherwise (ALREADY_HANDLED); one that no longer exists is NOT_FOUND.

    Assumption: the read comes after the server finished with the request. True for a
    dropped connection or a gateway's answer (the origin answered or gave up); after a read
    time-out the server may still apply the request after we read. Then the task is seen
    still pending (FAILED), and a second send is refused by the server as already handled
    (Lexi 400, Chamelio 409): nothing is applied twice, the history shows both answers.
    """
    if status is None:
        return Outcome.NOT_FOUND
    still = (before,) if before is not None else OPEN.get(action, ("pending",))
    if status in still:
        return Outcome.FAILED
    if status in TARGETS.get(action, ()):
        return Outcome.APPLIED
    return Outcome.ALREADY_HANDLED


LOST_HINT = "it may have been applied; check before sending again"
"""What a person is told about an action whose answer was lost and could not be settled."""

NOT_FOUND_TEXT = "not found (it does not exist, or this key cannot see it)"
"""How a 404 is said: never "already handled"."""
