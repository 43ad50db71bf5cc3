"""The API client against the local service over real loopback HTTP.

A mock transport appears only for what the service cannot produce on purpose (a 402,
an empty or truncated body, a request to inspect).
"""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from lexi_tui import __version__
from lexi_tui.api import (
    ConnectError,
    InsufficientCreditsError,
    InvalidKeyError,
    LexiClient,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TaskStatus,
    TaskType,
    TransportError,
    ValidationError,
)
from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import start_server

KEY = "wbk_test_0123456789abcdef1a2b"
NO_LEXI = "wbk_nolexi_0123456789abcdef"

TASKS = [
    {"id": "t-pending-1", "type": "prospect_search", "description": "Search for 20 CEOs", "created_at": "2026-02-24T16:00:00Z",
     "metadata": {"query": {"person_titles": ["CEO"]}, "per_page": 20, "simulate": "complete"}},
    {"id": "t-pending-2", "type": "campaign_start", "description": "Start campaign", "metadata": {"contact_count": 150, "simulate": "fail"}},
    {"id": "t-pending-3", "type": "list_operation", "description": "Create a list", "metadata": {}},
    {"id": "t-odd", "type": "crm_merge\u001b]2;owned\u0007", "status": "pending", "description": "Odd \u001b[31mred\u001b[0m", "metadata": [1, {"a": None}]},
]


@pytest.fixture
def service():
    options = ServerOptions(keys=(KEY,), keys_without_lexi=(NO_LEXI,), tasks=tuple(TASKS), exec_delay=0.0, failure_rate=0.0, admin=True)
    with start_server(options) as server:
        yield server


