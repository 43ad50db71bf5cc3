"""Bulk approve/dismiss against the local service: pacing, retries, cancellation, history."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from cli_support import KEY, OTHER_KEY, admin_stats, admin_task, start, unused_port

from lexi_tui.api.lexi import LexiClient
from lexi_tui.api.models import Task
from lexi_tui.core.bulk import run_bulk
from lexi_tui.core.history import read


def make_tasks(n: int, prefix: str = "b") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "type": "prospect_search", "description": f"Search {i}",
             "metadata": {"per_page": i}} for i in range(n)]


def as_tasks(raw: list[dict[str, Any]]) -> list[Task]:
    return [Task.from_api({**item, "status": "pending"}) for item in raw]


async def test_approve_classifies_every_outcome_and_records_history(tmp_path: Path) -> None:
    raw = make_tasks(3) + [{"id": "gone", "type": "list_operation", "description": "Old", "status": "dismissed"}]
    log = tmp_path / "history.jsonl"
    progress: list[tuple[int, int, str, str]] = []
    with start(tasks=tuple(raw)) as server:
        tasks = as_tasks(raw) + [Task.from_api({"id": "never-existed"})]
        async with LexiClient(KEY, server.base_url) as client:
            summary = await run_bulk(
                client, tasks + tasks[:1], "approve", profile="work", history_path=log,
                on_progress=lambda done, total, task, outcome: progress.append((done, total, task.id, outcome)),
            )
        assert [admin_task(server, f"b-{i}")["approve_count"] for i in range(3)] == [1, 1, 1]
    assert [t.id for t in summary.succeeded] == ["b-0", "b-1", "b-2"]
    assert [t.id for t in summary.already_handled] == ["gone", "never-existed"]
    assert summary.failed == [] and summary.not_sent == [] and summary.total == 5  # The repeated id is sent once.
    assert progress[0] == (1, 5, "b-0", "ok") and progress[-1] == (5, 5, "never-existed", "already_handled")
    assert summary.describe() == (
        "Approved 3 of 5 tasks. 2 were already handled (approved or dismissed elsewhere, or not found).")
    entries = read(log)
    assert [(e.task_id, e.outcome, e.source, e.profile) for e in reversed(entries)] == [
        ("b-0", "ok", "bulk", "work"), ("b-1", "ok", "bulk", "work"), ("b-2", "ok", "bulk", "work"),
        ("gone", "already_handled", "bulk", "work"), ("never-existed", "already_handled", "bulk", "work")]
    assert entries[1].detail == "Task has already been dismissed" and entries[0].request_id


async def test_dismiss_sends_the_reason(tmp_path: Path) -> None:
    raw = make_tasks(2)
    with start(tasks=tuple(raw)) as server:
        async with LexiClient(KEY, server.base_url) as client:
            summary = await run_bulk(client, as_tasks(raw), "dismiss", reason="duplicate", comment="cleanup",
                                     history_path=tmp_path / "h.jsonl")
        assert [admin_task(server, t["id"])["reason"] for t in raw] == ["duplicate", "duplicate"]
    assert summary.describe() == "Dismissed 2 of 2 tasks."
    assert {(e.reason, e.comment, e.action) for e in read(tmp_path / "h.jsonl")} == {("duplicate", "cleanup", "dismiss")}


async def test_paces_itself_inside_the_rate_limit(tmp_path: Path) -> None:
    raw = make_tasks(6)
    waits: list[float] = []
    with start(tasks=tuple(raw), rate_limit=3, rate_window=2) as server:
        async with LexiClient(KEY, server.base_url) as client:
            started = time.monotonic()
            summary = await run_bulk(client, as_tasks(raw), "approve", on_wait=waits.append,
                                     history_path=tmp_path / "h.jsonl")
            elapsed = time.monotonic() - started
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
        async with LexiClient(KEY, server.base_url) as client:
            summary = await run_bulk(client, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        stats = admin_stats(server)
    assert len(summary.succeeded) == 2 and summary.waited > 0
    assert stats["rate_limited"] == 1  # The first call's 429, then a single retry after Retry-After.


async def test_cancel_part_way_leaves_the_rest_untouched(tmp_path: Path) -> None:
    raw = make_tasks(5)
    cancel = asyncio.Event()

    def progress(done: int, total: int, task: Task, outcome: str) -> None:
        if done == 2:
            cancel.set()

    with start(tasks=tuple(raw)) as server:
        async with LexiClient(KEY, server.base_url) as client:
            summary = await run_bulk(client, as_tasks(raw), "approve", on_progress=progress, cancel=cancel,
                                     history_path=tmp_path / "h.jsonl")
        statuses = [admin_task(server, t["id"])["status"] for t in raw]
    assert statuses[:2] != ["pending", "pending"] and statuses[2:] == ["pending"] * 3
    assert summary.cancelled and [t.id for t in summary.not_sent] == ["b-2", "b-3", "b-4"]
    assert [r.outcome for r in summary.results] == ["ok", "ok", "not_sent", "not_sent", "not_sent"]
    assert "3 were not sent because the run was cancelled" in summary.describe()
    assert len(read(tmp_path / "h.jsonl")) == 2  # Only what was sent is recorded.


async def test_cancel_interrupts_a_rate_limit_wait(tmp_path: Path) -> None:
    raw = make_tasks(4)
    with start(tasks=tuple(raw), rate_limit=2, rate_window=60) as server:
        async with LexiClient(KEY, server.base_url) as client:
            cancel = asyncio.Event()
            asyncio.get_running_loop().call_later(0.3, cancel.set)
            started = time.monotonic()
            summary = await run_bulk(client, as_tasks(raw), "approve", cancel=cancel,
                                     history_path=tmp_path / "h.jsonl")
        assert time.monotonic() - started < 5
        assert admin_stats(server)["rate_limited"] == 0
    assert len(summary.succeeded) == 2 and len(summary.not_sent) == 2 and summary.cancelled


async def test_a_refused_key_stops_the_run(tmp_path: Path) -> None:
    raw = make_tasks(3)
    with start(tasks=tuple(raw), keys=(KEY,), keys_without_lexi=(OTHER_KEY,)) as server:
        async with LexiClient(OTHER_KEY, server.base_url) as client:
            summary = await run_bulk(client, as_tasks(raw), "approve", history_path=tmp_path / "h.jsonl")
        assert admin_stats(server)["forbidden"] == 1
    assert len(summary.failed) == 1 and len(summary.not_sent) == 2 and not summary.cancelled
    assert summary.stopped_by is not None and summary.stopped_by.status == 403
    assert "were not sent because the run stopped" in summary.describe()


async def test_an_unreachable_server_stops_the_run(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{unused_port()}/functions/v1/api-gateway"
    async with LexiClient(KEY, url) as client:
        summary = await run_bulk(client, as_tasks(make_tasks(3)), "dismiss", history_path=tmp_path / "h.jsonl")
    assert len(summary.failed) == 1 and len(summary.not_sent) == 2
    assert "could not connect" in summary.failed[0][1]
    (logged,) = read(tmp_path / "h.jsonl")
    assert (logged.outcome, logged.task_id) == ("failed", "b-0") and "could not connect" in (logged.detail or "")


async def test_an_unwritable_history_does_not_stop_the_run(tmp_path: Path) -> None:
    raw = make_tasks(2)
    with start(tasks=tuple(raw)) as server:
        async with LexiClient(KEY, server.base_url) as client:
            summary = await run_bulk(client, as_tasks(raw), "approve", history_path=tmp_path)  # A directory.
    assert len(summary.succeeded) == 2 and summary.history_error
    assert "The history could not be written" in summary.describe()
