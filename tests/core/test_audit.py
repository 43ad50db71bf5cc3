"""The one audit-line writer: what each outcome records, masking, and the preflight."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lexi_tui.api import errors
from lexi_tui.api.models import Task
from lexi_tui.api.text import mask_key
from lexi_tui.core import audit, history
from lexi_tui.core.outcomes import Outcome

TASK = Task.from_api({"id": "t-1", "type": "prospect_search", "status": "pending", "description": "Search 20 CEOs"})
KEY = "wbk_live_9f8e7d6c5b4a39281706"


def test_every_outcome_is_recorded_and_reads_back_whole(tmp_path: Path) -> None:
    log = tmp_path / "h.jsonl"
    for outcome in audit.OUTCOMES:
        audit.record("work", TASK, "approve", outcome, source="rule:small", path=log)
    entries = list(reversed(history.read(log)))
    assert [e.outcome for e in entries] == ["ok", "already_handled", "not_found", "failed", "unknown", "not_sent",
                                               "dry_run"]
    assert {(e.task_id, e.task_type, e.description, e.profile, e.source) for e in entries} == {
        ("t-1", "prospect_search", "Search 20 CEOs", "work", "rule:small")}


def test_the_detail_is_the_errors_message_masked_and_its_request_id(tmp_path: Path) -> None:
    error = errors.ServerError(f"upstream echoed Bearer {KEY}", status=500, request_id="req_1")
    line = audit.record("work", TASK, "dismiss", Outcome.FAILED, reason="duplicate", error=error,
                        path=tmp_path / "h.jsonl")
    assert line.detail == f"upstream echoed Bearer {mask_key(KEY)}"
    assert line.request_id == "req_1" and line.reason == "duplicate" and line.outcome == "failed"
    assert KEY not in (tmp_path / "h.jsonl").read_text(encoding="ascii")
    # A settled outcome records what the read-back showed instead, with the lost call's id.
    settled = audit.entry("work", TASK, "approve", Outcome.APPLIED, error=error, detail="read back: approved")
    assert (settled.detail, settled.request_id) == ("read back: approved", "req_1")
    ok = audit.entry("work", TASK, "approve", Outcome.APPLIED, request_id="req_2")
    assert (ok.detail, ok.request_id) == (None, "req_2")


def test_only_known_actions_and_outcomes_are_written() -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        audit.entry("work", TASK, "approve", "sent")
    with pytest.raises(ValueError, match="action must be one of"):
        audit.entry("work", TASK, "delete", Outcome.APPLIED)


def test_preflight_says_why_the_history_cannot_be_written(tmp_path: Path) -> None:
    audit.preflight(tmp_path / "new" / "h.jsonl")  # A missing folder is created, as append would.
    assert (tmp_path / "new" / "h.jsonl").exists() and (tmp_path / "new" / "h.jsonl").stat().st_size == 0
    with pytest.raises(OSError) as caught:
        audit.preflight(tmp_path)  # A folder where the file should be.
    assert isinstance(caught.value, audit.HistoryUnwritable)
    assert audit.reason_text(caught.value).startswith("the history cannot be written: ")
    assert str(tmp_path) in audit.reason_text(caught.value)


def test_a_plain_os_error_reads_as_a_sentence() -> None:
    problem = OSError(28, os.strerror(28), "/data/history.jsonl")
    assert audit.reason_text(problem) == "the history cannot be written: No space left on device (/data/history.jsonl)"
