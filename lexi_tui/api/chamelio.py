"""The async Chamelio client: approval steps of legal workflows, one shared `httpx.AsyncClient`.

Chamelio has no list endpoint: a task reaches the app by id, by its `task_url`, or through a
webhook (see `lexi_tui.core.webhooks`), so the client reads tasks one at a time. Errors are
`{"detail": "..."}` (or, for 422, a list of `{loc, msg, type}`) and are mapped onto the same
hierarchy as Lexi's (`lexi_tui.api.errors`); 409 becomes `ConflictError`. The key travels
only in the `X-API-Key` header and is never part of a repr, a message or a log line.

Reads (`get_task`, `approval_details`) are retried with capped, jittered back-off on
transport errors and 5xx answers; writes (`approve`, `reject`, `cancel`) are never retried,
because an ambiguous failure may mean the write was applied: the caller re-reads first.
Everything shared with the Lexi client (key, transport, deadline, size cap, retries,
listeners, decoding, cleaning of server bytes) is in `lexi_tui.api._http`.

Task ids are integers within [0, 2**63 - 1] (`chamelio_models.check_task_id`): anything else
is refused before it reaches a URL, and an answer naming another task than the one asked
for, or an id out of range, is refused as malformed (never stored).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lexi_tui.api import errors
from lexi_tui.api._http import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BODY,
    DEFAULT_TIMEOUT,
    Envelope,
    HttpClient,
    Unexpected,
    error_text,
    server_text,
)
from lexi_tui.api._json import Decoded
from lexi_tui.api.chamelio_models import (
    MAX_TASK_ID,
    ApprovalDetails,
    ApprovalResult,
    CancelResult,
    ChamelioStatus,
    ChamelioTask,
    FileRef,
    StepRun,
    TaskIdError,
    Variable,
    VariableType,
    VariableValue,
    check_task_id,
    parse_task_ref,
    validate_variable,
    variables_payload,
)
from lexi_tui.api.text import clean_any, clip

__all__ = [
    "CHAMELIO_BASE_URL", "DEFAULT_DEADLINE", "DEFAULT_MAX_BODY", "DEFAULT_TIMEOUT", "MAX_TASK_ID", "ChamelioClient",
    "ApprovalDetails", "ApprovalResult", "CancelResult", "ChamelioStatus", "ChamelioTask", "FileRef", "StepRun",
    "TaskIdError", "Variable", "VariableType", "VariableValue", "check_task_id", "parse_task_ref", "validate_variable",
]

CHAMELIO_BASE_URL = "https://platform.chamelio.ai"


class ChamelioClient(HttpClient):
    """Async client for Chamelio's task approval endpoints.

    Use as `async with ChamelioClient(key) as client:` or call `aclose()` when done. Options
    (timeouts, `deadline`, `max_body`, `read_retries`, `ca_bundle`, `transport`,
    `allow_insecure_http`, ...) are `HttpClient`'s.
    """

    default_base_url = CHAMELIO_BASE_URL

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"X-API-Key": api_key}

    # -- endpoints ---------------------------------------------------------------------------

    async def get_task(self, task_id: int) -> ChamelioTask:
        """`GET /tasks/{task_id}`: the task, its current step, step runs and variables."""
        task_id = _check_id(task_id)

        def parse(decoded: Decoded) -> ChamelioTask:
            task = _whole(decoded).get("task")
            if not isinstance(task, dict):
                raise Unexpected("no task object in the answer")
            _same_task(task.get("task_id"), task_id)
            return ChamelioTask.from_api(task, task_id)

        return await self._read("GET", f"/tasks/{task_id}", parse)

    async def approval_details(self, task_id: int, include_files: bool = False) -> ApprovalDetails:
        """`GET /tasks/{task_id}/approval-details`: variables to approve, approvers, files."""
        task_id = _check_id(task_id)
        params = {"include_files": "true" if include_files else "false"}

        def parse(decoded: Decoded) -> ApprovalDetails:
            body = _whole(decoded)
            _same_task(body.get("task_id"), task_id)
            return ApprovalDetails.from_api(body, task_id)

        return await self._read("GET", f"/tasks/{task_id}/approval-details", parse, params=params)

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
        return await self._write("POST", f"/tasks/{task_id}/cancel",
                                 lambda decoded: CancelResult.from_api(decoded.value, task_id))

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
        # The result names the task that was sent: an echo of another id is not trusted.
        return await self._write("POST", f"/tasks/{task_id}/approve",
                                 lambda decoded: ApprovalResult.from_api(decoded.value, task_id, approved),
                                 json=payload)

    # -- Chamelio's envelope -----------------------------------------------------------------

    def _envelope(self, body: Any, status: int) -> Envelope:
        detail = body.get("detail") if isinstance(body, dict) else None
        # 422 is FastAPI's validation status; everything else maps like Lexi's (409: ConflictError).
        cls = errors.ValidationError if status == 422 else None
        if isinstance(detail, list):
            return Envelope(message=_join_validation(detail), details=detail, error_class=cls)
        return Envelope(message=error_text(detail), error_class=cls)


def _whole(decoded: Decoded) -> dict[str, Any]:
    """The answer object; an answer that could not be read whole is refused (nothing of it is
    kept): a task with a part missing must not be acted on."""
    if decoded.partial:
        raise Unexpected(f"a part of it could not be read: {decoded.skipped[0]}")
    body: dict[str, Any] = decoded.value
    return body


def _same_task(value: object, task_id: int) -> None:
    """An answer about a task must be about the task asked for (or not say)."""
    if value is None:
        return
    try:
        answered = check_task_id(value)
    except TaskIdError as exc:
        raise Unexpected(f"its task id is not a valid Chamelio task id: {exc}") from None
    if answered != task_id:
        raise Unexpected(f"it is about task {answered}, not task {task_id}")


def _check_id(task_id: int) -> int:
    """Task ids are integers in [0, MAX_TASK_ID]; anything else must not reach a URL path."""
    if isinstance(task_id, bool) or not isinstance(task_id, int):
        raise TypeError(f"a Chamelio task id is an int, not {type(task_id).__name__}")
    return check_task_id(task_id)


def _join_validation(details: list[Any]) -> str:
    """`[{"loc": ["body", "approved"], "msg": "field required"}]` -> "body.approved: field required"."""
    parts: list[str] = []
    for item in details[:10]:
        if isinstance(item, dict):
            loc = item.get("loc")
            where = ".".join(server_text(clean_any(p), 60) for p in loc[:10]) if isinstance(loc, list) else ""
            msg = server_text(clean_any(item.get("msg")), 200) or "invalid"
            parts.append(f"{where}: {msg}" if where else msg)
        else:
            parts.append(server_text(clean_any(item), 200))
    if len(details) > 10:
        parts.append(f"and {len(details) - 10} more")
    return clip("; ".join(parts), 1000) or "the request was not valid"
