"""What the client tells its listeners about each request: `ResponseInfo`.

Its own module, free of httpx: a `ResponseInfo` crosses from the process that fetched the first
list to the app (`providers.first_fetch`), and reading it there must not import the HTTP stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lexi_tui.api.ratelimit import RateLimit


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """One request, as a support log (`--debug`) or a status display needs it.

    Listeners get exactly one per request sent, whether it succeeded, failed with an HTTP
    error or never got an answer. Nothing in it is the key or a body, and every text in it is
    cleaned and capped (server text is inert).

    Attributes:
        method: "GET" or "POST".
        path: the path relative to the base URL with the query string, as sent
            (percent-encoded), e.g. "/v1/lexi/tasks?status=pending".
        status: the HTTP status when an answer arrived (also when its body then failed to
            arrive whole, see `failure_kind`); None when there was no answer at all.
        request_id: `X-Request-ID` (cleaned, at most 120 characters), or None.
        rate_limit: the budget parsed from the `X-RateLimit-*` headers, or None.
        elapsed: seconds from sending to the end (whole body read, or failure).
        rate_headers: the raw values of `X-RateLimit-Limit`, `-Remaining`, `-Reset` and
            `Retry-After` as sent (cleaned, at most 64 characters each), by lower-case name;
            only those present.
        error_code: the error code from the answer's envelope (Lexi's `error.code`), when
            there is one; Chamelio's `{"detail": ...}` has none.
        failure_kind: for a request that got no (whole) answer: "timeout", "connect",
            "dropped" or "tls"; "cancelled" when the caller cancelled it (the app closing);
            else None.
        error: the `code` of the `LexiError` the request raised ("validation_error",
            "rate_limited", "malformed_response", "timeout", ...), "cancelled" as above; None
            when it succeeded.
    """

    method: str
    path: str
    status: int | None
    request_id: str | None
    rate_limit: RateLimit | None
    elapsed: float
    rate_headers: Mapping[str, str] = field(default_factory=dict, compare=False)
    error_code: str | None = None
    failure_kind: str | None = None
    error: str | None = None


ResponseListener = Callable[[ResponseInfo], None]
