"""Admin endpoints (`--admin` only): look behind the API for tests and the demo.

They live at the root (`/_admin/...`), need no key, are never rate limited, never faulted,
never counted and have no body-size limit, so a test can inspect the service without
disturbing what it measures. No answer ever shows a whole API key: keys appear masked
(`wbk_…1a2b`). Where a request names a key, it may give the whole key (`"key"`), its masked
form as an answer showed it (`"key"` too), or its last characters (`"key_suffix"`); with only
one key configured it may name none.

    GET  /_admin/stats                      request counters (keys masked)
    GET  /_admin/tasks/{id}, POST /_admin/tasks, GET|POST /_admin/faults
    GET  /_admin/conversations/{id}         {"conversation_id", "messages": [...], "actions": [...]}
    GET  /_admin/ratelimit                  {"plan", "daily_limit", "minute_limit", "minute_window_seconds",
                                            "headers", "retry_after", "clock": {...}, "keys": [counters]}
    POST /_admin/ratelimit                  {key | key_suffix, used_today?, used_this_minute?} -> counters
    GET  /_admin/credits                    {"initial_credits", "accounts": [{"key", "balance"}]}
    POST /_admin/credits                    {key | key_suffix, balance} -> {"key", "balance"}

Counters: {"key", "used_today", "daily_limit", "remaining_today", "day_ends_at" (real Unix time),
"day_reset" (what X-RateLimit-Reset says for the day), "day_ends_at_virtual" (the virtual
midnight, ISO), "used_this_minute", "minute_limit", "remaining_this_minute", "minute_ends_at",
"minute_reset"} (the minute fields are null while no window runs).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .faults import FaultConfigError
from .keys import account_id
from .records import TaskDataError, validate_tasks
from .responses import ApiError, data_response, read_json_body, validation_error
from .store import DuplicateTaskError

if TYPE_CHECKING:
    from .service import Service


def _service(request: Request) -> Service:
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
    data = service.stats.snapshot(service.labels)
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
    actions = await run_in_threadpool(_service(request).store.actions, conversation_id)
    return data_response({"conversation_id": conversation_id, "messages": messages, "actions": actions})


def resolve_key(service: Service, body: dict[str, Any], candidates: list[str]) -> str:
    """The configured key a request names: `key` (whole, or masked as shown), or `key_suffix`
    (the key's last characters, at least 4), or none when only one key is configured.

    Raises ApiError 400 when it names none or several, 404 when it matches no configured key.
    """
    key, suffix = body.get("key"), body.get("key_suffix")
    if key is not None:
        if not isinstance(key, str):
            raise validation_error("key must be a string")
        found = [k for k in candidates if key in (k, service.label(k))]
    elif suffix is not None:
        if not isinstance(suffix, str) or len(suffix) < 4:
            raise validation_error("key_suffix must be a string of at least 4 characters")
        found = [k for k in candidates if k.endswith(suffix)]
    elif len(candidates) == 1:
        found = list(candidates)
    else:
        raise validation_error("Name the key: key (whole or masked) or key_suffix")
    if not found:
        raise ApiError(404, "not_found", "No configured key matches")
    if len(found) > 1:
        raise validation_error(f"{len(found)} configured keys match; give more of the key")
    return found[0]


def _count(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise validation_error(f"{name} must be an integer >= 0")
    return value


async def _object_body(request: Request) -> dict[str, Any]:
    body = await read_json_body(request)
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object")
    return body


def _counters(service: Service, key: str) -> dict[str, Any]:
    return {"key": service.label(key), **service.limiter.counters(key)}


async def ratelimit(request: Request) -> Response:
    """GET or POST /_admin/ratelimit: every key's daily and per-minute counters, or set one
    key's counters ("2 calls left today") without making the calls."""
    service = _service(request)
    keys = list(service.permissions)
    if request.method == "POST":
        body = await _object_body(request)
        key = resolve_key(service, body, keys)
        used_today, used_minute = _count(body, "used_today"), _count(body, "used_this_minute")
        if used_today is None and used_minute is None:
            raise validation_error("Give used_today and/or used_this_minute")
        service.limiter.set_counters(key, used_today, used_minute)
        return data_response(_counters(service, key))
    options = service.options
    return data_response({
        "plan": options.plan, "daily_limit": service.limiter.daily_limit, "minute_limit": service.limiter.limit,
        "minute_window_seconds": options.rate_window, "headers": options.rate_headers,
        "retry_after": options.retry_after, "clock": service.clock.snapshot(),
        "keys": [_counters(service, key) for key in keys],
    })


async def credits(request: Request) -> Response:
    """GET or POST /_admin/credits: every Lexi key's credit balance, or set one."""
    service = _service(request)
    keys = [key for key, allowed in service.permissions.items() if allowed]
    store = service.store
    if request.method == "POST":
        body = await _object_body(request)
        key = resolve_key(service, body, keys)
        balance = _count(body, "balance")
        if balance is None:
            raise validation_error("balance is required")
        await run_in_threadpool(store.set_balance, account_id(key), balance)
        return data_response({"key": service.label(key), "balance": balance})
    accounts = [{"key": service.label(key), "balance": await run_in_threadpool(store.balance, account_id(key))}
                for key in keys]
    return data_response({"initial_credits": service.options.credits, "accounts": accounts})


def admin_routes() -> list[Route]:
    """Routes at the root, mounted only when the service runs with --admin."""
    return [
        Route("/_admin/tasks", add_tasks, methods=["POST"]),
        Route("/_admin/tasks/{task_id:path}", get_task, methods=["GET"]),
        Route("/_admin/stats", stats, methods=["GET"]),
        Route("/_admin/faults", faults, methods=["GET", "POST"]),
        Route("/_admin/conversations/{conversation_id:path}", conversation, methods=["GET"]),
        Route("/_admin/ratelimit", ratelimit, methods=["GET", "POST"]),
        Route("/_admin/credits", credits, methods=["GET", "POST"]),
    ]
