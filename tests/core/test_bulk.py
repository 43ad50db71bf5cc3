"""Bulk approve/dismiss/cancel against the local service: one classification, pacing inside both
limits, lost answers settled by reading the task back, the history, stopping.

The service's admin counters are the judge of what was applied, never the summary itself.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from core_support import (
    CHAMELIO_KEY,
    KEY,
    OTHER_KEY,
    LossyProxy,
    admin_stats,
    admin_task,
    as_tasks,
    chamelio_record,
    chamelio_task,
    make_tasks,
    set_faults,
    set_used,
    start,
    writes,
)

from lexi_tui.api.models import Task
from lexi_tui.core.bulk import NOT_SENT, Pacing, calls_needed, run_bulk
from lexi_tui.core.history import read
from lexi_tui.core.outcomes import LOST_HINT
from lexi_tui.providers.chamelio import ChamelioProvider
from lexi_tui.providers.lexi import LexiProvider

FAST = Pacing(minute_wait=2.5)
"""A minute of a service at time_scale=30 lasts 2 s."""


def lexi(url: str, key: str = KEY) -> LexiProvider:
    return LexiProvider(key, url, read_retries=0)


def lossy(server: object) -> LossyProxy:
    return LossyProxy(server, str(server.base_url)[len(server.root_url):])  # type: ignore[attr-defined]


def seconds_to_midnight() -> float:
    return 86_400 - time.time() % 86_400


async def test_every_answer_is_classified_once_and_recorded(tmp_path: Path) -> None:
    raw = make_tasks(3) + [{"id": "gone", "type": "list_operation", "description": "Old", "status": "dismissed"}]
    log = tmp_path / "history.jsonl"
    progress: list[tuple[int, int, str, str]] = []
    with start(tasks=tuple(raw)) as server:
        tasks = as_tasks(raw) + [Task.from_api({"id": "never-existed"})]
        provider = lexi(server.base_url)
        try:
            summary = await run_bulk(
                provider, tasks + tasks[:1], "approve", profile="work", history_path=log,
                on_progress=lambda done, total, task, outcome: progress.append((done, total, task.id, outcome)),
            )
        finally:
            await provider.aclose()
        assert [admin_task(server, f"b-{i}")["approve_count"] for i in range(3)] == [1, 1, 1]
    assert [t.id for t in summary.succeeded] == ["b-0", "b-1", "b-2"]
    assert [t.id for t in summary.already_handled] == ["gone"]
    assert [t.id for t in summary.not_found] == ["never-existed"]  # A 404 is never "already handled".
    assert summary.failed == [] and summary.not_sent == [] and summary.total == 5  # The repeated id is sent once.
    assert progress[0] == (1, 5, "b-0", "ok") and progress[-1] == (5, 5, "never-existed", "not_found")
    assert summary.describe() == (
        "Approved 3 of 5 tasks. 1 was already handled elsewhere. "
        "1 was not found (it does not exist, or this key cannot see it).")
    entries = read(log)
    assert [(e.task_id, e.outcome, e.source, e.profile) for e in reversed(entries)] == [
        ("b-0", "ok", "bulk", "work"), ("b-1", "ok", "bulk", "work"), ("b-2", "ok", "bulk", "work"),
        ("gone", "already_handled", "bulk", "work"), ("never-existed", "not_found", "bulk", "work")]
    assert entries[1].detail == "Task has already been dismissed" and entries[0].request_id
    assert calls_needed(tasks + tasks[:1]) == 5


async def test_dismiss_sends_the_reason(tmp_path: Path) -> None:
    raw = make_tasks(2)
    with start(tasks=tuple(raw)) as server:
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "dismiss", reason="duplicate", comment="cleanup",
                                 history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        assert [admin_task(server, t["id"])["reason"] for t in raw] == ["duplicate", "duplicate"]
    assert summary.describe() == "Dismissed 2 of 2 tasks."
    assert {(e.reason, e.comment, e.action) for e in read(tmp_path / "h.jsonl")} == {("duplicate", "cleanup", "dismiss")}


async def test_paces_itself_inside_the_rate_limit(tmp_path: Path) -> None:
    raw = make_tasks(6)
    waits: list[float] = []
    with start(tasks=tuple(raw), rate_limit=3, rate_window=2) as server:
        provider = lexi(server.base_url)
        started = time.monotonic()
        summary = await run_bulk(provider, as_tasks(raw), "approve", on_wait=waits.append,
                                 history_path=tmp_path / "h.jsonl")
        elapsed = time.monotonic() - started
        await provider.aclose()
        stats = admin_stats(server)
    assert len(summary.succeeded) == 6
    assert stats["rate_limited"] == 0 and stats["by_status"] == {"200": 6}
    assert len(waits) == 1 and 0 < waits[0] <= 3.5 and elapsed >= 1  # One window's wait, no 429s.


async def test_a_429_is_waited_out_and_retried_once(tmp_path: Path) -> None:
    raw = make_tasks(2)
    with start(tasks=tuple(raw), rate_limit=2, rate_window=1.5) as server:
        # Another client on the same key spends the window: this client has not seen the headers.
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}) as other:
            assert other.get("/v1/lexi/tasks").status_code == 200
            assert other.get("/v1/lexi/tasks").status_code == 200
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        stats = admin_stats(server)
    assert len(summary.succeeded) == 2 and summary.waited > 0
    assert stats["rate_limited"] == 1  # The first call's 429, then a single retry after the reset.


async def test_cancel_part_way_leaves_the_rest_untouched(tmp_path: Path) -> None:
    raw = make_tasks(5)
    cancel = asyncio.Event()

    def progress(done: int, total: int, task: Task, outcome: str) -> None:
        if done == 2:
            cancel.set()

    with start(tasks=tuple(raw)) as server:
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", on_progress=progress, cancel=cancel,
                                 history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        statuses = [admin_task(server, t["id"])["status"] for t in raw]
    assert statuses[:2] != ["pending", "pending"] and statuses[2:] == ["pending"] * 3
    assert summary.cancelled and [t.id for t in summary.not_sent] == ["b-2", "b-3", "b-4"]
    assert [r.outcome for r in summary.results] == ["ok", "ok", "not_sent", "not_sent", "not_sent"]
    assert "3 were not sent because the run was cancelled" in summary.describe()
    assert len(read(tmp_path / "h.jsonl")) == 2  # Only what was sent is recorded.


async def test_cancel_interrupts_a_rate_limit_wait(tmp_path: Path) -> None:
    raw = make_tasks(4)
    with start(tasks=tuple(raw), rate_limit=2, rate_window=60) as server:
        provider = lexi(server.base_url)
        cancel = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, cancel.set)
        started = time.monotonic()
        summary = await run_bulk(provider, as_tasks(raw), "approve", cancel=cancel, history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        assert time.monotonic() - started < 5
        assert admin_stats(server)["rate_limited"] == 0
    assert len(summary.succeeded) == 2 and len(summary.not_sent) == 2 and summary.cancelled


async def test_a_refused_key_stops_the_run(tmp_path: Path) -> None:
    raw = make_tasks(3)
    with start(tasks=tuple(raw), keys=(KEY,), keys_without_lexi=(OTHER_KEY,)) as server:
        provider = lexi(server.base_url, OTHER_KEY)
        summary = await run_bulk(provider, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        assert admin_stats(server)["forbidden"] == 1
    assert len(summary.failed) == 1 and len(summary.not_sent) == 2 and not summary.cancelled
    assert summary.stopped_by is not None and summary.stopped_by.status == 403
    assert "2 were not sent because the run stopped: Missing lexi permission" in summary.describe()


async def test_an_unreachable_server_stops_the_run(tmp_path: Path) -> None:
    with start() as server:
        url = server.base_url
    provider = lexi(url)  # The service is gone: nothing listens there any more.
    summary = await run_bulk(provider, as_tasks(make_tasks(3)), "dismiss", history_path=tmp_path / "h.jsonl")
    await provider.aclose()
    assert len(summary.failed) == 1 and len(summary.not_sent) == 2
    assert "could not connect" in summary.failed[0][1]
    (logged,) = read(tmp_path / "h.jsonl")
    assert (logged.outcome, logged.task_id) == ("failed", "b-0") and "could not connect" in (logged.detail or "")


async def test_an_unwritable_history_sends_nothing(tmp_path: Path) -> None:
    """Issue 13, changed on purpose: an action that cannot be recorded is not sent."""
    raw = make_tasks(2)
    with start(tasks=tuple(raw)) as server:
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", history_path=tmp_path)  # A directory.
        await provider.aclose()
        assert writes(server) == 0
        assert [admin_task(server, t["id"])["status"] for t in raw] == ["pending", "pending"]
    assert [r.outcome for r in summary.results] == [NOT_SENT, NOT_SENT] and summary.succeeded == []
    assert summary.results[0].detail and summary.results[0].detail.startswith("the history cannot be written")
    assert "2 were not sent because the run stopped: the history cannot be written" in summary.describe()


# -- lost answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "applied"), [("approve", "completed"), ("dismiss", "dismissed")])
async def test_a_lost_lexi_answer_is_settled_by_reading_the_task(tmp_path: Path, action: str, applied: str) -> None:
    raw = make_tasks(3)
    with start(tasks=tuple(raw)) as server, lossy(server) as proxy:
        proxy.once(rf"POST .*/b-1/{action}$", "lose")  # The service acts; the answer never arrives.
        provider = lexi(proxy.base_url)
        summary = await run_bulk(provider, as_tasks(raw), action, reason="testing" if action == "dismiss" else None,
                                 history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        counts = [admin_task(server, t["id"])[f"{action}_count"] for t in raw]
        assert writes(server) == 3  # Nothing was sent twice...
    assert counts == [1, 1, 1]  # ...and nothing applied twice.
    assert [t.id for t in summary.succeeded] == ["b-0", "b-1", "b-2"]
    lost = summary.results[1]
    assert lost.settled and lost.outcome == "ok"
    assert "the answer was lost" in (lost.detail or "") and f"is now {applied}" in (lost.detail or "")
    entry = next(e for e in read(tmp_path / "h.jsonl") if e.task_id == "b-1")
    assert entry.outcome == "ok" and "answer was lost" in (entry.detail or "")  # Never "failed" for an applied action.


async def test_a_request_lost_before_the_server_is_failed_and_can_be_sent_again(tmp_path: Path) -> None:
    raw = make_tasks(2)
    with start(tasks=tuple(raw)) as server, lossy(server) as proxy:
        proxy.once(r"POST .*/b-0/approve$", "drop")  # Never reaches the service.
        provider = lexi(proxy.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        assert admin_task(server, "b-0")["approve_count"] == 0 and admin_task(server, "b-1")["approve_count"] == 1
    ((task, why),) = summary.failed
    assert task.id == "b-0" and "is now pending: not applied" in why
    assert [t.id for t in summary.succeeded] == ["b-1"]  # A settled answer does not stop the run.
    assert next(e for e in read(tmp_path / "h.jsonl") if e.task_id == "b-0").outcome == "failed"


async def test_an_answer_that_cannot_be_settled_stays_unknown_and_is_never_resent(tmp_path: Path) -> None:
    raw = make_tasks(3)
    with start(tasks=tuple(raw)) as server:
        set_faults(server, drop_rate=1.0)  # The approval and the read-back are both dropped.
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        set_faults(server, drop_rate=0.0)
        assert writes(server) == 1  # One send, never repeated.
        assert admin_stats(server)["by_endpoint"].get("GET /v1/lexi/tasks", 0) == 1  # One read-back.
    ((task, why),) = summary.unknown
    assert task.id == "b-0" and LOST_HINT in why
    assert [t.id for t in summary.not_sent] == ["b-1", "b-2"]
    assert LOST_HINT in summary.describe() and "1 answer was lost" in summary.describe()
    (entry,) = read(tmp_path / "h.jsonl")
    assert entry.outcome == "unknown" and LOST_HINT in (entry.detail or "")


@pytest.mark.parametrize(("action", "decision"), [("approve", "approved"), ("dismiss", "rejected"),
                                                  ("cancel", "cancelled")])
async def test_a_lost_chamelio_answer_is_settled_and_applied_once(tmp_path: Path, action: str, decision: str) -> None:
    from lexi_tui.core import watchlist

    with start() as server, LossyProxy(server, "/chamelio") as proxy:
        ids = [chamelio_task(server) for _ in range(2)]
        for task_id in ids:
            watchlist.add("core", task_id)
        provider = ChamelioProvider(CHAMELIO_KEY, proxy.base_url, profile="core", read_retries=0)
        pending = await provider.list_tasks("pending")
        endpoint = "cancel" if action == "cancel" else "approve"
        proxy.once(rf"POST /chamelio/tasks/{ids[0]}/{endpoint}$", "lose")
        summary = await run_bulk(provider, pending, action, reason="Outside policy" if action == "dismiss" else None,
                                 history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        records = [chamelio_record(server, task_id) for task_id in ids]
    calls = "cancel_calls" if action == "cancel" else "approve_calls"
    assert [r[calls] for r in records] == [1, 1]  # Nothing sent twice, nothing applied twice.
    assert [r["outcome"] for r in records] == [decision, decision]
    assert sorted(t.id for t in summary.succeeded) == sorted(map(str, ids))
    lost = next(r for r in summary.results if r.task.id == str(ids[0]))
    assert lost.settled and f"is now {decision}" in (lost.detail or "")
    assert {e.outcome for e in read(tmp_path / "h.jsonl")} == {"ok"}


async def test_a_dropped_chamelio_approval_is_not_applied_and_says_so(tmp_path: Path) -> None:
    from lexi_tui.core import watchlist

    with start() as server, LossyProxy(server, "/chamelio") as proxy:
        task_id = chamelio_task(server)
        watchlist.add("core", task_id)
        provider = ChamelioProvider(CHAMELIO_KEY, proxy.base_url, profile="core", read_retries=0)
        pending = await provider.list_tasks("pending")
        proxy.once(r"POST /chamelio/tasks/\d+/approve$", "drop")
        summary = await run_bulk(provider, pending, "approve", history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        record = chamelio_record(server, task_id)
    assert record["approve_calls"] == 0 and record["awaiting_approval"]
    ((task, why),) = summary.failed
    assert "is now pending: not applied; it can be sent again" in why


# -- both rate limits -------------------------------------------------------------------------


async def test_a_429_while_calls_remain_today_waits_a_minute_not_until_midnight(tmp_path: Path) -> None:
    """Daily headers (the docs' reading): the minute's limit refuses while Remaining says 87."""
    raw = make_tasks(12)
    with start(tasks=tuple(raw), plan="starter", time_scale=30) as server:
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", pacing=FAST, history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        stats = admin_stats(server)
    assert len(summary.succeeded) == 12
    assert stats["rate_limited"] == 1  # The 11th call, once; then a wait of about a (scaled) minute.
    assert FAST.minute_wait <= summary.waited < 10


async def test_minute_headers_are_waited_for_before_sending(tmp_path: Path) -> None:
    raw = make_tasks(12)
    with start(tasks=tuple(raw), plan="starter", time_scale=30, rate_headers="minute") as server:
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", pacing=FAST, history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        stats = admin_stats(server)
    assert len(summary.succeeded) == 12 and stats["rate_limited"] == 0
    assert 0 < summary.waited < 5


async def test_the_retry_after_the_server_sends_is_honoured(tmp_path: Path) -> None:
    raw = make_tasks(11)
    slow = Pacing(minute_wait=30)  # Were Retry-After ignored, this run would take 30 s.
    with start(tasks=tuple(raw), plan="starter", time_scale=30, retry_after=True) as server:
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", pacing=slow, history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        assert admin_stats(server)["rate_limited"] == 1
    assert len(summary.succeeded) == 11 and 0 < summary.waited < 5


async def test_two_calls_left_today_sends_two_and_stops_with_the_reset_time(tmp_path: Path) -> None:
    if seconds_to_midnight() < 300:
        pytest.skip("within 5 minutes of midnight UTC the day's reset is near enough to wait for")
    raw = make_tasks(5)
    with start(tasks=tuple(raw), plan="starter") as server:
        set_used(server, today=98)
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        stats = admin_stats(server)
    assert [t.id for t in summary.succeeded] == ["b-0", "b-1"] and stats["rate_limited"] == 0
    assert [t.id for t in summary.not_sent] == ["b-2", "b-3", "b-4"]
    midnight = time.time() + seconds_to_midnight()
    assert summary.quota_resets_at is not None and abs(summary.quota_resets_at - midnight) < 2
    when = time.strftime("%Y-%m-%d 00:00 UTC", time.gmtime(round(midnight)))
    assert f"3 were not sent because the run stopped: no calls are left until {when}" in summary.describe()
    assert "the daily quota is spent" in summary.describe()


async def test_a_429_with_nothing_left_today_stops_the_run_at_once(tmp_path: Path) -> None:
    if seconds_to_midnight() < 300:
        pytest.skip("within 5 minutes of midnight UTC the day's reset is near enough to wait for")
    raw = make_tasks(3)
    with start(tasks=tuple(raw), plan="starter") as server:
        set_used(server, today=100)
        provider = lexi(server.base_url)  # Has seen no headers yet: the 429 tells it.
        started = time.monotonic()
        summary = await run_bulk(provider, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        assert admin_stats(server)["rate_limited"] == 1 and writes(server) == 1
    assert time.monotonic() - started < 5 and summary.waited == 0
    assert [r.outcome for r in summary.results] == [NOT_SENT] * 3 and summary.quota_resets_at is not None
    assert (summary.results[0].detail or "").startswith("refused by the rate limit: no calls are left until")
    assert read(tmp_path / "h.jsonl") == []  # Nothing was done to any task.


async def test_a_spent_day_behind_minute_headers_stops_after_one_wait(tmp_path: Path) -> None:
    """Minute headers (the other reading): a 429 while the minute has calls left is waited out
    once; refused again, the run stops instead of waiting minute after minute."""
    raw = make_tasks(3)
    if seconds_to_midnight() / 30 < 20:
        pytest.skip("the scaled day ends within seconds")
    with start(tasks=tuple(raw), plan="starter", rate_headers="minute", time_scale=30) as server:
        set_used(server, today=100)
        provider = lexi(server.base_url)
        summary = await run_bulk(provider, as_tasks(raw), "approve", pacing=FAST, history_path=tmp_path / "h.jsonl")
        await provider.aclose()
        assert admin_stats(server)["rate_limited"] == 2
    assert summary.succeeded == [] and len(summary.not_sent) == 3
    assert "still refused with 429 (rate limited) after waiting" in summary.describe()
