"""Both clients against a hostile server on loopback: what the local service cannot produce.

Every byte from the server is inert (reason phrases, request ids, envelopes, rate-limit
headers); numeric headers take any value; a dripped body meets the deadline; a huge body
meets the size cap; a dropped connection is an ambiguous failure; one malformed task never
hides the list; the request goes out as meant (key header, one path segment per id).
"""

from __future__ import annotations

import asyncio
import json
import time
import unicodedata
from datetime import datetime

import pytest

from lexi_tui import __version__
from lexi_tui.api import (
    InvalidKeyError,
    LexiClient,
    LexiError,
    MalformedResponseError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    ValidationError,
)
from lexi_tui.api.chamelio import ChamelioClient
from lexi_tui.api.lexi import ResponseInfo
from tests.support.hostile_server import HostileServer, Reply

KEY = "wbk_test_0123456789abcdef1a2b"
CA_KEY = "ca_test_hostile_00000000000a1b2"

ESC = "\x1b[31m"
OSC52 = "\x1b]52;c;aGVsbG8=\x07"
OSC2 = "\x1b]2;owned\x07"
BEL = "\x07"
C1 = "\x9b31m\x9d0;x\x9c"  # 8-bit CSI, OSC and ST
HOSTILE = ESC + OSC52 + OSC2 + BEL + C1 + "\u202e\u200b"


def inert(text: object) -> bool:
    """No character a terminal would act on or hide: no controls, format chars, surrogates."""
    return all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs") for ch in str(text))


def lexi(server: HostileServer, **options) -> LexiClient:
    options.setdefault("read_retries", 0)
    return LexiClient(KEY, server.url, **options)


def chamelio(server: HostileServer, **options) -> ChamelioClient:
    options.setdefault("read_retries", 0)
    return ChamelioClient(CA_KEY, server.url, **options)


def all_text(error: LexiError, infos: list[ResponseInfo]) -> list[object]:
    texts: list[object] = [error.message, str(error), repr(error), error.code, error.request_id]
    for info in infos:
        texts += [info.path, info.request_id, info.error_code, info.error, *info.rate_headers.values()]
    return texts


HOSTILE_HEADERS = [
    ("X-Request-ID", "req_" + HOSTILE),
    ("X-Request-ID", b"req_\x1b]2;raw-bytes\x07\x9b"),  # repeated, with a raw C1 byte (decoded Latin-1)
    ("X-RateLimit-Limit", "10" + ESC),
    ("X-RateLimit-Remaining", OSC52),
    ("X-RateLimit-Reset", OSC2),
    ("Retry-After", "5" + BEL),
    ("Content-Type", "text/plain" + OSC2),
]


def test_the_hostile_server_sends_what_it_is_told() -> None:
    """What the tests below rely on: the bytes arrive as scripted (checked with plain httpx)."""
    import httpx

    replies = [Reply(reason=b"Nope \x1b]2;owned\x07", headers=HOSTILE_HEADERS, body=b"abc"),
               Reply(body=b"chunked body", chunked=True),
               Reply(body=b"0123456789", drop_after=4)]
    with HostileServer(replies) as server, httpx.Client(base_url=server.url) as plain:
        first = plain.get("/a?b=1")
        assert first.reason_phrase == "Nope \x1b]2;owned\x07" and first.text == "abc"
        # httpx decodes all header values Latin-1 once one of them is not UTF-8: compare bytes.
        assert [value.encode("latin-1") for value in first.headers.get_list("x-request-id")] == [
            ("req_" + HOSTILE).encode(), b"req_\x1b]2;raw-bytes\x07\x9b"]
        second = plain.get("/b")
        assert second.text == "chunked body" and second.headers["transfer-encoding"] == "chunked"
        with pytest.raises(httpx.RemoteProtocolError):
            plain.get("/c")
    assert [r.target for r in server.requests] == ["/a?b=1", "/b", "/c"]
    assert server.stats.body_bytes_sent == 3 + 12 + 4 and server.stats.errors == []


