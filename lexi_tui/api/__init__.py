"""The Lexi API client: typed models, a typed error hierarchy, rate-limit state."""

from lexi_tui.api.client import DEFAULT_BASE_URL, USER_AGENT, LexiClient, ResponseInfo
from lexi_tui.api.errors import (
    APIError,
    ConflictError,
    ConnectError,
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
from lexi_tui.api.models import (
    DISMISS_REASONS,
    ApproveResult,
    ChatReply,
    DismissResult,
    Task,
    TaskStatus,
    TaskType,
)
from lexi_tui.api.ratelimit import RateLimit

__all__ = [
    "DEFAULT_BASE_URL", "USER_AGENT", "LexiClient", "ResponseInfo",
    "APIError", "ConflictError", "ConnectError", "InsufficientCreditsError", "InvalidKeyError", "LexiError",
    "MalformedResponseError", "NotFoundError", "PermissionDeniedError", "RateLimitedError",
    "RequestTimeoutError", "ServerError", "TLSError", "TransportError", "ValidationError",
    "DISMISS_REASONS", "ApproveResult", "ChatReply", "DismissResult", "Task", "TaskStatus",
    "TaskType", "RateLimit",
]
