"""The four public Lexi endpoints, mounted under the gateway prefix.

Authentication, rate limiting and faults happen in the gateway middleware before these run,
so handlers only validate input and talk to the store. Store calls go to a worker thread: they
are short, but listing 50,000 tasks should not stall the event loop for other requests.
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .intents import parse_message, pending_summary
from .options import TASK_STATUSES
from .responses import ApiError, data_response, read_json_body, validation_error
from .store import TaskBackendError, TaskNotFound, TaskStateError

if TYPE_CHECKING:
    from .app import Service

MAX_MESSAGE_CHARS = 4000


def _service(request: Request) -> "Service":
    return request.app.state.service


def _task_id(request: Request) -> str:
    return request.path_params["task_id"]


async def list_tasks(request: Request) -> Response:
    """GET /v1/lexi/tasks?status=S — newest first, default pending."""
    status = request.query_params.get("status", "pending")
    if status not in TASK_STATUSES:
        raise validation_error(f"Invalid status '{status}'. Must be one of: {', '.join(TASK_STATUSES)}",
                               {"allowed": list(TASK_STATUSES)})
    body = await run_in_threadpool(_service(request).store.list_body, status)
    return Response(body, media_type="application/json")


async def _transition(request: Request, action: Any, *args: Any) -> None:
    try:
        await run_in_threadpool(action, _task_id(request), *args)
    except TaskNotFound:
        raise ApiError(404, "not_found", "Task not found") from None
    except TaskStateError as exc:
        raise validation_error(str(exc)) from None
    except TaskBackendError as exc:
        raise ApiError(500, "internal_error", str(exc)) from None


async def approve_task(request: Request) -> Response:
    """POST /v1/lexi/tasks/{id}/approve — the body may be absent, `{}` or any valid JSON."""
    await read_json_body(request)
    await _transition(request, _service(request).store.approve)
    return data_response({"task_id": _task_id(request), "status": "approved", "execution_started": True})


async def dismiss_task(request: Request) -> Response:
    """POST /v1/lexi/tasks/{id}/dismiss with optional {"reason": string}."""
    body = await read_json_body(request)
    reason = None
    if body is not None:
        if not isinstance(body, dict):
            raise validation_error("Request body must be a JSON object")
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise validation_error("reason must be a string")
    await _transition(request, _service(request).store.dismiss, reason)
    return data_response({"task_id": _task_id(request), "status": "dismissed"})


async def chat(request: Request) -> Response:
    """POST /v1/lexi/chat — turns a request into a pending task, or answers with help."""
    body = await read_json_body(request)
    if body is not None and not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object")
    body = body or {}
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise validation_error("message is required")
    if len(message) > MAX_MESSAGE_CHARS:
        raise validation_error(f"message must be at most {MAX_MESSAGE_CHARS} characters")
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and not isinstance(conversation_id, str):
        raise validation_error("conversation_id must be a string")
    context = body.get("context")
    if context is not None and not isinstance(context, dict):
        raise validation_error("context must be an object")

    store = _service(request).store
    intent = parse_message(message)
    reply = intent.reply
    if intent.kind == "pending_summary":
        counts = await run_in_threadpool(store.count_by_status)
        reply = pending_summary(counts.get("pending", 0))
    task_id = str(uuid.uuid4()) if intent.draft is not None else None
    conversation_id = conversation_id or f"conv_{secrets.token_hex(12)}"
    await run_in_threadpool(store.record_chat, conversation_id, message, context, reply, intent.draft, task_id)
    return data_response({"response": reply, "task_id": task_id, "requires_approval": task_id is not None,
                          "conversation_id": conversation_id})


def gateway_routes() -> list[Route]:
    """Routes relative to the gateway prefix. `{task_id:path}` so ids loaded from fixtures
    may contain any character, slashes included (sent percent-encoded)."""
    return [
        Route("/v1/lexi/tasks", list_tasks, methods=["GET"]),
        Route("/v1/lexi/tasks/{task_id:path}/approve", approve_task, methods=["POST"]),
        Route("/v1/lexi/tasks/{task_id:path}/dismiss", dismiss_task, methods=["POST"]),
        Route("/v1/lexi/chat", chat, methods=["POST"]),
    ]
