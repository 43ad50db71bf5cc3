"""The documented JSON shapes, built from a stored task document."""

from __future__ import annotations

import time
from typing import Any

from .workflows import awaiting_approval, current_step, iso

FILE_LINK_SECONDS = 3600

#: `workflow_state_id`: the facts sheet lists the field without describing it. Assumed here: an
#: integer naming the state of the workflow the task is in — `workflow_id * 100 + n`, n from
#: this table (the step it waits at, or how it ended) — so it changes whenever the task moves.
STATE_NUMBERS = {"intake": 1, "review": 2, "approval": 3, "action": 4, "rejection": 5,
                 "completed": 6, "cancelled": 7, "failed": 8}


def workflow_state_id(doc: dict[str, Any]) -> int:
    """The task's `workflow_state_id` (see STATE_NUMBERS)."""
    state = doc.get("position") or doc["status"]
    return doc["workflow_id"] * 100 + STATE_NUMBERS.get(state, 0)


def task_url(base: str, doc: dict[str, Any]) -> str:
    """The task's page: `{base}/workflows/{workflow_id}/tasks/{task_id}` (base = the face's URL)."""
    return f"{base.rstrip('/')}/workflows/{doc['workflow_id']}/tasks/{doc['task_id']}"


def _run(run: dict[str, Any]) -> dict[str, Any]:
    return {key: run.get(key) for key in ("step_run_id", "step_id", "step_name", "step_type", "status", "variables",
                                          "started_at", "completed_at")}


def task_body(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """`GET /tasks/{task_id}`."""
    step = current_step(doc) or {}
    return {"task": {
        "task_id": doc["task_id"], "task_url": task_url(base, doc), "task_title": doc["task_title"],
        "workflow_id": doc["workflow_id"], "workflow_name": doc["workflow_name"],
        "workflow_version": doc["workflow_version"], "workflow_state_id": workflow_state_id(doc),
        "status": doc["status"],
        "current_step_id": step.get("step_id"), "current_step_name": step.get("step_name"),
        "current_step_type": step.get("step_type"),
        "created_at": iso(doc["created_ts"]), "updated_at": iso(doc["updated_ts"]),
        "completed_at": iso(doc.get("completed_ts")),
        "owner_email": doc["owner_email"], "assignee_email": doc["assignee_email"],
        "collaborator_emails": list(doc["collaborator_emails"]),
        "step_runs": [_run(run) for run in doc["step_runs"]],
        "variables": list(doc["variables"]),
    }}


def approval_details_body(doc: dict[str, Any], base: str, include_files: bool, now: float | None = None) -> dict[str, Any]:
    """`GET /tasks/{task_id}/approval-details` (the task is at its approval step)."""
    assert awaiting_approval(doc)
    now = time.time() if now is None else now
    approval = doc["approval"]
    files = []
    if include_files:
        expires = int(now) + FILE_LINK_SECONDS
        files = [{"file_id": f["file_id"], "file_name": f["file_name"], "content_type": f["content_type"],
                  "download_url": f"{base.rstrip('/')}/files/{f['file_id']}?expires={expires}",
                  "expires_at": iso(expires), "variable_id": f["variable_id"]} for f in approval["files"]]
    return {
        "task_id": doc["task_id"], "step_run": _run(doc["step_runs"][-1]),
        "eligible_approvers_active": list(approval["eligible_approvers_active"]),
        "next_eligible_approvers": list(approval["next_eligible_approvers"]),
        "variables_to_approve": [dict(v) for v in approval["variables_to_approve"]],
        "files": files,
    }


def find_file(doc: dict[str, Any], file_id: str) -> dict[str, Any] | None:
    return next((f for f in doc["approval"]["files"] if f["file_id"] == file_id), None)
