"""The ASGI application: gateway middleware around a small Starlette router.

The middleware reproduces what the production gateway does before a function runs — request
ids, faults, the body-size limit, API-key auth, per-key rate limits — in that order, so that
every response (401, 404, 413, 429, 500 and faulted ones included) carries `X-Request-ID`, and
every response to an authenticated request carries the X-RateLimit-* headers when limiting is
on. The body is read here, once (see `bodies`), so a client that disconnects halfway through
its body ends the request quietly instead of raising inside a route.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import bodies
from .admin import admin_routes
from .chamelio import chamelio_admin_routes, chamelio_app
from .faults import drop_connection
from .options import CHAMELIO_PREFIX, GATEWAY_PREFIX
from .responses import ApiError, encode, error_body, error_response, send_raw
from .routes import gateway_routes
from .service import Service

logger = logging.getLogger("lexi_tui.server")

FINISHER_INTERVAL = 0.25  # seconds between background checks for due approved tasks


def _is_chamelio(path: str) -> bool:
    return path == CHAMELIO_PREFIX or path.startswith(CHAMELIO_PREFIX + "/")


def bearer_key(scope: Scope) -> str | None:
    """The key from `Authorization: Bearer <key>` (scheme case-insensitive), else None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").strip().partition(" ")
            key = key.strip()
            return key if scheme.lower() == "bearer" and key else None
    return None


def too_large_body(path: str, limit: int) -> bytes:
    """The 413 answer in the envelope of the face `path` belongs to.

    The vendors document no 413: the code `payload_too_large` and both messages are this
    service's assumption, in each face's documented error envelope.
    """
    if _is_chamelio(path):
        return encode({"detail": "Request body too large"})
    return error_body("payload_too_large", f"Request body is larger than {limit} bytes")


