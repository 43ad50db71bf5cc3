"""The webhook receiver over real loopback HTTP, with a scripted task reader: acknowledge first,
check the step in the background, de-duplicate by event_id across restarts, accept late retries,
read string ids, never lose an event. (End to end with the local service: tests/chamelio.)"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from lexi_tui.api import errors
from lexi_tui.core import watchlist
from lexi_tui.core.webhooks import (
    DEFAULT_REPLAY_WINDOW,
    RETRY_HORIZON,
    EventLog,
    Listener,
    TaskState,
    events_path,
    sign,
    start_listener,
)

SECRET = b"whsec_unit"
PROFILE = "legal"
APPROVAL = TaskState(0, "in_progress", "approval", "Legal approval")
REVIEW = TaskState(0, "in_progress", "review", "Review")


class ScriptedReader:
    """Answers `GET /tasks/{id}` from a script: a TaskState, an exception, or a list of them (one per
    call, the last repeated). With `gate`, every read waits until the gate is opened."""

    def __init__(self, script: dict[int, Any] | None = None, gate: threading.Event | None = None) -> None:
        self.script = script or {}
        self.gate = gate
        self.calls: list[int] = []

    async def __call__(self, task_id: int) -> TaskState:
        self.calls.append(task_id)
        if self.gate is not None:
            await asyncio.to_thread(self.gate.wait, 30)
        answer = self.script.get(task_id, APPROVAL)
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, BaseException):
            raise answer
        return TaskState(task_id, answer.status, answer.step_type, answer.step_name)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def envelope(event: str = "flows.tasks.created", task_id: Any = 1001, *, age: float = 0.0,
             event_id: str | None = None, **data: Any) -> dict[str, Any]:
    body = {"task_id": task_id, "workflow_id": 1, "workflow_name": "Vendor contract",
            "current_step": {"step_id": "s3", "step_name": "Legal approval", "assignee": "gc@example.com"}}
    body.update(data)
    return {"event": event, "event_id": event_id or f"evt_{uuid.uuid4().hex[:16]}", "organization_id": "org_1",
            "timestamp": iso(time.time() - age), "data": body}


def post(listener: Listener, payload: Any, *, secret: bytes = SECRET, raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
    return httpx.post(listener.url + "hooks", content=body, timeout=10,
                      headers={"Content-Type": "application/json", "X-Chamelio-Signature": sign(body, secret)})


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class Run:
    """Listeners started by a test, with their log lines; all stopped at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.running: list[Listener] = []

    def start(self, reader: Any, **options: Any) -> Listener:
        options.setdefault("retry_delays", (0.01, 0.01, 0.01))
        listener = start_listener(SECRET, PROFILE, reader=reader, log=self.lines.append, **options)
        self.running.append(listener)
        return listener

    def stop(self, listener: Listener) -> None:
        listener.stop()
        self.running.remove(listener)

    def said(self, words: str) -> bool:
        return any(words in line for line in self.lines)


@pytest.fixture
def run() -> Iterator[Run]:
    runs = Run()
    yield runs
    for listener in list(runs.running):
        listener.stop()


def test_the_answer_does_not_wait_for_the_task_read(run: Run) -> None:
    gate = threading.Event()
    reader = ScriptedReader(gate=gate)
    listener = run.start(reader)
    answer = post(listener, envelope(task_id=1001))
    # Answered while the read is still blocked: the 2xx never depends on Chamelio's API.
    assert answer.status_code == 200 and answer.json() == {"ok": True, "action": "queued", "task_id": 1001}
    wait_for(lambda: reader.calls == [1001])
    assert watchlist.load(PROFILE) == [] and listener.checking == 1
    gate.set()
    wait_for(lambda: watchlist.load(PROFILE) == [1001])
    wait_for(lambda: listener.checking == 0)
    assert run.said("task 1001 (it waits at 'Legal approval'): added to the watch list")


def test_only_tasks_at_an_approval_step_are_watched(run: Run) -> None:
    reader = ScriptedReader({1002: REVIEW, 1003: TaskState(0, "completed", "approval", "Done")})
    listener = run.start(reader)
    for task_id in (1001, 1002, 1003):
        assert post(listener, envelope("flows.tasks.step_change", task_id)).status_code == 200
    wait_for(lambda: listener.checking == 0 and len(reader.calls) == 3)
    assert watchlist.load(PROFILE) == [1001]
    assert run.said("task 1002 is at 'Review' (review, in_progress), not at an approval step: not watched")


