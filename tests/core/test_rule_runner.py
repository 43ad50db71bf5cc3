"""The one rules loop (`RuleRunner`), as `watch` and the screen drive it, against the local service."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from core_support import (
    CHAMELIO_KEY,
    KEY,
    OTHER_KEY,
    LossyProxy,
    admin_task,
    as_tasks,
    chamelio_record,
    chamelio_task,
    set_faults,
    set_used,
    start,
    writes,
)

from lexi_tui.api.models import Task
from lexi_tui.core.actions import TaskResult
from lexi_tui.core.history import read
from lexi_tui.core.outcomes import LOST_HINT
from lexi_tui.core.rule_runner import MAX_ATTEMPTS, RuleRunner
from lexi_tui.core.rules import Decision, parse_rules
from lexi_tui.providers.chamelio import ChamelioProvider
from lexi_tui.providers.lexi import LexiProvider

SMALL = {"name": "small", "action": "approve", "type": "prospect_search", "metadata": {"per_page": "<= 50"}}
TESTS = {"name": "tests", "action": "dismiss", "reason": "testing", "description": "(?i)^test"}


def raw_tasks() -> list[dict[str, Any]]:
    return [
        {"id": "s-1", "type": "prospect_search", "description": "Search for 20 CEOs", "metadata": {"per_page": 20},
         "created_at": "2026-11-20T10:00:00Z"},
        {"id": "s-2", "type": "prospect_search", "description": "Search for 30 CTOs", "metadata": {"per_page": 30},
         "created_at": "2026-11-20T11:00:00Z"},
        {"id": "big", "type": "prospect_search", "description": "Search for 500 VPs", "metadata": {"per_page": 500},
         "created_at": "2026-11-20T12:00:00Z"},
        {"id": "test-1", "type": "contact_update", "description": "Test update", "metadata": {},
         "created_at": "2026-11-20T13:00:00Z"},
        {"id": "camp", "type": "campaign_start", "description": "Start campaign Q2", "metadata": {"per_page": 1},
         "created_at": "2026-11-20T14:00:00Z"},
    ]


class Recorder:
    """What the runner reported: log lines and (decision, result) pairs."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.results: list[tuple[Decision, TaskResult]] = []

    def runner(self, target: Any, rules: list[dict[str, Any]], tmp_path: Path, **options: Any) -> RuleRunner:
        return RuleRunner(target, parse_rules(rules), profile="work", on_line=self.lines.append,
                          on_result=lambda d, r: self.results.append((d, r)), history_path=tmp_path / "h.jsonl",
                          **options)


async def test_a_run_sends_each_decision_once_logs_and_records_it(tmp_path: Path) -> None:
    raw, seen = raw_tasks(), Recorder()
    with start(tasks=tuple(raw)) as server:
        provider = LexiProvider(KEY, server.base_url, read_retries=0)
        runner = seen.runner(provider, [SMALL, TESTS], tmp_path)
        pending = as_tasks(raw)
        assert [d.task.id for d in runner.plan(pending)] == ["s-1", "s-2", "test-1"]  # Never the campaign.
        report = await runner.run(pending)
        again = await runner.run(pending)  # The same (stale) queue: nothing is sent twice.
        await provider.aclose()
        assert writes(server) == 3 and again.results == []
        assert [admin_task(server, i)["status"] for i in ("s-1", "s-2", "test-1", "big", "camp")] == [
            "completed", "completed", "dismissed", "pending", "pending"]
        assert admin_task(server, "test-1")["reason"] == "testing"
    assert [r.outcome for _, r in report.results] == ["ok", "ok", "ok"]
    assert seen.lines[0] == "✔ approved 'Search for 20 CEOs' (rule 'small': type prospect_search, per_page 20 <= 50)"
    assert seen.lines[2].startswith("✔ dismissed 'Test update' with reason 'testing' (rule 'tests'")
    entries = list(reversed(read(tmp_path / "h.jsonl")))
    assert [(e.task_id, e.outcome, e.source, e.profile) for e in entries] == [
        ("s-1", "ok", "rule:small", "work"), ("s-2", "ok", "rule:small", "work"), ("test-1", "ok", "rule:tests", "work")]
    assert entries[0].comment == report.results[0][0].explanation


