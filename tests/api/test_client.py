"""The Lexi client against the local service over real loopback HTTP.

What the service cannot produce on purpose (hostile bytes, malformed bodies, drips, drops)
is in `test_hostile.py`, against `tests.support.hostile_server`.
"""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from lexi_tui.api import (
    ConnectError,
    InsufficientCreditsError,
    InvalidKeyError,
    LexiClient,
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
from lexi_tui.api.lexi import ResponseInfo
from lexi_tui.api.text import show_id
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
        assert reply.queued_task and not reply.done_at_once
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


async def test_chat_sends_the_conversation_inside_context_with_the_other_fields(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        first = await client.chat("hello", context={"list_id": "list-7"})
        second = await client.chat("Can you make the email more casual?", conversation_id=first.conversation_id,
                                   context={"campaign_id": "camp-1"})
        with pytest.raises(ValueError, match="two different conversation ids"):
            await client.chat("x", conversation_id=first.conversation_id, context={"conversation_id": "conv_other"})
    assert second.conversation_id == first.conversation_id
    stored = httpx.get(f"{service.root_url}/_admin/conversations/{first.conversation_id}").json()["data"]
    contexts = [m["context"] for m in stored["messages"] if m["role"] == "user"]
    assert contexts == [{"list_id": "list-7"}, {"campaign_id": "camp-1", "conversation_id": first.conversation_id}]


async def test_chat_work_done_at_once_is_not_a_queued_task(service) -> None:
    async with LexiClient(KEY, service.base_url) as client:
        before = {t.id for t in await client.list_tasks()}
        reply = await client.chat("Tag jane@acme.com as VIP")
        after = {t.id for t in await client.list_tasks()}
    assert reply.done_at_once and not reply.queued_task
    assert reply.task_id is None and not reply.requires_approval and reply.response
    assert after == before  # nothing was queued for approval


async def test_chat_errors_as_documented() -> None:
    options = ServerOptions(keys=(KEY,), keys_without_lexi=(NO_LEXI,), credits=0, admin=True)
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url) as client:
            with pytest.raises(InsufficientCreditsError) as broke:
                await client.chat("hello")
            with pytest.raises(ValidationError) as empty:
                await client.chat("")
        async with LexiClient(NO_LEXI, server.base_url) as client:
            with pytest.raises(PermissionDeniedError) as denied:
                await client.chat("hello")
    assert (broke.value.status, broke.value.code, broke.value.message) == (
        402, "insufficient_credits", "No Lexi credits remaining")
    assert (empty.value.status, empty.value.message) == (400, "Missing message parameter")
    assert (denied.value.status, denied.value.message) == (403, "Missing lexi permission")


async def test_rate_limit_headers_and_429_without_retry_after() -> None:
    """The vendor documents no Retry-After: a 429 then says nothing about how long to wait,
    and the daily reset in the headers is never passed off as the wait."""
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
    assert error.retry_after is None
    assert error.rate_limit is not None and error.rate_limit.remaining == 0
    assert 0 < error.rate_limit.seconds_until_reset() <= 61


async def test_429_with_retry_after_says_how_long() -> None:
    options = ServerOptions(keys=(KEY,), seed_tasks=3, rate_limit=1, rate_window=60, retry_after=True)
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url) as client:
            await client.list_tasks()
            with pytest.raises(RateLimitedError) as limited:
                await client.list_tasks()
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 60


async def test_a_minute_429_under_daily_headers_never_waits_until_midnight() -> None:
    """Daily quota in the headers (Reset = next midnight UTC), a per-minute limit refusing:
    the error's wait is unknown, not the hours until midnight, and the day still has calls."""
    options = ServerOptions(keys=(KEY,), seed_tasks=3, daily_limit=100, rate_limit=2, rate_headers="daily")
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url, read_retries=3) as client:
            await client.list_tasks()
            await client.list_tasks()
            with pytest.raises(RateLimitedError) as limited:
                await client.list_tasks()
    error = limited.value
    assert error.retry_after is None
    assert error.rate_limit is not None and error.rate_limit.limit == 100 and error.rate_limit.remaining == 98
    midnight = error.rate_limit.reset_at
    assert midnight is not None and midnight % 86_400 == 0


async def test_listeners_get_one_response_info_per_request(service) -> None:
    seen: list[ResponseInfo] = []
    async with LexiClient(KEY, service.base_url) as client:
        client.add_listener(seen.append)
        await client.list_tasks()
        with pytest.raises(NotFoundError):
            await client.approve("no/such task")
    listed, refused = seen
    assert (listed.method, listed.path, listed.status) == ("GET", "/v1/lexi/tasks?status=pending", 200)
    assert listed.request_id and listed.request_id.startswith("req_") and listed.elapsed > 0
    assert (listed.error, listed.error_code, listed.failure_kind) == (None, None, None)
    assert (refused.method, refused.path, refused.status) == ("POST", "/v1/lexi/tasks/no%2Fsuch%20task/approve", 404)
    assert (refused.error, refused.error_code) == ("not_found", "not_found")
    for info in seen:
        assert KEY not in repr(info)


async def test_ids_go_back_byte_for_byte_and_look_different() -> None:
    """Issue 13: an id holding ESC used to be cleaned into the id of another task (ESC shows
    as the picture U+241B), and the approval went to that other task."""
    twins = [
        {"id": "t\x1b[1", "type": "list_operation", "description": "holds ESC"},
        {"id": "t\u241b[1", "type": "list_operation", "description": "holds the picture of ESC"},
        {"id": "t\u200b1", "type": "list_operation", "description": "holds a zero-width space"},
        {"id": "t1", "type": "list_operation", "description": "plain"},
        {"id": "a/b?c#d%2F..", "type": "list_operation", "description": "URL characters"},
    ]
    options = ServerOptions(keys=(KEY,), tasks=tuple(twins), exec_delay=0.0, failure_rate=0.0, admin=True)
    with start_server(options) as server:
        async with LexiClient(KEY, server.base_url) as client:
            listed = await client.list_tasks()
            assert sorted(t.id for t in listed) == sorted(t["id"] for t in twins) and listed.problems == ()
            shown = {t.display_id for t in listed}
            assert len(shown) == len(twins) and "t\\x1b[1" in shown and "t\\u200b1" in shown
            assert all(t.display_id == show_id(t.id) for t in listed)
            await client.approve("t\x1b[1")
            await client.dismiss("a/b?c#d%2F..")
            pending = {t.id for t in await client.list_tasks()}
    assert pending == {"t\u241b[1", "t\u200b1", "t1"}


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


def test_the_key_never_appears_in_repr() -> None:
    client = LexiClient(KEY, "https://lexi.invalid")
    assert KEY not in repr(client)
    assert repr(client).endswith("'wbk_…1a2b')")
    with pytest.raises(ValueError) as bad:
        LexiClient("wbk_secret\nInjected: header", "https://lexi.invalid")
    assert "secret" not in str(bad.value)
