"""Today's outcome policy, pinned before it is made one: what each path makes of an answer.

Two policies disagree today. A key press (`ui.main.triage.ALREADY_HANDLED`) counts every 400,
every 404 and every 409 as "already handled"; bulk runs, rules and the commands
(`core.bulk._classify`) count a 400 as "already handled" only when its message says so, and
call a 404 "already handled" too. The next commit replaces both with one `classify`.
"""

from __future__ import annotations

import pytest

from lexi_tui.api import errors
from lexi_tui.api.models import Task
from lexi_tui.core.bulk import BulkSummary, _classify
from lexi_tui.ui.main.triage import ALREADY_HANDLED

TASK = Task.from_api({"id": "t1", "type": "prospect_search", "status": "pending", "description": "x"})
CASES = [
    # answer, key press says "already handled", bulk/rules/CLI outcome
    (errors.ValidationError("Task has already been approved", status=400), True, "already_handled"),
    (errors.ValidationError("Task is not in `pending` status", status=400), True, "already_handled"),
    (errors.ValidationError("reason must be a string", status=400), True, "failed"),
    (errors.NotFoundError("Task not found", status=404), True, "already_handled"),
    (errors.ConflictError("Task is not awaiting approval", status=409), True, "already_handled"),
    (errors.ServerError("Failed to submit approval", status=500), False, "failed"),
    (errors.TransportError("dropped", sent=True), False, "failed"),
]


@pytest.mark.parametrize(("error", "key_press", "bulk"), CASES, ids=[str(c[0].status) + " " + c[0].message for c in CASES])
def test_todays_paths_disagree(error: errors.LexiError, key_press: bool, bulk: str) -> None:
    assert isinstance(error, ALREADY_HANDLED) is key_press
    assert _classify(TASK, error, BulkSummary("approve")).outcome == bulk