@pytest.mark.parametrize("body", [
    b"",
    json.dumps({"error": {"code": "rate" + ESC, "message": "Denied " + HOSTILE, "details": {"x": OSC2}}}).encode(),
    json.dumps({"detail": "Denied " + HOSTILE}).encode(),
    json.dumps({"detail": [{"loc": ["body", OSC2], "msg": HOSTILE, "type": "x"}]}).encode(),
    b"<html>" + HOSTILE.encode() + b"</html>",
])
@pytest.mark.parametrize("status", [400, 422, 429, 500])
@pytest.mark.parametrize("make", [lexi, chamelio])
async def test_escape_sequences_never_reach_a_message_or_a_response_info(make, status, body) -> None:
    reply = Reply(status=status, reason=b"Nope \x1b]2;owned\x07 \x1b[2J", headers=HOSTILE_HEADERS, body=body,
                  content_length="auto")
    infos: list[ResponseInfo] = []
    with HostileServer(reply) as server:
        async with make(server) as client:
            client.add_listener(infos.append)
            call = client.list_tasks() if isinstance(client, LexiClient) else client.get_task(1)
            with pytest.raises(LexiError) as raised:
                await call
            assert inert(client.last_request_id)
    error = raised.value
    assert error.status == status and len(infos) == 1
    for text in all_text(error, infos):
        assert inert(text), repr(text)
    assert "\u241b" in str(error)  # the server's text is shown made visible (␛), not dropped
    if isinstance(error, RateLimitedError):
        assert error.retry_after is None  # "5\x07" is not a number of seconds


