"""The vendor's response envelopes: `{"data": ...}` and `{"error": {code, message, details?}}`.

Shared by route handlers (Starlette responses) and the gateway middleware (raw ASGI sends),
so both produce byte-identical envelopes.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .records import loads_strict

ASGIHeaders = list[tuple[bytes, bytes]]


class ApiError(Exception):
    """Raised by handlers; rendered as the error envelope with this status."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON, like the production gateway."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def error_body(code: str, message: str, details: Any = None) -> bytes:
    """Error envelope bytes; `details` only when there is something to say."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return encode({"error": error})


def data_response(data: Any, status: int = 200) -> Response:
    """A success envelope."""
    return Response(encode({"data": data}), status_code=status, media_type="application/json")


def error_response(error: ApiError) -> Response:
    """An error envelope for an ApiError."""
    return Response(error_body(error.code, error.message, error.details), status_code=error.status,
                    media_type="application/json")


async def send_raw(send: Any, status: int, body: bytes, content_type: bytes = b"application/json",
                   headers: ASGIHeaders | None = None) -> None:
    """Send a complete response from middleware, below Starlette."""
    all_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    all_headers.extend(headers or [])
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def validation_error(message: str, details: Any = None) -> ApiError:
    """400 validation_error, the vendor's code for every bad-input case."""
    return ApiError(400, "validation_error", message, details)


async def read_json_body(request: Request) -> Any:
    """The decoded body, None when empty; 400 "Request body must be valid JSON" otherwise.

    Clients (including the vendor's own curl example) send `Content-Type: application/json`
    with no body for approve, so emptiness is fine; the content type is not checked.
    """
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return loads_strict(raw)
    except (ValueError, RecursionError):
        raise validation_error("Request body must be valid JSON") from None