async def test_list_tasks_for_every_status(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        pending = await client.list_tasks()
        assert {t.id for t in pending} == {"t-pending-1", "t-pending-2", "t-pending-3", "t-odd"}
        first = next(t for t in pending if t.id == "t-pending-1")
        assert first.type is TaskType.PROSPECT_SEARCH
        assert first.status is TaskStatus.PENDING
        assert first.metadata["query"]["person_titles"] == ["CEO"]
        assert first.created_at is not None and first.created_at.year == 2026
        for status in ("approved", "dismissed", "completed", "failed"):
            assert await client.list_tasks(status) == []


async def test_unknown_types_are_kept_and_server_text_is_inert(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        odd = next(t for t in await client.list_tasks() if t.id == "t-odd")
    assert not odd.type.is_known
    assert "\x1b" not in odd.type and "\x07" not in odd.type
    assert "\x1b" not in odd.description and "red" in odd.description
    assert odd.raw["type"].startswith("crm_merge\x1b")  # raw keeps exactly what came.
    assert odd.metadata == [1, {"a": None}]


async def test_approve_lifecycle_to_completed_and_failed(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        result = await client.approve("t-pending-1")
        assert (result.task_id, result.status, result.execution_started) == ("t-pending-1", "approved", True)
        await client.approve("t-pending-2")
        await asyncio.sleep(0.05)
        completed = {t.id: t for t in await client.list_tasks("completed")}
        failed = {t.id: t for t in await client.list_tasks("failed")}
    assert "result" in completed["t-pending-1"].metadata
    assert failed["t-pending-2"].metadata["error"]["message"]


async def test_documented_validation_errors(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        await client.approve("t-pending-1")
        with pytest.raises(ValidationError) as approved_twice:
            await client.approve("t-pending-1")
        assert approved_twice.value.message == "Task has already been approved"
        assert approved_twice.value.status == 400 and approved_twice.value.code == "validation_error"
        assert approved_twice.value.request_id and approved_twice.value.request_id.startswith("req_")

        dismissed = await client.dismiss("t-pending-3", "not_relevant")
        assert (dismissed.task_id, dismissed.status) == ("t-pending-3", "dismissed")
        with pytest.raises(ValidationError, match="Task has already been dismissed"):
            await client.dismiss("t-pending-3")
        with pytest.raises(ValidationError, match="Task has already been dismissed"):
            await client.approve("t-pending-3")
        with pytest.raises(NotFoundError) as missing:
            await client.approve("no-such-task")
        assert missing.value.status == 404
        with pytest.raises(ValidationError) as bad_status:
            await client.list_tasks("archived")
        assert "archived" in bad_status.value.message


async def test_dismiss_reason_is_recorded_by_the_service(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        await client.dismiss("t-pending-2", "incorrect_params")
    record = httpx.get(f"{service.root_url}/_admin/tasks/t-pending-2").json()["data"]
    assert record["status"] == "dismissed"
    assert record["reason"] == "incorrect_params"


async def test_invalid_key_and_missing_permission(service) -> None:
    async with LexiClient("wbk_wrong_key_000000000000", service.base_url) as client:
        with pytest.raises(InvalidKeyError) as refused:
            await client.list_tasks()
    assert refused.value.status == 401 and refused.value.code == "invalid_key"
    async with LexiClient(NO_LEXI, service.base_url) as client:
        with pytest.raises(PermissionDeniedError) as denied:
            await client.list_tasks()
    assert denied.value.status == 403


async def test_chat_creates_a_task_with_the_documented_query_shape(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        reply = await client.chat("Find 50 CEOs at law firms in California")
        assert reply.requires_approval and reply.task_id and reply.conversation_id
        assert reply.response
        task = next(t for t in await client.list_tasks() if t.id == reply.task_id)
        assert task.type is TaskType.PROSPECT_SEARCH
        assert task.metadata["query"]["person_titles"] == ["CEO"]
        assert task.metadata["query"]["organization_industries"] == ["Legal"]
        assert task.metadata["query"]["person_locations"] == ["California"]
        assert task.metadata["per_page"] == 50
        follow_up = await client.chat("hello", conversation_id=reply.conversation_id)
    assert follow_up.conversation_id == reply.conversation_id
    assert follow_up.task_id is None and not follow_up.requires_approval


async def test_rate_limit_headers_and_429() -> None:
    options = ServerOptions(keys=(KEY,), seed_tasks=3, rate_limit=3, rate_window=60)
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url) as client:
            remaining = []
            for _ in range(3):
                await client.list_tasks()
                assert client.rate_limit is not None and client.rate_limit.limit == 3
                remaining.append(client.rate_limit.remaining)
                assert client.last_request_id and client.last_request_id.startswith("req_")
            assert remaining == [2, 1, 0]
            with pytest.raises(RateLimitedError) as limited:
                await client.list_tasks()
    error = limited.value
    assert error.status == 429 and error.code == "rate_limited"
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    assert error.rate_limit is not None and error.rate_limit.remaining == 0
    assert 0 < error.rate_limit.seconds_until_reset() <= 61


async def test_gateway_errors_become_clear_errors() -> None:
    options = ServerOptions(keys=(KEY,), seed_tasks=3, error_rate=1.0)
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url, read_retries=0) as client:
            seen = set()
            for _ in range(4):
                with pytest.raises(ServerError) as failed:
                    await client.list_tasks()
                seen.add(failed.value.status)
                assert failed.value.request_id
                if failed.value.status == 502:
                    assert "HTML page" in failed.value.message
                assert failed.value.retryable
    assert 502 in seen


async def test_dropped_connection_is_a_transport_error_that_may_have_been_sent() -> None:
    options = ServerOptions(keys=(KEY,), seed_tasks=3, drop_rate=1.0)
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url, read_retries=0) as client:
            with pytest.raises(TransportError) as dropped:
                await client.approve("anything")
    assert dropped.value.sent and dropped.value.status is None


async def test_timeout_and_refused_connection() -> None:
    options = ServerOptions(keys=(KEY,), seed_tasks=1, latency_ms=(400, 400))
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url, timeout=0.1, read_retries=0) as client:
            with pytest.raises(RequestTimeoutError) as slow:
                await client.list_tasks()
    assert slow.value.sent
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with LexiClient(KEY, f"http://127.0.0.1:{port}", read_retries=0) as client:
        with pytest.raises(ConnectError) as refused:
            await client.list_tasks()
    assert not refused.value.sent and KEY not in str(refused.value)


async def test_concurrent_approvals_apply_once(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        results = await asyncio.gather(*(client.approve("t-pending-3") for _ in range(6)), return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert all(isinstance(r, ValidationError) for r in results if isinstance(r, Exception))


# -- what the service cannot produce: a mock transport -------------------------------


def _mock(handler) -> LexiClient:
    return LexiClient(KEY, "https://lexi.invalid/gw", transport=httpx.MockTransport(handler), read_retries=2)


async def test_headers_sent_and_hostile_ids_stay_one_path_segment() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"task_id": "x", "status": "approved", "execution_started": True}})

    async with _mock(handler) as client:
        await client.approve("../../v1/admin?x=1")
    request = seen[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith(f"lexi-tui/{__version__}")
    assert request.url.raw_path == b"/gw/v1/lexi/tasks/..%2F..%2Fv1%2Fadmin%3Fx%3D1/approve"


@pytest.mark.parametrize(
    ("status", "body", "expected", "words"),
    [
        (402, json.dumps({"error": {"code": "insufficient_credits", "message": "Not enough credits"}}), InsufficientCreditsError, "Not enough credits"),
        (200, "", MalformedResponseError, "empty body"),
        (200, '{"data": {"tasks": [', MalformedResponseError, "truncated JSON"),
        (200, '["not", "an", "envelope"]', MalformedResponseError, "unexpected shape"),
        (503, "", ServerError, "empty body"),
        (400, "<html>oops</html>", ValidationError, "HTML page"),
    ],
)
async def test_bodies_that_are_not_the_envelope(status, body, expected, words) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body.encode(), headers={"x-request-id": "req_abc"})

    async with LexiClient(KEY, "https://lexi.invalid/gw", transport=httpx.MockTransport(handler), read_retries=0) as client:
        with pytest.raises(expected) as raised:
            await client.list_tasks()
    assert raised.value.status == status
    assert raised.value.request_id == "req_abc"
    assert words in str(raised.value)
    assert KEY not in str(raised.value) and KEY not in repr(raised.value)


async def test_reads_are_retried_but_writes_are_not() -> None:
    calls = {"GET": 0, "POST": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.method] += 1
        if calls[request.method] == 1:
            return httpx.Response(502, content=b"<html>Bad Gateway</html>")
        return httpx.Response(200, json={"data": {"tasks": [], "task_id": "t", "status": "approved"}})

    async with _mock(handler) as client:
        assert await client.list_tasks() == []
        with pytest.raises(ServerError):
            await client.approve("t")
    assert calls == {"GET": 2, "POST": 1}


def test_the_key_never_appears_in_repr() -> None:
    client = LexiClient(KEY, "https://lexi.invalid")
    assert KEY not in repr(client)
    assert repr(client).endswith("'wbk_…1a2b')")
    with pytest.raises(ValueError) as bad:
        LexiClient("wbk_secret\nInjected: header", "https://lexi.invalid")
    assert "secret" not in str(bad.value)
