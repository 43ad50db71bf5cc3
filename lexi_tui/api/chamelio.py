"""The async Chamelio client: approval steps of legal workflows, one shared `httpx.AsyncClient`.

Chamelio has no list endpoint: a task reaches the app by id, by its `task_url`, or through a
webhook (see `lexi_tui.core.webhooks`), so the client reads tasks one at a time. Errors are
`{"detail": "..."}` (or, for 422, a list of `{loc, msg, type}`) and are mapped onto the same
hierarchy as Lexi's (`lexi_tui.api.errors`); 409 becomes `ConflictError`. The key travels
only in the `X-API-Key` header and is never part of a repr, a message or a log line.

Reads (`get_task`, `approval_details`) are retried with capped, jittered back-off on
transport errors and 5xx answers; writes (`approve`, `reject`, `cancel`) are never retried,
because an ambiguous failure may mean the write was applied: the caller re-reads first.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from lexi_tui.api import errors
from lexi_tui.api.chamelio_models import (
    ApprovalDetails,
    ApprovalResult,
    CancelResult,
    ChamelioStatus,
    ChamelioTask,
    FileRef,
    StepRun,
    Variable,
    VariableType,
    VariableValue,
    parse_task_ref,
    validate_variable,
    variables_payload,
)
from lexi_tui.api.lexi import (
    USER_AGENT,
    ResponseInfo,
    ResponseListener,
    _decode,
    _describe,
    _retry_after,
    _transport_error,
)
from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.api.text import clean, clean_any, mask_key, register_secret

__all__ = [
    "CHAMELIO_BASE_URL", "ChamelioClient", "ApprovalDetails", "ApprovalResult", "CancelResult",
    "ChamelioStatus", "ChamelioTask", "FileRef", "StepRun", "Variable", "VariableType", "VariableValue",
    "parse_task_ref", "validate_variable",
]

CHAMELIO_BASE_URL = "https://platform.chamelio.ai"
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
_MAX_TASK_ID = 2**63 - 1


class ChamelioClient:
    """Async client for Chamelio's task approval endpoints.

    Use as `async with ChamelioClient(key) as client:` or call `aclose()` when done. TLS is
    always verified; `ca_bundle` trusts a corporate CA, and `HTTPS_PROXY`, `NO_PROXY` and
    `SSL_CERT_FILE` are honoured.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = CHAMELIO_BASE_URL,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        read_retries: int = 2,
        verify: ssl.SSLContext | bool = True,
        ca_bundle: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key or not api_key.isascii() or not api_key.isprintable() or " " in api_key:
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
            verify = ssl.create_default_context(cafile=ca_bundle)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"X-API-Key": api_key, "User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=timeout,
            verify=verify,
            transport=transport,
            trust_env=True,
        )

    def __repr__(self) -> str:
        return f"ChamelioClient(base_url={self.base_url!r}, api_key={mask_key(self._api_key)!r})"

    @property
    def masked_key(self) -> str:
        return mask_key(self._api_key)

    async def __aenter__(self) -> ChamelioClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def add_listener(self, listener: ResponseListener) -> None:
        """Call `listener` after every response (including errors), on the caller's loop."""
        self._listeners.append(listener)

    # -- endpoints ---------------------------------------------------------------------------

    async def get_task(self, task_id: int) -> ChamelioTask:
        """`GET /tasks/{task_id}`: the task, its current step, step runs and variables."""
        task_id = _check_id(task_id)
        body = await self._read("GET", f"/tasks/{task_id}")
        task = body.get("task")
        if not isinstance(task, dict):
            raise self._malformed(f"GET /tasks/{task_id}", "no task object in the answer")
        return ChamelioTask.from_api(task, task_id)

    async def approval_details(self, task_id: int, include_files: bool = False) -> ApprovalDetails:
        """`GET /tasks/{task_id}/approval-details`: variables to approve, approvers, files."""
        task_id = _check_id(task_id)
        params = {"include_files": "true" if include_files else "false"}
        body = await self._read("GET", f"/tasks/{task_id}/approval-details", params=params)
        return ApprovalDetails.from_api(body, task_id)

    async def approve(
        self,
        task_id: int,
        *,
        comment: str | None = None,
        variables: Iterable[VariableValue | Variable | Mapping[str, Any]] | Mapping[str, str] | None = None,
        user_email: str | None = None,
    ) -> ApprovalResult:
        """`POST /tasks/{task_id}/approve` with `approved: true`; the workflow continues.

        `variables`: VariableValue / Variable objects, `{variable_id, type, value}` mappings.
        """
        return await self._decide(task_id, True, comment, variables_payload(variables), user_email)

    async def reject(self, task_id: int, *, comment: str | None = None,
                     user_email: str | None = None) -> ApprovalResult:
        """`POST /tasks/{task_id}/approve` with `approved: false`: the rejection path runs."""
        return await self._decide(task_id, False, comment, [], user_email)

    async def cancel(self, task_id: int) -> CancelResult:
        """`POST /tasks/{task_id}/cancel`: stop the workflow (409 once it has finished)."""
        task_id = _check_id(task_id)
        body = await self._send("POST", f"/tasks/{task_id}/cancel")
        return CancelResult.from_api(body, task_id)

    async def _decide(self, task_id: int, approved: bool, comment: str | None,
                      variables: list[dict[str, str]], user_email: str | None) -> ApprovalResult:
        task_id = _check_id(task_id)
        payload: dict[str, Any] = {"approved": approved}
        if comment:
            payload["comment"] = comment
        if variables:
            payload["variables"] = variables
        if user_email:
            payload["user_email"] = user_email
        body = await self._send("POST", f"/tasks/{task_id}/approve", json=payload)
        return ApprovalResult.from_api(body, task_id, approved)

    # -- plumbing ----------------------------------------------------------------------------

    def _malformed(self, label: str, what: str, status: int = 200) -> errors.MalformedResponseError:
        return errors.MalformedResponseError(
            f"{label}: the server's answer was not the documented JSON ({what})",
            status=status, request_id=self.last_request_id, rate_limit=self.rate_limit,
        )

    async def _read(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return await self._send(method, path, **kwargs)
            except errors.LexiError as exc:
                retry = exc.retryable and not isinstance(exc, errors.RateLimitedError)
                if not retry or attempt >= self.read_retries:
                    raise
                attempt += 1
                await asyncio.sleep(random.uniform(0, min(2.0, 0.25 * 2**attempt)))

    async def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        label = f"{method} {path}"
        started = time.monotonic()
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, label) from exc
        request_id = response.headers.get("x-request-id")
        request_id = clean(request_id, multiline=False)[:120] if request_id else None
        rate_limit = RateLimit.from_headers(response.headers)
        self.last_request_id = request_id
        if rate_limit is not None:
            self.rate_limit = rate_limit
        info = ResponseInfo(method, path, response.status_code, request_id, rate_limit,
                            time.monotonic() - started)
        for listener in self._listeners:
            listener(info)
        body = await _decode(response.content)
        if response.is_success:
            if not isinstance(body, dict):
                raise errors.MalformedResponseError(
                    f"{label}: the server's answer was not the documented JSON ({_describe(response, body)})",
                    status=response.status_code, request_id=request_id, rate_limit=rate_limit,
                )
            return body
        raise _api_error(response, body, label, request_id, rate_limit)


