"""The async Lexi API client: the Lexi endpoints of the LeadLex API and their error envelope.

Everything the two clients share (the key, the transport, the deadline and size cap, retries,
listeners, decoding, error mapping) is in `lexi_tui.api._http`; this module keeps the
endpoints and Lexi's envelope, `{"data": {...}}` on success and
`{"error": {"code", "message", "details"?}}` on failure. Every call returns typed models or
raises a `LexiError` subclass; nothing from httpx or json leaks out.

Task ids go out exactly as the list gave them, percent-encoded as one path segment.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from lexi_tui.api._http import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BODY,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    Envelope,
    HttpClient,
    Unexpected,
    error_code,
    error_text,
)
from lexi_tui.api._json import Decoded, has_bad_text
from lexi_tui.api.models import (
    ApproveResult,
    ChatReply,
    DismissResult,
    TaskList,
    TaskStatus,
    parse_approve,
    parse_chat,
    parse_dismiss,
    parse_tasks,
)
from lexi_tui.api.ratelimit import retry_after_number
from lexi_tui.api.responses import ResponseInfo, ResponseListener

__all__ = [
    "DEFAULT_BASE_URL", "DEFAULT_DEADLINE", "DEFAULT_MAX_BODY", "DEFAULT_TIMEOUT", "USER_AGENT", "LexiClient",
    "ResponseInfo", "ResponseListener",
]

DEFAULT_BASE_URL = "https://data.leadlex.com/functions/v1/api-gateway"
CONTEXT_FIELDS = ("list_id", "campaign_id", "conversation_id")
"""The chat `context` fields the docs name; all optional."""


class LexiClient(HttpClient):
    """Async client for the Lexi endpoints of the LeadLex API.

    Use as `async with LexiClient(key) as client:` or call `aclose()` when done. Options
    (timeouts, `deadline`, `max_body`, `read_retries`, `ca_bundle`, `transport`,
    `allow_insecure_http`, ...) are `HttpClient`'s. `list_tasks` is a read (retried on
    transport errors and 5xx); `approve`, `dismiss` and `chat` are writes (sent once: after
    an ambiguous failure the caller re-reads before saying what happened).
    """

    default_base_url = DEFAULT_BASE_URL

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    # -- endpoints -----------------------------------------------------------------------------

    async def list_tasks(self, status: TaskStatus | str = TaskStatus.PENDING) -> TaskList:
        """`GET /v1/lexi/tasks?status=...`: the tasks in one status, in the server's order.

        A `TaskList`: a list of tasks whose `problems` say what the server sent that could not
        be shown as it came (duplicate or empty ids, malformed tasks: each skipped, the rest
        kept). An answer without a `tasks` array is a MalformedResponseError, never an empty
        list that would claim there is nothing to approve.
        """
        return await self._read("GET", "/v1/lexi/tasks", _task_list, params={"status": str(status)})

    async def approve(self, task_id: str) -> ApproveResult:
        """`POST /v1/lexi/tasks/{id}/approve`: Lexi starts executing the task."""
        path = f"/v1/lexi/tasks/{_segment(task_id)}/approve"
        return await self._write("POST", path, lambda decoded: parse_approve(decoded.value, task_id))

    async def dismiss(self, task_id: str, reason: str | None = None) -> DismissResult:
        """`POST /v1/lexi/tasks/{id}/dismiss`, with an optional analytics reason."""
        payload = {"reason": reason} if reason else {}
        path = f"/v1/lexi/tasks/{_segment(task_id)}/dismiss"
        return await self._write("POST", path, lambda decoded: parse_dismiss(decoded.value, task_id), json=payload)

    async def chat(
        self,
        message: str,
        conversation_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> ChatReply:
        """`POST /v1/lexi/chat`: ask Lexi something; the reply may queue a task.

        As documented, the conversation continues through `context.conversation_id`: the body
        is `{"message": ..., "context": {"conversation_id": ..., "list_id": ...}}`, with no
        top-level `conversation_id` (the endpoint ignores one there). `context` may carry the
        other documented fields (`list_id`, `campaign_id`); `conversation_id` given both ways
        must agree. Errors as documented: 400 ValidationError ("Missing message parameter"),
        402 InsufficientCreditsError ("No Lexi credits remaining"), 403 PermissionDeniedError
        ("Missing lexi permission"), 401, 429.
        """
        merged: dict[str, Any] = dict(context or {})
        if conversation_id:
            other = merged.get("conversation_id")
            if other and other != conversation_id:
                raise ValueError("two different conversation ids: one in context, one as an argument")
            merged["conversation_id"] = conversation_id
        payload: dict[str, Any] = {"message": message}
        if merged:
            payload["context"] = merged
        return await self._write("POST", "/v1/lexi/chat", lambda decoded: parse_chat(decoded.value), json=payload)

    # -- Lexi's envelope ---------------------------------------------------------------------------

    def _success_problem(self, body: Any) -> str | None:
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            return None
        return "JSON of an unexpected shape"

    def _envelope(self, body: Any, status: int) -> Envelope:
        envelope = body.get("error") if isinstance(body, dict) else None
        if not isinstance(envelope, dict):
            return Envelope()
        details = envelope.get("details")
        retry_after = retry_after_number(details.get("retry_after")) if isinstance(details, dict) else None
        return Envelope(code=error_code(envelope.get("code")), message=error_text(envelope.get("message")),
                        details=details, retry_after=retry_after)


def _task_list(decoded: Decoded) -> TaskList:
    tasks = decoded.value["data"].get("tasks")
    if not isinstance(tasks, list):
        raise Unexpected("no tasks array in the answer")
    return parse_tasks(tasks, check_text=decoded.may_hold_bad_text)


def _segment(task_id: str) -> str:
    """Quote a task id as one path segment: a hostile id must not reach another route.

    The id is sent byte for byte (UTF-8, percent-encoded); an empty id, or one that is not
    valid Unicode (a lone surrogate), cannot name a task and is refused (ValueError).
    """
    if not isinstance(task_id, str) or not task_id:
        raise ValueError("A task id must be a non-empty string.")
    if has_bad_text(task_id):
        raise ValueError("This task id is not valid Unicode and cannot be sent.")
    return quote(task_id, safe="")
