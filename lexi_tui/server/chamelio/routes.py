"""Chamelio's public endpoints, mounted at `/chamelio`, behind the face's own gate.

The gate answers before any route: 401 with the documented `detail` for a missing, unknown,
inactive, revoked or expired `X-API-Key` (not counted against the limit), then the face's own
per-minute rate limit (`--chamelio-rate-limit`, per key, on the service's scaled clock).
Chamelio documents no rate-limit headers and no 429 body (only `rate_limit_per_minute` on the
org-info endpoint), so what this face answers is an assumption, kept as it always was:
X-RateLimit-Limit/Remaining/Reset on every authenticated answer, and a 429 with Retry-After
and `{"detail": "Rate limit exceeded"}`. X-Request-ID is added to every answer by the
service's outer gateway middleware. Errors are always `{"detail": ...}`.

Order inside a route, as in a FastAPI service: 422 for a malformed path, query or body, then
404, then 409, then 422 for variables that do not fit the approval step, then the injected 500.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..records import loads_strict
from ..responses import encode, send_raw
from . import store as st
from .validation import RequestInvalid, bool_query, check_variables, parse_approval, task_id_param
from .views import approval_details_body, find_file, task_body
from .workflows import awaiting_approval

if TYPE_CHECKING:
    from .face import ChamelioFace

NOT_AWAITING = "Task is not awaiting approval"
CANNOT_CANCEL = "Task cannot be cancelled in its current state"
SUBMIT_FAILED = "Failed to submit approval"


class Detail(Exception):
    """Raised by handlers: answered as `{"detail": detail}` with this status."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def detail_body(detail: Any) -> bytes:
    return encode({"detail": detail})


def _json(value: Any, status: int = 200) -> Response:
    return Response(encode(value), status_code=status, media_type="application/json")


def _face(request: Request) -> ChamelioFace:
    return request.app.state.face


def _base(request: Request) -> str:
    return _face(request).public_base


async def _load(request: Request) -> dict[str, Any]:
    task_id = task_id_param(request.path_params["task_id"])
    try:
        return await run_in_threadpool(_face(request).store.get, task_id)
    except st.TaskNotFound:
        raise Detail(404, "Task not found") from None


async def get_task(request: Request) -> Response:
    """GET /tasks/{task_id}"""
    return _json(task_body(await _load(request), _base(request)))


async def approval_details(request: Request) -> Response:
    """GET /tasks/{task_id}/approval-details?include_files=bool"""
    task_id_param(request.path_params["task_id"])
    include_files = bool_query(request.query_params.get("include_files"), "include_files")
    doc = await _load(request)
    if not awaiting_approval(doc):
        raise Detail(409, NOT_AWAITING)
    return _json(approval_details_body(doc, _base(request), include_files))


async def approve(request: Request) -> Response:
    """POST /tasks/{task_id}/approve with {approved, comment?, variables?, user_email?}"""
    face = _face(request)
    task_id = task_id_param(request.path_params["task_id"])
    body = parse_approval(await request.body())

    def check(doc: dict[str, Any]) -> None:
        check_variables(body, doc["approval"]["variables_to_approve"])
        if face.faults.should_fail():
            raise Detail(500, SUBMIT_FAILED)

    try:
        doc, events = await run_in_threadpool(face.store.decide, task_id, body.approved, body.comment,
                                              body.variables, body.user_email, check)
    except st.TaskNotFound:
        raise Detail(404, "Task not found") from None
    except st.NotAwaitingApproval:
        raise Detail(409, NOT_AWAITING) from None
    face.emit(events)
    verb = "Approval" if body.approved else "Rejection"
    return _json({"task_id": task_id, "status": doc["status"], "approved": body.approved,
                  "message": f"{verb} submitted successfully"})


