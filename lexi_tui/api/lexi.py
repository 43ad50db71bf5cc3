"""The async Lexi API client: one shared `httpx.AsyncClient` for the app's lifetime.

Sharing one client keeps connections alive between polls (no TLS handshake per
refresh over a slow SSH hop). Every call returns typed models or raises a `LexiError`
subclass; nothing from httpx or json leaks out, so callers handle one hierarchy.
"""

from __future__ import annotations

import asyncio
import json
import platform
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from lexi_tui import __version__
from lexi_tui.api import errors
from lexi_tui.api.models import (
    ApproveResult,
    ChatReply,
    DismissResult,
    Task,
    TaskStatus,
    parse_approve,
    parse_chat,
    parse_dismiss,
    parse_task_list,
)
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.api.text import clean, clean_any, mask_key, register_secret

DEFAULT_BASE_URL = "https://data.leadlex.com/functions/v1/api-gateway"
USER_AGENT = f"lexi-tui/{__version__} (httpx/{httpx.__version__}; Python/{platform.python_version()})"
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)

# Bodies above this size are decoded in a thread so a 10,000-task list or a 1 MB
# metadata object never stalls the event loop the UI runs on.
_THREAD_DECODE_BYTES = 128 * 1024
_THREAD_PARSE_TASKS = 500
_INVALID = object()


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """What every response says about the connection, for status displays and budgets."""

    method: str
    path: str
    status: int
    request_id: str | None
    rate_limit: RateLimit | None
    elapsed: float


ResponseListener = Callable[[ResponseInfo], None]