async def test_tasks_in_flight_or_handled_elsewhere_are_reported_truthfully(tmp_path: Path) -> None:
    raw, seen = raw_tasks(), Recorder()
    raw[1]["status"] = "dismissed"  # s-2 was dismissed elsewhere; our copy still says pending.
    with start(tasks=tuple(raw)) as server:
        provider = LexiProvider(KEY, server.base_url, read_retries=0)
        runner = seen.runner(provider, [SMALL], tmp_path)
        stale = as_tasks([{**item, "status": "pending"} for item in raw])
        gone = Task.from_api({"id": "gone", "type": "prospect_search", "status": "pending", "description": "Gone",
                              "metadata": {"per_page": 1}})
        report = await runner.run([*stale, gone], in_flight={"s-1"})
        await provider.aclose()
        assert admin_task(server, "s-1")["approve_count"] == 0  # In flight elsewhere: left alone.
    assert [(d.task.id, r.outcome) for d, r in report.results] == [("s-2", "already_handled"), ("gone", "not_found")]
    assert seen.lines == ["• already handled elsewhere: Search for 30 CTOs",
                          "• not found (it does not exist, or this key cannot see it): Gone"]


async def test_a_task_that_fails_three_times_is_left_for_a_person(tmp_path: Path) -> None:
    raw, seen = raw_tasks()[:1], Recorder()
    with start(tasks=tuple(raw), keys=(KEY,), keys_without_lexi=(OTHER_KEY,)) as server:
        provider = LexiProvider(OTHER_KEY, server.base_url, read_retries=0)
        runner = seen.runner(provider, [SMALL], tmp_path)
        for _ in range(MAX_ATTEMPTS + 1):
            await runner.run(as_tasks(raw))
        await provider.aclose()
        assert writes(server) == MAX_ATTEMPTS
    assert runner.left_for_person("s-1") and runner.attempts["s-1"] == MAX_ATTEMPTS
    failures = [line for line in seen.lines if line.startswith("✘ approve failed for Search for 20 CEOs: ")]
    assert len(failures) == MAX_ATTEMPTS and "Missing lexi permission" in failures[0]
    assert seen.lines.count("  left for you after 3 failures (the rules will not try it again this session)") == 1
    assert {e.outcome for e in read(tmp_path / "h.jsonl")} == {"failed"}


async def test_pausing_stops_before_the_next_send(tmp_path: Path) -> None:
    raw, seen = raw_tasks(), Recorder()
    cancel = asyncio.Event()
    with start(tasks=tuple(raw)) as server:
        provider = LexiProvider(KEY, server.base_url, read_retries=0)
        runner = RuleRunner(provider, parse_rules([SMALL, TESTS]), on_line=seen.lines.append,
                            on_result=lambda decision, result: cancel.set(), history_path=tmp_path / "h.jsonl")
        report = await runner.run(as_tasks(raw), cancel=cancel)
        await provider.aclose()
        assert writes(server) == 1
    assert report.cancelled and [d.task.id for d in report.not_sent] == ["s-2", "test-1"]
    assert seen.lines[-1] == "rules paused: 2 decision(s) not sent"
    assert [d.task.id for d in runner.plan(as_tasks(raw))] == ["s-2", "test-1"]  # Resumed: they come again.


async def test_a_lost_answer_is_settled_and_one_that_cannot_be_is_never_resent(tmp_path: Path) -> None:
    raw, seen = raw_tasks()[:2], Recorder()
    with start(tasks=tuple(raw)) as server, LossyProxy(server, str(server.base_url)[len(server.root_url):]) as proxy:
        provider = LexiProvider(KEY, proxy.base_url, read_retries=0)
        runner = seen.runner(provider, [SMALL], tmp_path)
        proxy.once(r"POST .*/s-1/approve$", "lose")
        await runner.run(as_tasks(raw[:1]))
        set_faults(server, drop_rate=1.0)  # Now the approval of s-2 and its read-back are both lost.
        report = await runner.run(as_tasks(raw))
        set_faults(server, drop_rate=0.0)
        await runner.run(as_tasks(raw))  # The next refresh: s-2 still looks pending; not sent again.
        await provider.aclose()
        assert [admin_task(server, i)["approve_count"] for i in ("s-1", "s-2")] == [1, 0]
        assert writes(server) == 2
    assert seen.lines[0].startswith("✔ approved 'Search for 20 CEOs'")
    ((decision, result),) = report.results
    assert decision.task.id == "s-2" and result.outcome == "unknown"
    assert seen.lines[1] == (f"? approve of Search for 30 CTOs: the answer was lost; {LOST_HINT} "
                             "(the rules will not send it again)")
    assert runner.left_for_person("s-2") and len(seen.lines) == 2  # The third run said nothing: nothing to do.
    assert [e.outcome for e in reversed(read(tmp_path / "h.jsonl"))] == ["ok", "unknown"]


