"""The client's error hierarchy, built from the API's error envelope and HTTP status.

Every error carries what a person or a retry policy needs: the HTTP status (None for
transport errors), the API's error code and message, the request id to quote to support,
and the rate-limit state when the server sent it. Messages never contain the API key:
they are built only from the server's (cleaned) text and the request's method and path.
"""

from __future__ import annotations

from typing import Any

from lexi_tui.api.ratelimit import RateLimit
from lexi_tui.api.text import one_line


class LexiError(Exception):
    """Base class of every error the API client raises."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Any = None,
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        if code is not None:
            self.code = code
        self.details = details
        self.request_id = request_id
        self.rate_limit = rate_limit

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}")
            parts[-1] += f", request {self.request_id})" if self.request_id else ")"
        elif self.request_id:
            parts.append(f"(request {self.request_id})")
        return " ".join(parts)

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if simply sent again later."""
        return False


class APIError(LexiError):
    """The server answered with an error status."""


class ValidationError(APIError):
    """400 validation_error: e.g. the task is not pending any more."""

    code = "validation_error"


class InvalidKeyError(APIError):
    """401 invalid_key: the key is wrong, revoked or missing."""

    code = "invalid_key"


class InsufficientCreditsError(APIError):
    """402 insufficient_credits."""

    code = "insufficient_credits"


class PermissionDeniedError(APIError):
    """403 insufficient_permissions: the key lacks the `lexi` permission."""

    code = "insufficient_permissions"


class NotFoundError(APIError):
    """404 not_found: no such task (or it is not visible to this key)."""

    code = "not_found"


class ConflictError(APIError):
    """409 conflict: the task is no longer in a state that allows the action (Chamelio)."""

    code = "conflict"


class RateLimitedError(APIError):
    """429 rate_limited.

    `retry_after` is the number of seconds to wait, in [0, 1 day], taken only from the
    `Retry-After` header or the envelope's `details.retry_after`; None when the server said
    neither (LeadLex documents no `Retry-After`). It is deliberately never derived from
    `X-RateLimit-Reset`: those headers describe the *daily* window (reset at midnight UTC),
    so a per-minute 429 would otherwise be waited out until midnight. When it is None,
    callers choose a short back-off of their own; `rate_limit` (the headers of this answer,
    `remaining` and `reset_at`) says whether the day is spent.
    """

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return True


class ServerError(APIError):
    """5xx, or any status the client does not map."""

    code = "server_error"

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status >= 500


class MalformedResponseError(APIError):
    """The body was not the documented envelope: an HTML gateway page, empty, truncated,
    too large (over the client's `max_body`), or not decodable."""

    code = "malformed_response"

    @property
    def retryable(self) -> bool:
        return self.status is not None and self.status >= 500


class TransportError(LexiError):
    """No usable HTTP answer: connection refused or dropped, timeout, TLS failure.

    `sent` is True when the request may have reached the server (a read timeout, a
    dropped connection after sending): a write may have been applied and must be
    checked before it is repeated.
    """

    code = "transport_error"
    kind: str = "dropped"
    """A short word for a support log: "timeout", "connect", "dropped" or "tls"."""

    def __init__(self, message: str, *, sent: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.sent = sent

    @property
    def retryable(self) -> bool:
        return True


class RequestTimeoutError(TransportError):
    """The request timed out: connect, read, write or pool, or the client's overall deadline
    (connect + send + the whole answer) ran out, e.g. for a body dripped one byte at a time."""

    code = "timeout"
    kind = "timeout"


class ConnectError(TransportError):
    """The server could not be reached (refused, DNS, unreachable)."""

    code = "connect_error"
    kind = "connect"


class TLSError(TransportError):
    """The TLS handshake or certificate verification failed."""

    code = "tls_error"
    kind = "tls"

    @property
    def retryable(self) -> bool:
        return False


class InsecureURLError(ValueError):
    """The base URL would send the API key in clear text (plain `http://` to a host that is
    not loopback). Raised when a client is constructed; `allow_insecure_http=True` allows it.

    `host` is the host named by the URL (as the person typed it, for the message).
    """

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Refusing to send the API key over plain http:// to {one_line(host, 100)}: anyone on the network "
            "could read it. Use https://, or allow it explicitly for this profile "
            "(allow_insecure_http = true; allow_insecure_http=True for a client)."
        )
        self.host = host


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: InvalidKeyError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}

_BY_CODE: dict[str, type[APIError]] = {cls.code: cls for cls in _BY_STATUS.values()}


def error_class(status: int, code: str | None) -> type[APIError]:
    """The error class for an HTTP status, falling back to the envelope's code."""
    cls = _BY_STATUS.get(status) or (_BY_CODE.get(code) if code else None)
    if cls is not None:
        return cls
    return ServerError if status >= 500 else APIError
