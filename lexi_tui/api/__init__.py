"""The API clients (Lexi, Chamelio): typed models, a typed error hierarchy, rate-limit state.

Both clients share one HTTP base (`lexi_tui.api._http`: key checks, transport, deadline and
size cap, retries, listeners, inert server text). Server text in models and errors is cleaned
once, here; ids are not: `Task.id` is exactly what the server sent, goes back unchanged, and
is shown only through `show_id` / `Task.display_id`. A list answer is a `TaskList` whose
`problems` say what could not be shown (duplicate ids, malformed tasks).

Names are imported on first use (PEP 562), so `lexi_tui.api.models`, `lexi_tui.api.errors`
or `lexi_tui.api.text` can be used without loading httpx: the commands and the start-up path
depend on that.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE: dict[str, str] = {
    "DEFAULT_BASE_URL": "lexi", "USER_AGENT": "lexi", "LexiClient": "lexi", "ResponseInfo": "lexi",
    "APIError": "errors", "ConflictError": "errors", "ConnectError": "errors", "InsecureURLError": "errors",
    "InsufficientCreditsError": "errors", "InvalidKeyError": "errors", "LexiError": "errors",
    "MalformedResponseError": "errors", "NotFoundError": "errors", "PermissionDeniedError": "errors",
    "RateLimitedError": "errors", "RequestTimeoutError": "errors", "ServerError": "errors",
    "TLSError": "errors", "TransportError": "errors", "ValidationError": "errors",
    "DISMISS_REASONS": "models", "ApproveResult": "models", "ChatReply": "models",
    "DismissResult": "models", "Task": "models", "TaskList": "models", "TaskStatus": "models",
    "TaskType": "models", "RateLimit": "ratelimit", "show_id": "text",
}

__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from lexi_tui.api.errors import (
        APIError,
        ConflictError,
        ConnectError,
        InsecureURLError,
        InsufficientCreditsError,
        InvalidKeyError,
        LexiError,
        MalformedResponseError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitedError,
        RequestTimeoutError,
        ServerError,
        TLSError,
        TransportError,
        ValidationError,
    )
    from lexi_tui.api.lexi import DEFAULT_BASE_URL, USER_AGENT, LexiClient, ResponseInfo
    from lexi_tui.api.models import (
        DISMISS_REASONS,
        ApproveResult,
        ChatReply,
        DismissResult,
        Task,
        TaskList,
        TaskStatus,
        TaskType,
    )
    from lexi_tui.api.ratelimit import RateLimit
    from lexi_tui.api.text import show_id


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lexi_tui.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lexi_tui.api.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