async def test_a_rejection_whose_answer_is_lost_is_settled_on_chamelio(tmp_path: Path) -> None:
    from lexi_tui.core import watchlist

    seen = Recorder()
    with start() as server, LossyProxy(server, "/chamelio") as proxy:
        task_id = chamelio_task(server)
        watchlist.add("core", task_id)
        provider = ChamelioProvider(CHAMELIO_KEY, proxy.base_url, profile="core", read_retries=0)
        pending = await provider.list_tasks("pending")
        rule = {"name": "vendors", "action": "dismiss", "reason": "Outside policy", "description": "(?i)vendor"}
        runner = seen.runner(provider, [rule], tmp_path)
        proxy.once(r"POST /chamelio/tasks/\d+/approve$", "lose")
        report = await runner.run(pending)
        await provider.aclose()
        record = chamelio_record(server, task_id)
    assert (record["approve_calls"], record["outcome"], record["comment"]) == (1, "rejected", "Outside policy")
    ((_, result),) = report.results
    assert result.outcome == "ok" and result.settled and "is now rejected" in (result.detail or "")
    assert seen.lines[0].startswith("✔ dismissed '")


async def test_the_rules_stop_when_nothing_can_be_recorded_or_the_day_is_spent(tmp_path: Path) -> None:
    raw, seen = raw_tasks(), Recorder()
    with start(tasks=tuple(raw), plan="starter") as server:
        provider = LexiProvider(KEY, server.base_url, read_retries=0)
        runner = RuleRunner(provider, parse_rules([SMALL]), on_line=seen.lines.append, history_path=tmp_path)
        await runner.run(as_tasks(raw))
        await runner.run(as_tasks(raw))  # The same problem is not said again on every refresh.
        assert writes(server) == 0
        assert seen.lines == ["rules stopped: the history cannot be written: "
                              f"Is a directory ({tmp_path}); 2 decision(s) not sent"]
        if 86_400 - time.time() % 86_400 < 300:
            pytest.skip("within 5 minutes of midnight UTC the day's reset is near enough to wait for")
        set_used(server, today=100)
        runner.history_path = tmp_path / "h.jsonl"
        await runner.run(as_tasks(raw))
        await provider.aclose()
        assert writes(server) == 1  # Refused (429): the run stops there.
    assert seen.lines[-1].startswith("rules stopped: no calls are left until ") and "2 decision(s) not sent" in seen.lines[-1]
    assert read(tmp_path / "h.jsonl") == []


async def test_a_dry_run_sends_nothing_and_records_each_decision_once(tmp_path: Path) -> None:
    raw, seen = raw_tasks(), Recorder()
    with start(tasks=tuple(raw)) as server:
        provider = LexiProvider(KEY, server.base_url, read_retries=0)
        runner = seen.runner(provider, [SMALL, TESTS], tmp_path)
        assert [d.task.id for d in runner.dry_run(as_tasks(raw), in_flight={"s-2"})] == ["s-1", "test-1"]
        first = await runner.record_dry_run(as_tasks(raw))
        second = await runner.record_dry_run(as_tasks(raw))  # The next poll: already reported.
        await provider.aclose()
        assert writes(server) == 0
    assert [d.task.id for d in first] == ["s-1", "s-2", "test-1"] and second == []
    assert seen.lines[0] == ("would approve 'Search for 20 CEOs' (rule 'small': type prospect_search, "
                             "per_page 20 <= 50) (dry run, not sent)")
    entries = list(reversed(read(tmp_path / "h.jsonl")))
    assert [(e.task_id, e.outcome, e.source, e.reason) for e in entries] == [
        ("s-1", "dry_run", "rule:small", None), ("s-2", "dry_run", "rule:small", None),
        ("test-1", "dry_run", "rule:tests", "testing")]
    assert [r.outcome for _, r in seen.results] == ["dry_run"] * 3


async def test_the_screen_can_plan_mark_the_rows_then_execute(tmp_path: Path) -> None:
    raw, seen = raw_tasks(), Recorder()
    with start(tasks=tuple(raw)) as server:
        provider = LexiProvider(KEY, server.base_url, read_retries=0)
        runner = seen.runner(provider, [SMALL, TESTS], tmp_path)
        decisions = runner.plan(as_tasks(raw))  # The screen marks these rows busy, then hands them over.
        report = await runner.execute(decisions)
        again = await runner.execute(decisions)  # A repeated hand-over sends nothing twice.
        await provider.aclose()
        assert writes(server) == 3
    assert [r.outcome for _, r in report.results] == ["ok"] * 3 and again.results == []
    assert [d.task.id for d, _ in seen.results] == ["s-1", "s-2", "test-1"]