@pytest.mark.parametrize("make", [lexi, chamelio])
async def test_a_successful_answer_with_hostile_headers_is_inert_too(make) -> None:
    body = {"data": {"tasks": []}} if make is lexi else {"task": {"task_id": 1, "task_title": "t"}}
    infos: list[ResponseInfo] = []
    with HostileServer(Reply.json(body, headers=HOSTILE_HEADERS)) as server:
        async with make(server) as client:
            client.add_listener(infos.append)
            await (client.list_tasks() if make is lexi else client.get_task(1))
            assert inert(client.last_request_id) and client.last_request_id.startswith("req_")
            assert client.rate_limit is None  # none of those values is a number
    (info,) = infos
    assert info.status == 200 and info.error is None
    assert set(info.rate_headers) == {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"}
    assert all(inert(value) and len(value) <= 64 for value in info.rate_headers.values())
    assert inert(info.request_id) and len(info.request_id) <= 120


ABSURD = ["1e400", str(10**30), "inf", "-inf", "NaN", "-5", "garbage", "", "  ", "5, 6", "0x10", "1_000",
          "9" * 5000, "12.5", "Wed, 21 Oct 2015 07:28:00 GMT"]


@pytest.mark.parametrize("value", ABSURD)
async def test_numeric_headers_take_any_value_without_raising(value) -> None:
    headers = [("X-RateLimit-Limit", value), ("X-RateLimit-Remaining", value), ("X-RateLimit-Reset", value),
               ("Retry-After", value)]
    now = time.time()
    with HostileServer([Reply.json({"data": {"tasks": []}}, headers=headers),
                        Reply.json({"error": {"code": "rate_limited", "message": "Rate limit exceeded"}},
                                   status=429, headers=headers)]) as server:
        async with lexi(server) as client:
            assert await client.list_tasks() == []
            with pytest.raises(RateLimitedError) as limited:
                await client.list_tasks()
    rate = limited.value.rate_limit
    if rate is not None:
        assert rate.limit is None or 0 <= rate.limit <= 10**9
        assert rate.remaining is None or 0 <= rate.remaining <= 10**9
        if rate.reset_at is not None:
            assert now - 86_400 - 5 <= rate.reset_at <= now + 8 * 86_400 + 5
            datetime.fromtimestamp(rate.reset_at)  # what the status bar does with it
    wait = limited.value.retry_after
    assert wait is None or 0 <= wait <= 86_400


async def test_repeated_equal_headers_count_once_and_unequal_ones_not_at_all() -> None:
    headers = [("X-RateLimit-Limit", "100"), ("X-RateLimit-Limit", "100"),
               ("X-RateLimit-Remaining", "7"), ("X-RateLimit-Remaining", "9")]
    with HostileServer(Reply.json({"data": {"tasks": []}}, headers=headers)) as server:
        async with lexi(server) as client:
            await client.list_tasks()
    assert client.rate_limit is not None
    assert (client.rate_limit.limit, client.rate_limit.remaining) == (100, None)


@pytest.mark.parametrize(("header", "details", "expected"), [
    ("120", None, 120.0),
    (None, {"retry_after": 7}, 7.0),
    ("3", {"retry_after": 7}, 3.0),  # the header wins
    (str(10**30), None, 86_400.0),  # clamped to a day
    (None, {"retry_after": -4}, 0.0),
    (None, {"retry_after": True}, None),
    (None, None, None),  # no fallback to X-RateLimit-Reset below, which is hours away
])
async def test_retry_after_only_from_the_header_or_the_envelope(header, details, expected) -> None:
    headers = [("X-RateLimit-Limit", "1000"), ("X-RateLimit-Remaining", "0"),
               ("X-RateLimit-Reset", str(int(time.time()) + 5 * 3600))]
    if header is not None:
        headers.append(("Retry-After", header))
    envelope: dict = {"code": "rate_limited", "message": "Rate limit exceeded"}
    if details is not None:
        envelope["details"] = details
    with HostileServer(Reply.json({"error": envelope}, status=429, headers=headers)) as server:
        async with lexi(server) as client:
            with pytest.raises(RateLimitedError) as limited:
                await client.list_tasks()
    assert limited.value.retry_after == expected
    assert limited.value.rate_limit.seconds_until_reset() > 4 * 3600  # still there, separately


# -- time and size -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lexi, chamelio])
async def test_a_body_dripped_one_byte_at_a_time_meets_the_deadline(make) -> None:
    """200 s of body at one byte per 0.2 s; the per-read timeout never fires (a byte keeps
    arriving), so only the overall deadline can end it."""
    infos: list[ResponseInfo] = []
    drip = Reply(headers=[("Content-Type", "application/json")], body=b" " * 1000, drip=0.2)
    with HostileServer(drip) as server:
        async with make(server, deadline=1.0, read_retries=3) as client:
            client.add_listener(infos.append)
            started = time.monotonic()
            with pytest.raises(RequestTimeoutError) as slow:
                await (client.approve("t-1") if make is lexi else client.approve(1))
            elapsed = time.monotonic() - started
    assert slow.value.sent and slow.value.status is None and slow.value.retryable
    assert "within 1 s" in str(slow.value)
    assert elapsed < 20  # not the 200 s the body would take
    (info,) = infos  # a write: sent once
    assert (info.status, info.failure_kind, info.error) == (200, "timeout", "timeout")


async def test_a_read_that_met_the_deadline_is_not_retried_past_it() -> None:
    with HostileServer(Reply(hang=True)) as server:
        async with lexi(server, deadline=0.5, read_retries=5) as client:
            with pytest.raises(RequestTimeoutError) as slow:
                await client.list_tasks()
    assert slow.value.sent
    assert len(server.requests) == 1


async def test_an_answer_that_never_comes_is_a_timeout_that_may_have_been_sent() -> None:
    infos: list[ResponseInfo] = []
    with HostileServer(Reply(hang=True)) as server:
        async with lexi(server, deadline=0.5) as client:
            client.add_listener(infos.append)
            with pytest.raises(RequestTimeoutError) as slow:
                await client.dismiss("t-1", "testing")
    assert slow.value.sent
    assert server.requests[0].json() == {"reason": "testing"}  # it did go out
    assert (infos[0].status, infos[0].failure_kind) == (None, "timeout")


async def test_a_cancelled_request_is_reported_as_cancelled() -> None:
    infos: list[ResponseInfo] = []
    with HostileServer(Reply(hang=True)) as server:
        async with lexi(server) as client:
            client.add_listener(infos.append)
            pending = asyncio.ensure_future(client.approve("t-1"))
            while not server.requests:
                await asyncio.sleep(0.01)
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
    (info,) = infos
    assert (info.status, info.failure_kind, info.error) == (None, "cancelled", "cancelled")


@pytest.mark.parametrize("reply", [
    Reply.endless(),  # chunked, no length: counted while reading
    Reply.endless(chunked=False, content_length=None),  # until the connection closes
    Reply(body=b"x" * 10, content_length=10**12),  # a declared length over the cap: not even read
], ids=["chunked", "close-delimited", "declared"])
async def test_a_body_over_the_size_cap_is_refused_without_buffering_it(reply) -> None:
    cap = 1024 * 1024
    with HostileServer(reply) as server:
        async with lexi(server, max_body=cap) as client:
            with pytest.raises(MalformedResponseError) as big:
                await client.list_tasks()
    assert "the answer was too large" in str(big.value) and "1 MiB" in str(big.value)
    assert big.value.status == 200 and not big.value.retryable
    assert server.stats.body_bytes_sent < 64 * cap  # the endless body stopped soon after the cap


async def test_a_gzip_bomb_is_refused_by_its_decoded_size() -> None:
    with HostileServer(Reply.gzip_bomb(8 * 1024 * 1024)) as server:
        async with lexi(server, max_body=1024 * 1024) as client:
            with pytest.raises(MalformedResponseError, match="too large"):
                await client.list_tasks()


async def test_a_connection_dropped_mid_body_is_ambiguous() -> None:
    infos: list[ResponseInfo] = []
    body = json.dumps({"data": {"task_id": "t-1", "status": "approved"}}).encode()
    with HostileServer(Reply(body=body, drop_after=10)) as server:
        async with lexi(server) as client:
            client.add_listener(infos.append)
            with pytest.raises(TransportError) as dropped:
                await client.approve("t-1")
    assert dropped.value.sent and "middle of the answer" in str(dropped.value)
    assert (infos[0].status, infos[0].failure_kind) == (200, "dropped")


async def test_a_connection_dropped_before_any_answer() -> None:
    with HostileServer(Reply(raw=b"", close=True)) as server:
        async with lexi(server) as client:
            with pytest.raises(TransportError) as dropped:
                await client.approve("t-1")
    assert dropped.value.sent and dropped.value.kind == "dropped"


# -- the list: one bad task never hides the rest -------------------------------------------------


def good(n: int) -> dict:
    return {"id": f"t-{n}", "type": "prospect_search", "status": "pending", "description": f"Task {n}",
            "created_at": "2026-02-24T16:00:00Z", "metadata": {"n": n}}


async def test_malformed_tasks_are_skipped_and_said_and_the_rest_is_shown() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    items = [
        json.dumps(good(1)),
        json.dumps(good(1) | {"description": "second t-1"}),
        json.dumps(good(1) | {"description": "third t-1"}),
        json.dumps(good(2) | {"id": ""}),
        json.dumps({k: v for k, v in good(3).items() if k != "id"}),
        json.dumps(good(4) | {"id": 4}),
        '"just a string"',
        '{"id": "t-5", "description": "lone \\ud800 surrogate"}',
        '{"id": "t-6", "metadata": ' + deep + "}",
        '{"id": "t-9", "metadata": {"count": 1' + "0" * 5000 + "}}",
        json.dumps(good(7)),
        json.dumps(good(8)),
    ]
    body = ('{"data": {"tasks": [' + ", ".join(items) + "]}}").encode()
    with HostileServer(Reply(headers=[("Content-Type", "application/json")], body=body)) as server:
        async with lexi(server) as client:
            tasks = await client.list_tasks()
    assert [t.id for t in tasks] == ["t-1", "t-7", "t-8"]
    assert tasks[0].description == "Task 1"  # the first of the duplicates
    assert tasks.problems == (
        "The server sent 3 tasks with id t-1; only the first is shown.",
        "2 tasks without an id were skipped.",
        "1 task whose id is not a string was skipped.",
        "1 entry of the list was not a task object and was skipped.",
        "1 task with text that is not valid Unicode was skipped (id t-5).",
        "1 task nested too deeply to read was skipped.",
        "1 task holding a number too long to read was skipped.",
    )


async def test_bytes_that_are_not_utf8_skip_only_their_task() -> None:
    body = b'{"data": {"tasks": [' + json.dumps(good(1)).encode() + b', {"id": "t-\xff\xfe", "type": "x"}, ' \
        + json.dumps(good(2)).encode() + b"]}}"
    with HostileServer(Reply(body=body)) as server:
        async with lexi(server) as client:
            tasks = await client.list_tasks()
    assert [t.id for t in tasks] == ["t-1", "t-2"]
    assert tasks.problems == ("1 task with text that is not valid Unicode was skipped (id t-\\udcff\\udcfe).",)


async def test_ten_thousand_tasks_with_one_too_deep_keep_the_other_ten_thousand() -> None:
    tasks = [good(n) for n in range(10_000)]
    head = json.dumps({"data": {"tasks": tasks[:5000]}})[:-3]
    tail = json.dumps(tasks[5000:])[1:]
    deep = '{"id": "deep", "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    body = f"{head}, {deep}, {tail}}}}}"
    with HostileServer(Reply(body=body.encode())) as server:
        async with lexi(server) as client:
            listed = await client.list_tasks()
    assert len(listed) == 10_000 and listed[0].id == "t-0" and listed[-1].id == "t-9999"
    assert listed.problems == ("1 task nested too deeply to read was skipped.",)


@pytest.mark.parametrize(("status", "body", "expected", "words"), [
    (402, json.dumps({"error": {"code": "insufficient_credits", "message": "Not enough credits"}}),
     "InsufficientCreditsError", "Not enough credits"),
    (200, "", "MalformedResponseError", "empty body"),
    (200, '{"data": {"tasks": [', "MalformedResponseError", "truncated JSON"),
    (200, '["not", "an", "envelope"]', "MalformedResponseError", "unexpected shape"),
    (200, '{"data": {"no_tasks": []}}', "MalformedResponseError", "no tasks array"),
    (503, "", "ServerError", "empty body"),
    (400, "<html>oops</html>", "ValidationError", "HTML page"),
    (200, "not json at all", "MalformedResponseError", "sent as text/plain"),
])
async def test_bodies_that_are_not_the_envelope(status, body, expected, words) -> None:
    content_type = "text/plain" if body == "not json at all" else "application/json"
    reply = Reply(status=status, body=body, headers=[("X-Request-ID", "req_abc"), ("Content-Type", content_type)])
    with HostileServer(reply) as server:
        async with lexi(server) as client:
            with pytest.raises(LexiError) as raised:
                await client.list_tasks()
    assert type(raised.value).__name__ == expected
    assert raised.value.status == status and raised.value.request_id == "req_abc"
    assert words in str(raised.value)
    assert KEY not in str(raised.value) and KEY not in repr(raised.value)


async def test_reads_are_retried_but_writes_are_not() -> None:
    gateway = Reply(status=502, reason=b"Bad Gateway", body=b"<html>Bad Gateway</html>")
    fine = Reply.json({"data": {"tasks": [], "task_id": "t", "status": "approved"}})
    infos: list[ResponseInfo] = []
    with HostileServer([gateway, fine, gateway]) as server:
        async with lexi(server, read_retries=2) as client:
            client.add_listener(infos.append)
            assert await client.list_tasks() == []
            with pytest.raises(ServerError):
                await client.approve("t")
    assert [r.method for r in server.requests] == ["GET", "GET", "POST"]
    assert [(i.method, i.status) for i in infos] == [("GET", 502), ("GET", 200), ("POST", 502)]


async def test_a_429_is_never_retried() -> None:
    with HostileServer(Reply.json({"error": {"code": "rate_limited", "message": "Rate limit exceeded"}},
                                  status=429)) as server:
        async with lexi(server, read_retries=3) as client:
            with pytest.raises(RateLimitedError):
                await client.list_tasks()
    assert len(server.requests) == 1


async def test_the_request_carries_the_key_and_keeps_every_id_one_path_segment() -> None:
    with HostileServer(Reply.json({"data": {"task_id": "x", "status": "approved", "execution_started": True}})) as server:
        async with lexi(server) as client:
            result = await client.approve("../../v1/admin?x=1#\x1b")
    request = server.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith(f"lexi-tui/{__version__}")
    assert request.target == "/v1/lexi/tasks/..%2F..%2Fv1%2Fadmin%3Fx%3D1%23%1B/approve"
    assert result.task_id == "../../v1/admin?x=1#\x1b"  # the id that was sent, not the echo "x"


async def test_chamelio_sends_only_its_header() -> None:
    with HostileServer(Reply.json({"task": {"task_id": 7}})) as server:
        async with chamelio(server) as client:
            await client.get_task(7)
    headers = server.requests[0].headers
    assert headers["x-api-key"] == CA_KEY and "authorization" not in headers


async def test_a_listener_that_fails_does_not_turn_an_applied_write_into_an_error() -> None:
    def broken(info: ResponseInfo) -> None:
        raise RuntimeError("the status bar fell over")

    with HostileServer(Reply.json({"data": {"task_id": "t", "status": "approved", "execution_started": True}})) as server:
        async with lexi(server) as client:
            client.add_listener(broken)
            result = await client.approve("t")
    assert result.status == "approved"


# -- Chamelio: ids from bodies ---------------------------------------------------------------


@pytest.mark.parametrize(("task", "words"), [
    ({"task_id": 2**63, "task_title": "too large"}, "too large for a Chamelio task id"),
    ({"task_id": "99999999999999999999999", "task_title": "too large"}, "too large for a Chamelio task id"),
    ({"task_id": 8, "task_title": "another task"}, "about task 8, not task 7"),
    ({"task_id": -7}, "never negative"),
    ({"task_id": "seven"}, "not a Chamelio task id"),
])
async def test_chamelio_refuses_an_answer_about_another_or_an_impossible_id(task, words) -> None:
    with HostileServer(Reply.json({"task": task})) as server:
        async with chamelio(server) as client:
            with pytest.raises(MalformedResponseError) as refused:
                await client.get_task(7)
    assert words in str(refused.value)


async def test_chamelio_results_name_the_task_that_was_sent() -> None:
    echo = Reply.json({"task_id": 2**64, "status": "in_progress", "approved": True, "message": "ok"})
    other = Reply.json({"task_id": 8, "status": "cancelled", "message": "ok"})
    with HostileServer([echo, other]) as server:
        async with chamelio(server) as client:
            assert (await client.approve(7)).task_id == 7
            assert (await client.cancel(7)).task_id == 7


async def test_chamelio_refuses_an_answer_too_deep_to_read() -> None:
    body = '{"task": {"task_id": 7, "variables": [' + "[" * 50_000 + "]" * 50_000 + "]}}"
    with HostileServer(Reply(body=body)) as server:
        async with chamelio(server) as client:
            with pytest.raises(MalformedResponseError, match="nested too deeply"):
                await client.get_task(7)


async def test_chamelio_validation_list_is_capped_and_inert() -> None:
    detail = [{"loc": ["body", f"v{n}"], "msg": "bad " + OSC2 * 50, "type": "x"} for n in range(40)]
    with HostileServer(Reply.json({"detail": detail}, status=422)) as server:
        async with chamelio(server) as client:
            with pytest.raises(ValidationError) as invalid:
                await client.approve(7)
    assert inert(invalid.value.message) and len(invalid.value.message) <= 1000
    assert invalid.value.message.endswith("and 30 more") or invalid.value.message.endswith("…")
    assert invalid.value.details == detail  # the data itself is kept for whoever needs it


async def test_a_server_echoing_the_key_never_gets_it_shown() -> None:
    reply = Reply.json({"detail": f"Invalid API key {CA_KEY}"}, status=401,
                       headers=[("X-Request-ID", f"req_{CA_KEY}")], reason=f"Bad key {CA_KEY}")
    infos: list[ResponseInfo] = []
    with HostileServer(reply) as server:
        async with chamelio(server) as client:
            client.add_listener(infos.append)
            with pytest.raises(InvalidKeyError) as refused:
                await client.get_task(1)
    for text in all_text(refused.value, infos):
        assert CA_KEY not in str(text)
    assert "Invalid API key ca_…a1b2" in refused.value.message
