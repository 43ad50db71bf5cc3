"""The outcome policy: one table of answers and what each means, for every path.

Written against the vendors' pages (lexi-approve-task.md, lexi-dismiss-task.md,
chamelio-approve-task.md, chamelio-facts.md). Every path (a key press, bulk, rules, the
commands, the history) uses `classify`, so this table is the one place the policy is pinned.
"""

from __future__ import annotations

import pytest

from lexi_tui.api import errors
from lexi_tui.core.outcomes import MOVED_ON, Outcome, classify, settle

CASES = [
    ("success", None, Outcome.APPLIED),
    # Lexi 400 validation_error: only the "already"/"not pending" texts mean the task moved on.
    ("lexi 400 already approved", errors.ValidationError("Task has already been approved", status=400), Outcome.ALREADY_HANDLED),
    ("lexi 400 already dismissed", errors.ValidationError("Task has already been dismissed", status=400), Outcome.ALREADY_HANDLED),
    ("lexi 400 not pending", errors.ValidationError("Task is not in `pending` status", status=400), Outcome.ALREADY_HANDLED),
    ("lexi 400 other", errors.ValidationError("reason must be a string", status=400), Outcome.FAILED),
    ("lexi 400 missing message", errors.ValidationError("Missing message parameter", status=400), Outcome.FAILED),
    # Chamelio 409: the task is not at an approval step any more, or cannot be cancelled now.
    ("chamelio 409 not awaiting", errors.ConflictError("Task is not awaiting approval", status=409), Outcome.ALREADY_HANDLED),
    ("chamelio 409 cancel", errors.ConflictError("Task cannot be cancelled in its current state", status=409), Outcome.ALREADY_HANDLED),
    # 404: not found is never "already handled".
    ("lexi 404", errors.NotFoundError("Task not found", status=404), Outcome.NOT_FOUND),
    ("chamelio 404", errors.NotFoundError("Task not found", status=404), Outcome.NOT_FOUND),
    # Everything else the server answered is a failure, with its message.
    ("401", errors.InvalidKeyError("Invalid API key", status=401), Outcome.FAILED),
    ("402", errors.InsufficientCreditsError("No Lexi credits remaining", status=402), Outcome.FAILED),
    ("403", errors.PermissionDeniedError("Missing lexi permission", status=403), Outcome.FAILED),
    ("422", errors.ValidationError("body.variables: invalid", status=422), Outcome.FAILED),
    ("429", errors.RateLimitedError("Rate limit exceeded", status=429), Outcome.FAILED),
    ("500 json", errors.ServerError("Failed to submit approval", status=500), Outcome.FAILED),
    ("503", errors.ServerError("Service unavailable", status=503), Outcome.FAILED),
    # The answer was lost: unknown, settled by reading the task.
    ("502 gateway", errors.MalformedResponseError("an HTML page", status=502), Outcome.UNKNOWN),
    ("504 gateway", errors.ServerError("Gateway timeout", status=504), Outcome.UNKNOWN),
    ("200 garbled", errors.MalformedResponseError("invalid JSON", status=200), Outcome.UNKNOWN),
    ("dropped after sending", errors.TransportError("dropped", sent=True), Outcome.UNKNOWN),
    ("timed out after sending", errors.RequestTimeoutError("no answer", sent=True), Outcome.UNKNOWN),
    ("could not connect", errors.ConnectError("refused"), Outcome.FAILED),
    ("connect timed out", errors.RequestTimeoutError("no connection", sent=False), Outcome.FAILED),
    ("tls", errors.TLSError("bad certificate"), Outcome.FAILED),
    # A body that is not the documented JSON on an error status is that error, not a lost answer.
    ("500 html", errors.MalformedResponseError("an HTML page", status=500), Outcome.FAILED),
    ("400 already, by code only", errors.APIError("Task has already been approved", status=400), Outcome.ALREADY_HANDLED),
    ("409 by status only", errors.APIError("Conflict", status=409), Outcome.ALREADY_HANDLED),
    ("404 by status only", errors.APIError("Not Found", status=404), Outcome.NOT_FOUND),
]


@pytest.mark.parametrize(("answer", "error", "outcome"), CASES, ids=[c[0] for c in CASES])
def test_every_answer_has_one_meaning(answer: str, error: errors.LexiError | None, outcome: Outcome) -> None:
    assert classify(error) is outcome


def test_outcomes_are_what_the_history_records() -> None:
    assert [o.value for o in Outcome] == ["ok", "already_handled", "not_found", "failed", "unknown"]
    assert Outcome.NOT_FOUND.label == "not found" and Outcome.APPLIED.label == "applied"
    assert {o for o in Outcome if o.done} == {Outcome.APPLIED, Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND}


SETTLE = [
    ("approve", "pending", Outcome.FAILED),
    ("approve", "approved", Outcome.APPLIED),
    ("approve", "completed", Outcome.APPLIED),
    ("approve", "in_progress", Outcome.APPLIED),
    ("approve", "dismissed", Outcome.ALREADY_HANDLED),
    ("dismiss", "dismissed", Outcome.APPLIED),
    ("dismiss", "pending", Outcome.FAILED),
    ("dismiss", "approved", Outcome.ALREADY_HANDLED),
    ("cancel", "cancelled", Outcome.APPLIED),
    ("cancel", "completed", Outcome.ALREADY_HANDLED),
    ("approve", None, Outcome.NOT_FOUND),
    ("dismiss", None, Outcome.NOT_FOUND),
    # Lexi: a task found completed or failed after a lost dismissal was approved by someone else.
    ("dismiss", "completed", Outcome.ALREADY_HANDLED),
    ("dismiss", "failed", Outcome.ALREADY_HANDLED),
    ("approve", "failed", Outcome.APPLIED),  # Approved, then Lexi's execution failed.
    # Chamelio: the provider reports the decision of the step it was at when the runs show it.
    ("approve", "approved", Outcome.APPLIED),
    ("approve", "rejected", Outcome.ALREADY_HANDLED),
    ("dismiss", "rejected", Outcome.APPLIED),
    ("dismiss", "in_progress", Outcome.ALREADY_HANDLED),  # Moved on with no decision seen: not claimed.
    # At another approval step than the one acted on: handled, never resent to the next step.
    ("approve", MOVED_ON, Outcome.ALREADY_HANDLED),
    ("dismiss", MOVED_ON, Outcome.ALREADY_HANDLED),
    # Cancel applies to any open task: still open means not applied.
    ("cancel", "pending", Outcome.FAILED),
    ("cancel", "in_progress", Outcome.FAILED),
    ("cancel", MOVED_ON, Outcome.FAILED),
    ("cancel", "canceled", Outcome.APPLIED),  # The webhooks' spelling.
]


@pytest.mark.parametrize(("action", "status", "outcome"), SETTLE)
def test_a_lost_answer_is_settled_by_where_the_task_is_now(action: str, status: str | None, outcome: Outcome) -> None:
    assert settle(action, status) is outcome


def test_before_names_where_the_task_was() -> None:
    assert settle("cancel", "in_progress", before="in_progress") is Outcome.FAILED
    assert settle("cancel", "pending", before="in_progress") is Outcome.ALREADY_HANDLED
