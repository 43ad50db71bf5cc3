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

from .intents import credit_reply, parse_message, pending_summary
from .keys import account_id
from .options import TASK_STATUSES
from .responses import ApiError, data_response, read_json_body, validation_error
from .store import InsufficientCredits, TaskBackendError, TaskNotFound, TaskStateError

if TYPE_CHECKING:
    from .service import Service

MAX_MESSAGE_CHARS = 12_000
CONTEXT_FIELDS = ("list_id", "campaign_id", "conversation_id")


def _service(request: Request) -> Service:
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


def _chat_input(body: Any) -> tuple[str, dict[str, Any] | None]:
    """The message and the context of a chat body, or the documented 400.

    Documented: "Missing message parameter" (400 validation_error). Assumed: a message that is
    there but not a string says so, and a message may be up to 12,000 characters (the only
    figure the docs give, for the streaming twin of this endpoint). Every context field is
    optional; when present, list_id, campaign_id and conversation_id must be strings (other
    context fields are kept as sent).
    """
    if body is not None and not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object")
    body = body or {}
    message = body.get("message")
    if message is None or (isinstance(message, str) and not message.strip()):
        raise validation_error("Missing message parameter")
    if not isinstance(message, str):
        raise validation_error("message must be a string")
    if len(message) > MAX_MESSAGE_CHARS:
        raise validation_error(f"message must be at most {MAX_MESSAGE_CHARS} characters")
    context = body.get("context")
    if context is None:
        return message, None
    if not isinstance(context, dict):
        raise validation_error("context must be an object")
    for field in CONTEXT_FIELDS:
        value = context.get(field)
        if value is not None and not isinstance(value, str):
            raise validation_error(f"context.{field} must be a string")
    return message, context


def _conversation_id(context: dict[str, Any] | None) -> str:
    """The conversation this message belongs to: `context.conversation_id`, else a new one.

    Like the real endpoint, a top-level `conversation_id` is ignored (the docs' follow-up
    example sends it inside `context`; there is none at the top level), so a client that
    sends it there starts a new conversation every time. An id the service never issued is
    adopted (assumption: the docs do not say what an unknown id does).
    """
    supplied = (context or {}).get("conversation_id")
    return supplied if supplied else f"conv_{secrets.token_hex(12)}"


async def chat(request: Request) -> Response:
    """POST /v1/lexi/chat — queue a task, do the work at once, or answer; costs credits.

    Credits are per workspace, and a key is scoped to one workspace, so the balance is kept
    per key (`keys.account_id`, a hash of the key). A message that cannot be paid for in full
    (1 credit, 6 when it queues a prospect search) is refused with 402 and nothing happens:
    no task, no answer, no stored message, no credit taken. The docs do not say what a prospect
    search asked for with only 1–5 credits left does; refusing the whole message is this
    service's reading (assumption), so nothing is ever half done.
    """
    message, context = _chat_input(await read_json_body(request))
    store = _service(request).store
    intent = parse_message(message)
    pending: int | None = None
    if intent.kind == "pending_summary":
        pending = (await run_in_threadpool(store.count_by_status)).get("pending", 0)

    def reply(balance: int | None) -> str:
        if intent.kind == "credit_balance":
            return credit_reply(balance)
        if intent.kind == "pending_summary":
            return pending_summary(pending or 0)
        return intent.reply

    key = request.scope.get("state", {}).get("api_key")
    task_id = str(uuid.uuid4()) if intent.draft is not None else None
    conversation_id = _conversation_id(context)
    try:
        text, _ = await run_in_threadpool(
            lambda: store.record_chat(conversation_id, message, context, reply, intent.draft, task_id,
                                      account=account_id(key) if key else None, cost=intent.credits,
                                      action=intent.action))
    except InsufficientCredits:
        raise ApiError(402, "insufficient_credits", "No Lexi credits remaining") from None
    return data_response({"response": text, "task_id": task_id, "requires_approval": task_id is not None,
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