def test_a_repeated_event_id_is_acknowledged_and_changes_nothing_even_after_a_restart(run: Run) -> None:
    reader = ScriptedReader()
    first = run.start(reader)
    event = envelope(task_id=1001)
    assert post(first, event).json()["action"] == "queued"
    wait_for(lambda: watchlist.load(PROFILE) == [1001] and first.checking == 0)
    watchlist.remove(PROFILE, 1001)  # The person stops watching it...
    again = post(first, event)
    assert again.status_code == 200 and again.json() == {"ok": True, "action": "duplicate"}  # Not 409: no more retries.
    run.stop(first)
    second = run.start(reader)  # ...the listener restarts, and Chamelio's retry arrives.
    assert post(second, event).json() == {"ok": True, "action": "duplicate"}
    time.sleep(0.2)
    assert reader.calls == [1001] and watchlist.load(PROFILE) == []  # Nothing re-added, nothing re-read.
    assert run.said("already received; acknowledged, nothing changed")


def test_late_retries_are_accepted_within_the_window_and_stale_events_refused(run: Run) -> None:
    assert DEFAULT_REPLAY_WINDOW > RETRY_HORIZON > 2.5 * 3600
    listener = run.start(ScriptedReader())
    assert post(listener, envelope(task_id=11, age=10 * 60)).status_code == 200  # Retried after 5 min...
    assert post(listener, envelope(task_id=12, age=RETRY_HORIZON + 60)).status_code == 200  # ...and after 2 h.
    assert post(listener, envelope(task_id=13, age=-120)).status_code == 200  # A little clock skew.
    stale = post(listener, envelope(task_id=14, age=DEFAULT_REPLAY_WINDOW + 60))
    assert stale.status_code == 400 and stale.json() == {"detail": "Event timestamp is too old"}
    future = post(listener, envelope(task_id=15, age=-3600))
    assert future.status_code == 400 and future.json() == {"detail": "Event timestamp is in the future"}
    wait_for(lambda: sorted(watchlist.load(PROFILE)) == [11, 12, 13])
    assert run.said("longer ago than the replay window (4 h)")


def test_string_task_ids_are_read_and_non_numeric_ones_acknowledged_and_explained(run: Run) -> None:
    reader = ScriptedReader()
    listener = run.start(reader)
    assert post(listener, envelope(task_id="1001")).json() == {"ok": True, "action": "queued", "task_id": 1001}
    example = post(listener, envelope(task_id="task_def456"))  # The docs' own example.
    assert example.status_code == 200 and example.json() == {"ok": True, "action": "unreadable_id"}
    too_big = post(listener, envelope(task_id=2**63))
    assert too_big.status_code == 200 and too_big.json()["action"] == "unreadable_id"
    wait_for(lambda: watchlist.load(PROFILE) == [1001])
    assert reader.calls == [1001]
    assert run.said("not watched: task id 'task_def456' is not a number, and Chamelio's REST API reads tasks by "
                    "integer id")
    assert run.said("past the largest Chamelio task id")


@pytest.mark.parametrize("event", ["flows.tasks.canceled", "flows.tasks.cancelled", "flows.tasks.completed",
                                   "flows.tasks.commented", "flows.tasks.something_new"])
def test_other_events_are_acknowledged_without_a_read(run: Run, event: str) -> None:
    reader = ScriptedReader()
    listener = run.start(reader)
    answer = post(listener, envelope(event, 1001))
    assert answer.status_code == 200 and answer.json() == {"ok": True, "action": "ignored"}
    ended = post(listener, envelope("flows.tasks.step_change", 1002, current_step=None))
    assert ended.json() == {"ok": True, "action": "no_step"}
    time.sleep(0.1)
    assert reader.calls == [] and watchlist.load(PROFILE) == []


def test_reads_are_retried_then_the_task_is_watched_anyway_so_no_approval_is_missed(run: Run) -> None:
    flaky = [errors.ServerError("Internal error", status=500), errors.RequestTimeoutError("timed out"), APPROVAL]
    refused = errors.InvalidKeyError("API key has been revoked", status=401)
    down = errors.ConnectError("connection refused")
    gone = errors.NotFoundError("Task not found", status=404)
    reader = ScriptedReader({1: flaky, 2: refused, 3: down, 4: gone})
    listener = run.start(reader)
    for task_id in (1, 2, 3, 4):
        post(listener, envelope(task_id=task_id))
    wait_for(lambda: listener.checking == 0 and sorted(watchlist.load(PROFILE)) == [1, 2, 3])
    assert reader.calls.count(1) == 3  # Two failures, then the answer.
    assert reader.calls.count(2) == 1  # A refused key: retrying cannot help.
    assert reader.calls.count(3) == 4  # Every retry, then watched unverified.
    assert reader.calls.count(4) == 3  # A 404 is tried three times (not readable yet?), then believed.
    assert run.said("could not read task 2 (the key was refused: API key has been revoked); watching it anyway")
    assert run.said("task 4 was not found with this profile's key: not watched")