def _check_id(task_id: int) -> int:
    """Task ids are integers; anything else must not reach a URL path."""
    if isinstance(task_id, bool) or not isinstance(task_id, int):
        raise TypeError(f"a Chamelio task id is an int, not {type(task_id).__name__}")
    if not 0 <= task_id <= _MAX_TASK_ID:
        raise ValueError("a Chamelio task id is a non-negative integer")
    return task_id


def _join_validation(details: list[Any]) -> str:
    """`[{"loc": ["body", "approved"], "msg": "field required"}]` -> "body.approved: field required"."""
    parts: list[str] = []
    for item in details[:10]:
        if isinstance(item, dict):
            loc = item.get("loc")
            where = ".".join(clean_any(p, multiline=False) for p in loc) if isinstance(loc, list) else ""
            msg = clean_any(item.get("msg"), multiline=False) or "invalid"
            parts.append(f"{where}: {msg}" if where else msg)
        else:
            parts.append(clean_any(item, multiline=False))
    if len(details) > 10:
        parts.append(f"and {len(details) - 10} more")
    return "; ".join(parts) or "the request was not valid"


def _api_error(response: httpx.Response, body: Any, label: str, request_id: str | None,
               rate_limit: RateLimit | None) -> errors.APIError:
    status = response.status_code
    detail = body.get("detail") if isinstance(body, dict) else None
    details: Any = None
    message: str | None = None
    if isinstance(detail, str) and detail.strip():
        message = clean(detail, multiline=False)
    elif isinstance(detail, list):
        details = detail
        message = _join_validation(detail)
    # 422 is FastAPI's validation status; everything else maps like Lexi's (409: ConflictError).
    cls = errors.ValidationError if status == 422 else errors.error_class(status, None)
    if message is None:
        reason = response.reason_phrase or "error"
        message = f"{label}: HTTP {status} {reason} ({_describe(response, body)})"
    kwargs: dict[str, Any] = dict(status=status, details=details, request_id=request_id, rate_limit=rate_limit)
    if cls is errors.RateLimitedError:
        return errors.RateLimitedError(message, retry_after=_retry_after(response, None, rate_limit), **kwargs)
    return cls(message, **kwargs)