class GatewayMiddleware:
    """Request ids, faults, the body limit, lazy task completion, auth and rate limits,
    then the router."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the gateway steps; every response leaving here gets the collected headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service = self.service
        path: str = scope["path"]
        is_admin = service.options.admin and path.startswith("/_admin/")
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", f"req_{secrets.token_hex(12)}".encode())]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *extra]}
                if not is_admin:
                    service.stats.status(message["status"])
            await send(message)

        try:
            if not is_admin:
                service.stats.request(scope["method"], path)
                # Lexi's injected faults are its gateway's; the Chamelio face has its own.
                if not _is_chamelio(path) and not await self._apply_faults(receive, send_with_headers):
                    return
            if bodies.declares_body(scope):
                replayed = await self._read_body(scope, receive, send_with_headers, is_admin)
                if replayed is None:
                    return
                receive = replayed
            if service.store.has_due():
                await run_in_threadpool(service.store.process_due)
            if path.startswith(GATEWAY_PREFIX + "/") or path == GATEWAY_PREFIX:
                if not await self._authorize(scope, extra, send_with_headers):
                    return
            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            logger.debug("client went away during %s %s", scope.get("method"), path)
        except Exception:
            # Route errors were answered (and logged) by _internal_error, which Starlette
            # re-raises after; swallowing here keeps uvicorn from logging them to stderr.
            if not started:
                logger.exception("Unhandled error while serving %s %s", scope.get("method"), path)
                await send_raw(send_with_headers, 500, error_body("internal_error", "Internal server error"))

    async def _read_body(self, scope: Scope, receive: Receive, send: Send, is_admin: bool) -> Receive | None:
        """Read the body (at most --max-body bytes; admin requests are not limited).

        Assumption (the vendors document no 413): the size is checked before the key, as an
        edge proxy in front of the gateway would, so an over-long body gets 413 even without a
        valid key and never costs rate-limit budget.

        Returns a receive that replays it, or None when the request has been dealt with: a
        413 was sent (with `Connection: close`, as the rest of an over-long body may not have
        been read), or the client disconnected before its body was complete (nothing to
        answer; logged at debug level only).
        """
        limit = 0 if is_admin else self.service.options.max_body
        read = await bodies.read_body(scope, receive, limit)
        if read.outcome == bodies.DISCONNECTED:
            self.service.stats.disconnected()
            logger.debug("client disconnected while sending the body of %s %s", scope["method"], scope["path"])
            return None
        if read.outcome == bodies.TOO_LARGE:
            await send_raw(send, 413, too_large_body(scope["path"], limit), headers=[(b"connection", b"close")])
            return None
        return bodies.replay(read.body, receive)

    async def _apply_faults(self, receive: Receive, send: Send) -> bool:
        """Delay, drop or fail the request as configured; True if it should go on normally."""
        plan = self.service.faults.plan()
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if plan.action == "drop" and await drop_connection(receive):
            return False
        if plan.action != "none":
            status, content_type, body = self.service.faults.next_error()
            await send_raw(send, status, body, content_type + (b"; charset=utf-8" if status == 502 else b""))
            return False
        return True

    async def _authorize(self, scope: Scope, extra: list[tuple[bytes, bytes]], send: Send) -> bool:
        """401 for a missing/unknown key (not counted), then the rate limit (429, not
        consuming budget), then 403 for a key without the lexi permission."""
        service = self.service
        key = bearer_key(scope)
        allowed = service.permissions.get(key) if key is not None else None
        if allowed is None:
            service.stats.refused("unauthorized")
            await send_raw(send, 401, error_body("invalid_key", "Invalid API key"),
                           headers=[(b"www-authenticate", b'Bearer realm="api-gateway"')])
            return False
        assert key is not None
        decision = service.limiter.check(key)
        service.stats.authenticated(key, rate_limited=not decision.allowed)
        # Retry-After only with --retry-after: the vendor documents none (see ratelimit).
        extra.extend(decision.headers(retry_after=service.options.retry_after))
        if not decision.allowed:
            await send_raw(send, 429, error_body("rate_limited", "Rate limit exceeded"))
            return False
        if not allowed:
            service.stats.refused("forbidden")
            await send_raw(send, 403, error_body("insufficient_permissions", "Missing lexi permission"))
            return False
        scope.setdefault("state", {})["api_key"] = key
        return True


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the vendor's envelope instead of plain text."""
    assert isinstance(exc, HTTPException)
    known = {404: ("not_found", "Not found"), 405: ("method_not_allowed", "Method not allowed")}
    code, message = known.get(exc.status_code, ("http_error", str(exc.detail)))
    return Response(error_body(code, message), status_code=exc.status_code, headers=exc.headers,
                    media_type="application/json")


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Unexpected exceptions: the gateway's JSON 500, never a plain-text page. A client that
    went away is not an error (the answer goes nowhere; uvicorn drops it)."""
    if isinstance(exc, ClientDisconnect):
        logger.debug("client went away during %s %s", request.method, request.url.path)
        return Response(status_code=400)
    logger.error("Unhandled error while serving %s %s", request.method, request.url.path, exc_info=exc)
    return Response(error_body("internal_error", "Internal server error"), status_code=500,
                    media_type="application/json")


async def _finisher(service: Service) -> None:
    """Finish due approved tasks even when no request arrives (the demo just watches)."""
    while True:
        await asyncio.sleep(FINISHER_INTERVAL)
        try:
            if service.store.has_due():
                await run_in_threadpool(service.store.process_due)
        except Exception:  # a closed store during shutdown, a locked file: try again later
            logger.debug("background completion failed", exc_info=True)


def build_app(service: Service) -> ASGIApp:
    """The complete ASGI app for `service` (gateway routes, plus admin routes with --admin)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_finisher(service))]
        if service.chamelio is not None:
            tasks.append(asyncio.create_task(service.chamelio.background()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    routes: list[BaseRoute] = [Mount(GATEWAY_PREFIX, routes=gateway_routes())]
    if service.chamelio is not None:
        routes.append(Mount(CHAMELIO_PREFIX, app=chamelio_app(service.chamelio)))
    if service.options.admin:
        routes.extend(admin_routes())
        if service.chamelio is not None:
            routes.extend(chamelio_admin_routes())
    starlette_app = Starlette(routes=routes, lifespan=lifespan,
                              exception_handlers={ApiError: _api_error, HTTPException: _http_error,
                                                  Exception: _internal_error})
    starlette_app.state.service = service
    return GatewayMiddleware(starlette_app, service)