class LexiClient:
    """Async client for the Lexi endpoints of the LeadLex API.

    Use as `async with LexiClient(key) as client:` or call `aclose()` when done. TLS is
    always verified; `ca_bundle` trusts a corporate CA, and the usual `HTTPS_PROXY`,
    `NO_PROXY` and `SSL_CERT_FILE` variables are honoured. Reads
    (`list_tasks`) are retried with capped, jittered back-off on transport errors and
    5xx answers; writes (`approve`, `dismiss`, `chat`) are never retried here, because
    an ambiguous failure may mean the write was applied: the caller re-reads first.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        read_retries: int = 2,
        verify: ssl.SSLContext | bool = True,
        ca_bundle: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key or not api_key.isascii() or not api_key.isprintable() or " " in api_key:
            # Never echo the key: it may be a pasted secret with a stray newline.
            raise ValueError("The API key is empty or contains characters a key cannot have.")
        self._api_key = api_key
        register_secret(api_key)  # Masked wherever text is shown or written (`redact`).
        self.base_url = base_url.rstrip("/")
        self.read_retries = read_retries
        self.rate_limit: RateLimit | None = None
        """The budget as of the latest response that carried rate-limit headers."""
        self.last_request_id: str | None = None
        self._listeners: list[ResponseListener] = []
        if ca_bundle:
            # A corporate CA replaces the default trust store; verification stays on.
            verify = ssl.create_default_context(cafile=ca_bundle)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            timeout=timeout,
            verify=verify,
            transport=transport,
            trust_env=True,
        )

    def __repr__(self) -> str:
        return f"LexiClient(base_url={self.base_url!r}, api_key={mask_key(self._api_key)!r})"

    @property
    def masked_key(self) -> str:
        return mask_key(self._api_key)

    async def __aenter__(self) -> LexiClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def add_listener(self, listener: ResponseListener) -> None:
        """Call `listener` after every response (including errors), on the caller's loop."""
        self._listeners.append(listener)

    # -- endpoints ---------------------------------------------------------------

    async def list_tasks(self, status: TaskStatus | str = TaskStatus.PENDING) -> list[Task]:
        """`GET /v1/lexi/tasks?status=...`: the tasks in one status, newest first."""
        body = await self._read("GET", "/v1/lexi/tasks", params={"status": str(status)})
        tasks = body.get("data", {}).get("tasks")
        if isinstance(tasks, list) and len(tasks) > _THREAD_PARSE_TASKS:
            # Building 10,000 models takes tens of milliseconds: off the event loop.
            return await asyncio.to_thread(parse_task_list, body)
        return parse_task_list(body)

    async def approve(self, task_id: str) -> ApproveResult:
        """`POST /v1/lexi/tasks/{id}/approve`: Lexi starts executing the task."""
        body = await self._send("POST", f"/v1/lexi/tasks/{_segment(task_id)}/approve")
        return parse_approve(body, task_id)

    async def dismiss(self, task_id: str, reason: str | None = None) -> DismissResult:
        """`POST /v1/lexi/tasks/{id}/dismiss`, with an optional analytics reason."""
        payload = {"reason": reason} if reason else {}
        body = await self._send("POST", f"/v1/lexi/tasks/{_segment(task_id)}/dismiss", json=payload)
        return parse_dismiss(body, task_id)

    async def chat(
        self,
        message: str,
        conversation_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> ChatReply:
        """`POST /v1/lexi/chat`: ask Lexi something; the reply may queue a task."""
        payload: dict[str, Any] = {"message": message}
        if conversation_id:
            payload["conversation_id"] = conversation_id
        if context:
            payload["context"] = context
        body = await self._send("POST", "/v1/lexi/chat", json=payload)
        return parse_chat(body)

    # -- plumbing ----------------------------------------------------------------

    async def _read(self, method: str, path: str, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                return await self._send(method, path, **kwargs)
            except errors.LexiError as exc:
                retry = exc.retryable and not isinstance(exc, errors.RateLimitedError)
                if not retry or attempt >= self.read_retries:
                    raise
                attempt += 1
                # Capped exponential back-off with full jitter.
                await asyncio.sleep(random.uniform(0, min(2.0, 0.25 * 2**attempt)))

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        label = f"{method} {path}"
        started = time.monotonic()
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, label) from exc
        request_id = response.headers.get("x-request-id")
        rate_limit = RateLimit.from_headers(response.headers)
        self.last_request_id = request_id
        if rate_limit is not None:
            self.rate_limit = rate_limit
        info = ResponseInfo(
            method, path, response.status_code, request_id, rate_limit, time.monotonic() - started
        )
        for listener in self._listeners:
            listener(info)
        body = await _decode(response.content)
        if response.is_success:
            if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
                raise errors.MalformedResponseError(
                    f"{label}: the server's answer was not the documented JSON ({_describe(response, body)})",
                    status=response.status_code,
                    request_id=request_id,
                    rate_limit=rate_limit,
                )
            return body
        raise _api_error(response, body, label, request_id, rate_limit)


def _segment(task_id: str) -> str:
    """Quote a task id as one path segment: a hostile id must not reach another route."""
    return quote(task_id, safe="")


async def _decode(content: bytes) -> Any:
    if not content:
        return _INVALID
    if len(content) > _THREAD_DECODE_BYTES:
        return await asyncio.to_thread(_loads, content)
    return _loads(content)


def _loads(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return _INVALID


def _describe(response: httpx.Response, body: Any) -> str:
    """Say in words what came back instead of the envelope."""
    if not response.content:
        return "empty body"
    if body is _INVALID:
        content_type = response.headers.get("content-type", "")
        head = response.content[:200].lstrip().lower()
        if "html" in content_type or head.startswith((b"<!doctype", b"<html")):
            return "an HTML page, probably from a gateway"
        return "invalid or truncated JSON"
    return "JSON of an unexpected shape"


def _api_error(
    response: httpx.Response,
    body: Any,
    label: str,
    request_id: str | None,
    rate_limit: RateLimit | None,
) -> errors.APIError:
    status = response.status_code
    envelope = body.get("error") if isinstance(body, dict) else None
    code: str | None = None
    details: Any = None
    message: str | None = None
    if isinstance(envelope, dict):
        code = clean_any(envelope.get("code"), multiline=False) or None
        raw_message = envelope.get("message")
        message = clean(raw_message) if isinstance(raw_message, str) else None
        details = envelope.get("details")
    cls = errors.error_class(status, code)
    if message is None:
        reason = response.reason_phrase or "error"
        message = f"{label}: HTTP {status} {reason} ({_describe(response, body)})"
    kwargs: dict[str, Any] = dict(
        status=status, code=code, details=details, request_id=request_id, rate_limit=rate_limit
    )
    if cls is errors.RateLimitedError:
        return errors.RateLimitedError(message, retry_after=_retry_after(response, details, rate_limit), **kwargs)
    return cls(message, **kwargs)


def _retry_after(response: httpx.Response, details: Any, rate_limit: RateLimit | None) -> float | None:
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    if isinstance(details, dict) and isinstance(details.get("retry_after"), (int, float)):
        return max(0.0, float(details["retry_after"]))
    if rate_limit is not None:
        return rate_limit.seconds_until_reset()
    return None


def _transport_error(exc: httpx.HTTPError, label: str) -> errors.TransportError:
    if isinstance(exc, httpx.TimeoutException):
        sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        return errors.RequestTimeoutError(f"{label}: the server did not answer in time", sent=sent)
    if isinstance(exc, httpx.ConnectError):
        if _is_tls(exc):
            return errors.TLSError(f"{label}: TLS verification failed ({_cause(exc)})")
        return errors.ConnectError(f"{label}: could not connect ({_cause(exc)})")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return errors.TransportError(f"{label}: the connection was dropped before an answer", sent=True)
    return errors.TransportError(f"{label}: {type(exc).__name__}", sent=True)


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper()


def _cause(exc: BaseException) -> str:
    text = clean(str(exc), multiline=False)[:160]
    return text or type(exc).__name__