def _cancel_reason(raw: bytes) -> str | None:
    """An optional `{"reason": "..."}` body, for the canceled webhook's `reason`.

    The docs give the cancel endpoint no body: this is an extension, read leniently (anything
    else, or nothing, means no reason) so a documented call can never fail because of it.
    """
    try:
        body = loads_strict(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        return None
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason if isinstance(reason, str) and reason.strip() else None


async def cancel(request: Request) -> Response:
    """POST /tasks/{task_id}/cancel"""
    face = _face(request)
    task_id = task_id_param(request.path_params["task_id"])
    reason = _cancel_reason(await request.body())
    try:
        doc, events = await run_in_threadpool(face.store.cancel, task_id, reason)
    except st.TaskNotFound:
        raise Detail(404, "Task not found") from None
    except st.CannotCancel:
        raise Detail(409, CANNOT_CANCEL) from None
    face.emit(events)
    return _json({"task_id": task_id, "status": doc["status"], "message": "Task cancelled successfully"})


async def download(request: Request) -> Response:
    """GET /files/{file_id}?expires=EPOCH: the link from approval-details (no key needed, like a
    pre-signed URL). The content is a short placeholder text naming the file."""
    file_id: str = request.path_params["file_id"]
    try:
        expires = float(request.query_params.get("expires", ""))
    except ValueError:
        raise Detail(403, "Invalid download link") from None
    if expires < time.time():
        raise Detail(403, "Download link has expired")
    parts = file_id.split("_")
    doc = None
    if len(parts) == 3 and parts[1].isdigit():
        try:
            doc = await run_in_threadpool(_face(request).store.get, int(parts[1]))
        except st.TaskNotFound:
            doc = None
    file = find_file(doc, file_id) if doc else None
    if file is None:
        raise Detail(404, "File not found")
    name = file["file_name"].replace('"', "'")
    text = f"Placeholder for {file['file_name']} ({file['content_type']}), task {doc['task_id']}.\n"
    return Response(text, media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def _detail(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Detail)
    return _json({"detail": exc.detail}, exc.status)


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestInvalid)
    return _json({"detail": exc.errors}, 422)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return Response(detail_body(exc.detail), status_code=exc.status_code, headers=exc.headers,
                    media_type="application/json")


async def _internal(request: Request, exc: Exception) -> Response:
    return _json({"detail": "Internal Server Error"}, 500)


class ChamelioGate:
    """Timed moves, then key check and rate limit, then the routes."""

    def __init__(self, app: ASGIApp, face: ChamelioFace) -> None:
        self.app = app
        self.face = face

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        face = self.face
        face.note_scope(scope)
        await face.process_due()
        extra: list[tuple[bytes, bytes]] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        route_path = scope["path"][len(scope.get("root_path", "")):]
        if not route_path.startswith("/files/"):
            key = next((v.decode("latin-1").strip() for k, v in scope.get("headers", []) if k == b"x-api-key"), None)
            problem = face.key_problem(key)
            if problem is not None:
                await send_raw(send, 401, detail_body(problem))
                return
            assert key is not None
            decision = face.limiter.check(key)
            extra.extend(decision.headers(retry_after=True))  # assumed, see the module docstring
            if not decision.allowed:
                await send_raw(send_with_headers, 429, detail_body("Rate limit exceeded"))
                return
        await self.app(scope, receive, send_with_headers)


def chamelio_app(face: ChamelioFace) -> ASGIApp:
    """The ASGI app to mount at `/chamelio`."""
    routes = [
        Route("/tasks/{task_id}", get_task, methods=["GET"]),
        Route("/tasks/{task_id}/approval-details", approval_details, methods=["GET"]),
        Route("/tasks/{task_id}/approve", approve, methods=["POST"]),
        Route("/tasks/{task_id}/cancel", cancel, methods=["POST"]),
        Route("/files/{file_id}", download, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={Detail: _detail, RequestInvalid: _invalid,
                                                       HTTPException: _http, Exception: _internal})
    app.state.face = face
    return ChamelioGate(app, face)
