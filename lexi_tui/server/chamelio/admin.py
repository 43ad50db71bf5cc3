"""Admin endpoints of the Chamelio face (`--admin` only; root level, no key, never limited).

    GET  /_admin/chamelio/tasks                 {"data": {"ids": [...], "by_status": {...}}}
    POST /_admin/chamelio/tasks                 create: {workflow_id?, title?, step?: intake|review|approval
                                                (default approval), files?: bool} -> 201 {"data": record}
    GET  /_admin/chamelio/tasks/{id}            {"data": record}
    POST /_admin/chamelio/tasks/{id}/advance    move one step on now -> {"data": record}; 409 at approval/finished
    GET|POST /_admin/chamelio/faults            {"approve_failure_rate", "fail_next_approvals", "failed_approvals"}
    GET  /_admin/chamelio/webhooks              {"data": {"url", "pending", "timeout_seconds",
                                                "retry_schedule_seconds", "time_scale",
                                                "events": [envelope as sent], "deliveries": [delivery]}}

A delivery is {event_id, event, task_id, state (pending | delivered | undelivered), attempts,
status and error (of the last attempt), delivered_at, next_attempt_at, log: [{attempt, at,
outcome (delivered | http_error | timeout | connection_error), status, error, elapsed_ms,
retry_in_seconds}]}. `pending` counts deliveries not yet delivered or given up.

A record is what the store keeps behind the API: task_id, status, current_step_type/name,
awaiting_approval, approve_calls, cancel_calls, outcome (approved/rejected/cancelled/null),
approved, comment, variables (as submitted), user_email, decided_at, advance_at, source, and
`task` (what `GET /tasks/{id}` answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..responses import ApiError, data_response, read_json_body, validation_error
from . import store as st
from .validation import MAX_TASK_ID
from .views import task_body

if TYPE_CHECKING:
    from .face import ChamelioFace


def _face(request: Request) -> ChamelioFace:
    return request.app.state.service.chamelio


async def _current(request: Request) -> ChamelioFace:
    """The face, after moving tasks whose time has come (as every public request does)."""
    face = _face(request)
    await face.process_due()
    return face


def _task_id(request: Request) -> int:
    text = request.path_params["task_id"]
    if not text.isdigit() or len(text) > 19 or int(text) > MAX_TASK_ID:
        raise ApiError(404, "not_found", "Task not found")
    return int(text)


def _record(face: ChamelioFace, task_id: int) -> dict[str, Any] | None:
    record = face.store.admin_record(task_id)
    if record is not None:
        record["task"] = task_body(face.store.get(task_id), face.public_base)["task"]
    return record


async def list_tasks(request: Request) -> Response:
    face = await _current(request)
    ids = await run_in_threadpool(face.store.ids)
    return data_response({"ids": ids, "by_status": await run_in_threadpool(face.store.count_by_status)})


async def get_task(request: Request) -> Response:
    record = await run_in_threadpool(_record, await _current(request), _task_id(request))
    if record is None:
        raise ApiError(404, "not_found", "Task not found")
    return data_response(record)


async def create_task(request: Request) -> Response:
    face = _face(request)
    body = await read_json_body(request)
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object")
    workflow_id, title = body.get("workflow_id"), body.get("title")
    step, files = body.get("step", "approval"), body.get("files", False)
    if workflow_id is not None and (isinstance(workflow_id, bool) or not isinstance(workflow_id, int)):
        raise validation_error("workflow_id must be an integer")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise validation_error("title must be a non-empty string")
    if step not in ("intake", "review", "approval"):
        raise validation_error("step must be one of: intake, review, approval")
    if not isinstance(files, bool):
        raise validation_error("files must be a boolean")
    try:
        doc, events = await run_in_threadpool(face.store.create_task, workflow_id, title, step, files, face.rng)
    except st.TaskNotFound:
        raise validation_error(f"No workflow with id {workflow_id}") from None
    face.emit(events)
    return data_response(await run_in_threadpool(_record, face, doc["task_id"]), status=201)


async def advance_task(request: Request) -> Response:
    face = await _current(request)
    try:
        doc, events = await run_in_threadpool(face.store.advance, _task_id(request))
    except st.TaskNotFound:
        raise ApiError(404, "not_found", "Task not found") from None
    except st.CannotAdvance as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    face.emit(events)
    return data_response(await run_in_threadpool(_record, face, doc["task_id"]))


async def faults(request: Request) -> Response:
    face = _face(request)
    if request.method == "GET":
        return data_response(face.faults.snapshot())
    body = await read_json_body(request)
    try:
        return data_response(face.faults.update({} if body is None else body))
    except ValueError as exc:
        raise validation_error(str(exc)) from None


async def webhooks(request: Request) -> Response:
    return data_response(_face(request).sender.snapshot())


def chamelio_admin_routes() -> list[Route]:
    return [
        Route("/_admin/chamelio/tasks", list_tasks, methods=["GET"]),
        Route("/_admin/chamelio/tasks", create_task, methods=["POST"]),
        Route("/_admin/chamelio/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/_admin/chamelio/tasks/{task_id}/advance", advance_task, methods=["POST"]),
        Route("/_admin/chamelio/faults", faults, methods=["GET", "POST"]),
        Route("/_admin/chamelio/webhooks", webhooks, methods=["GET"]),
    ]
