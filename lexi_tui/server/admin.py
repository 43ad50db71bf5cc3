"""Admin endpoints (`--admin` only): look behind the API for tests and the demo.

They live at the root (`/_admin/...`), need no key, are never rate limited, never faulted and
never counted, so a test can inspect the service without disturbing what it measures.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .faults import FaultConfigError
from .records import TaskDataError, validate_tasks
from .responses import ApiError, data_response, read_json_body, validation_error
from .store import DuplicateTaskError

if TYPE_CHECKING:
    from .app import Service


def _service(request: Request) -> "Service":
    return request.app.state.service


async def get_task(request: Request) -> Response:
    """GET /_admin/tasks/{id}: the full stored record (reason, transition counts, timestamps)."""
    record = await run_in_threadpool(_service(request).store.admin_record, request.path_params["task_id"])
    if record is None:
        raise ApiError(404, "not_found", "Task not found")
    return data_response(record)


async def add_tasks(request: Request) -> Response:
    """POST /_admin/tasks: insert tasks given in the `--tasks` file shape; returns their ids."""
    body = await read_json_body(request)
    try:
        records = validate_tasks(body, time.time(), source="admin")
        ids = await run_in_threadpool(lambda: _service(request).store.insert(records, keep_existing=False))
    except TaskDataError as exc:
        raise validation_error(str(exc)) from None
    except DuplicateTaskError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return data_response({"ids": ids}, status=201)


async def stats(request: Request) -> Response:
    """GET /_admin/stats: request counters, fault counters and task counts per status."""
    service = _service(request)
    data = service.stats.snapshot()
    data["faults"] = dict(service.faults.counts)
    data["tasks_by_status"] = await run_in_threadpool(service.store.count_by_status)
    return data_response(data)


async def faults(request: Request) -> Response:
    """GET or POST /_admin/faults: read or change latency / error rate / drop rate at runtime."""
    injector = _service(request).faults
    if request.method == "GET":
        return data_response(injector.snapshot())
    body = await read_json_body(request)
    try:
        return data_response(injector.update(body if body is not None else {}))
    except FaultConfigError as exc:
        raise validation_error(str(exc)) from None


async def conversation(request: Request) -> Response:
    """GET /_admin/conversations/{id}: the stored chat messages of one conversation."""
    conversation_id = request.path_params["conversation_id"]
    messages = await run_in_threadpool(_service(request).store.conversation, conversation_id)
    if messages is None:
        raise ApiError(404, "not_found", "Conversation not found")
    return data_response({"conversation_id": conversation_id, "messages": messages})


def admin_routes() -> list[Route]:
    """Routes at the root, mounted only when the service runs with --admin."""
    return [
        Route("/_admin/tasks", add_tasks, methods=["POST"]),
        Route("/_admin/tasks/{task_id:path}", get_task, methods=["GET"]),
        Route("/_admin/stats", stats, methods=["GET"]),
        Route("/_admin/faults", faults, methods=["GET", "POST"]),
        Route("/_admin/conversations/{conversation_id:path}", conversation, methods=["GET"]),
    ]