def test_an_event_acknowledged_but_not_checked_when_the_listener_died_is_checked_at_the_next_start(run: Run) -> None:
    log = EventLog(events_path(PROFILE))
    log.load()
    assert log.accept("evt_died", event="flows.tasks.created", task_id=1009)  # Acknowledged, then a kill.
    reader = ScriptedReader()
    listener = run.start(reader)
    wait_for(lambda: watchlist.load(PROFILE) == [1009])
    assert run.said("1 event(s) received earlier are still to be checked")
    run.stop(listener)
    restarted = EventLog(events_path(PROFILE))
    restarted.load()
    assert restarted.pending() == [] and restarted.seen("evt_died")


def test_an_event_that_cannot_be_recorded_is_answered_503_so_chamelio_retries(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    listener = run.start(ScriptedReader(), events=EventLog(blocker / "events.jsonl"))
    event = envelope(task_id=1001)
    answer = post(listener, event)
    assert answer.status_code == 503 and answer.json() == {"detail": "Could not record the event; retry later"}
    assert run.said("answered 503, Chamelio will retry it")
    assert watchlist.load(PROFILE) == []


def test_signatures_envelopes_and_sizes(run: Run) -> None:
    listener = run.start(ScriptedReader())
    assert post(listener, envelope(), secret=b"wrong").status_code == 401
    body = json.dumps(envelope()).encode()
    assert httpx.post(listener.url, content=body).json() == {"detail": "Missing signature"}
    assert post(listener, None, raw=b"[1, 2]").status_code == 400
    assert post(listener, {**envelope(), "timestamp": "yesterday"}).status_code == 400
    assert post(listener, {**envelope(), "event_id": ""}).status_code == 400
    assert post(listener, None, raw=b"x" * (1024 * 1024 + 1)).status_code == 413
    assert httpx.get(listener.url + "healthz").json()["ok"] is True


def test_a_second_listener_on_the_profile_is_refused(run: Run) -> None:
    """Its event log must have one writer: another process cannot take the profile's listener lock."""
    import subprocess
    import sys

    listener = run.start(ScriptedReader())
    code = f"from lexi_tui.core.instance_lock import InstanceLock; InstanceLock.acquire({PROFILE!r}, role='webhook-listen')"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2])
    assert other.returncode != 0 and "already has profile 'legal' receiving webhooks" in other.stderr
    run.stop(listener)
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2]).returncode == 0


def test_the_event_log_survives_damage_is_bounded_and_compacts(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    clock = [1000.0]
    log = EventLog(path, retention=100.0, max_entries=50, compact_after=10, clock=lambda: clock[0])
    log.load()
    for n in range(120):
        log.accept(f"evt_{n}", event="flows.tasks.completed", task_id=None, result="ignored")
    assert log.accept("evt_todo", event="flows.tasks.created", task_id=7)
    assert not log.accept("evt_todo", event="flows.tasks.created", task_id=7)
    assert len(log) <= 51 and log.seen("evt_119") and not log.seen("evt_0")  # Bounded, newest kept.
    assert len(path.read_text().splitlines()) < 121  # Compacted as it went.
    with path.open("a") as handle:
        handle.write("{torn line\n")
    clock[0] += 50
    again = EventLog(path, retention=100.0, clock=lambda: clock[0])
    problem = again.load()
    assert problem is not None and problem.kept_aside is not None and "1 damaged line" in problem.message
    assert "{torn line" in problem.kept_aside.read_text()
    assert [p.event_id for p in again.pending()] == ["evt_todo"] and again.seen("evt_119")
    clock[0] += 500  # Past the retention: ids are forgotten, but a pending event never is.
    later = EventLog(path, retention=100.0, clock=lambda: clock[0])
    assert later.load() is None and not later.seen("evt_119")
    assert [p.event_id for p in later.pending()] == ["evt_todo"]
    later.done("evt_todo", "watched")
    final = EventLog(path, retention=100.0, clock=lambda: clock[0])
    final.load()
    assert final.pending() == []
