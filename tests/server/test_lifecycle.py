"""Approved tasks finish as completed (with results) or failed (with errors); races are safe."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import uuid

import httpx
import pytest

from lexi_tui.server import start_server
from lexi_tui.server.outcomes import will_fail

from .conftest import KEY, add_tasks, admin_task, auth, base_options, pending_task

RESULT_KEYS = {
    "prospect_search": {"prospects_saved", "list_id", "list_name"},
    "campaign_start": {"emails_scheduled"},
    "contact_update": {"contacts_updated"},
    "list_operation": {"list_id", "list_name", "contacts_in_list"},
}
TYPED = [
    pending_task(type="prospect_search", metadata={"query": {"person_titles": ["CEO"], "organization_industries": [
        "Legal"], "person_locations": ["California"]}, "per_page": 50}),
    pending_task(type="campaign_start", metadata={"campaign_id": str(uuid.uuid4()), "campaign_name": "Q2 Outreach",
                                                  "contact_count": 150}),
    pending_task(type="contact_update", metadata={"filter": {"location": "Texas"}, "updates": {"stage": "qualified"},
                                                  "contact_count": 42}),
    pending_task(type="list_operation", metadata={"operation": "add", "list_name": "Q3 Targets", "contact_count": 12}),
]


def listed(api: httpx.Client, status: str) -> dict[str, dict]:
    return {t["id"]: t for t in api.get("/v1/lexi/tasks", params={"status": status}).json()["data"]["tasks"]}


def test_approved_tasks_complete_with_results(server, api) -> None:
    ids = add_tasks(server, [dict(t, metadata={**t["metadata"], "simulate": "complete"}) for t in TYPED])
    for task_id in ids:
        assert api.post(f"/v1/lexi/tasks/{task_id}/approve").status_code == 200
    completed = listed(api, "completed")  # exec_delay=0: done by the next request
    for task_id, task in zip(ids, TYPED, strict=True):
        result = completed[task_id]["metadata"]["result"]
        assert set(result) == RESULT_KEYS[task["type"]]
        assert completed[task_id]["metadata"]["simulate"] == "complete"
    search = completed[ids[0]]["metadata"]["result"]
    assert 45 <= search["prospects_saved"] <= 50
    assert search["list_name"] == "Lexi – CEO Legal California"
    uuid.UUID(search["list_id"])
    assert completed[ids[1]]["metadata"]["result"] == {"emails_scheduled": 150}
    assert completed[ids[2]]["metadata"]["result"] == {"contacts_updated": 42}
    assert completed[ids[3]]["metadata"]["result"]["contacts_in_list"] == 12
    assert not set(ids) & set(listed(api, "approved"))
    record = admin_task(server, ids[0])
    assert record["approve_count"] == 1 and record["finished_at"] and record["execute_at"] is None


def test_simulated_failures_carry_an_error(server, api) -> None:
    ids = add_tasks(server, [dict(t, metadata={**t["metadata"], "simulate": "fail"}) for t in TYPED])
    for task_id in ids:
        api.post(f"/v1/lexi/tasks/{task_id}/approve")
    failed = listed(api, "failed")
    for task_id in ids:
        error = failed[task_id]["metadata"]["error"]
        assert set(error) == {"message", "code"}
        assert error["message"] and error["code"]
        assert "result" not in failed[task_id]["metadata"]


def test_insufficient_credits_message(server, api) -> None:
    # Which of the realistic errors is picked depends on the id; find one that gets credits.
    ids = [f"credits-{n}" for n in range(12)]
    add_tasks(server, [pending_task(id=i, metadata={"per_page": 500, "simulate": "fail"}) for i in ids])
    for task_id in ids:
        api.post(f"/v1/lexi/tasks/{task_id}/approve")
    messages = {listed(api, "failed")[i]["metadata"]["error"]["message"] for i in ids}
    assert "Insufficient credits to save 500 prospects" in messages


def test_failure_rate_is_deterministic_per_task_id(make_server) -> None:
    ids = [f"rate-{n}" for n in range(40)]
    expected_failures = {i for i in ids if will_fail(i, {}, 0.5)}
    assert 5 < len(expected_failures) < 35
    for _ in range(2):
        server = make_server(failure_rate=0.5)
        add_tasks(server, [pending_task(id=i, metadata={}) for i in ids])
        with httpx.Client(base_url=server.base_url, headers=auth()) as api:
            for task_id in ids:
                api.post(f"/v1/lexi/tasks/{task_id}/approve")
            assert set(listed(api, "failed")) == expected_failures
            assert set(listed(api, "completed")) == set(ids) - expected_failures
        server.stop()


def test_simulate_overrides_failure_rate(make_server) -> None:
    server = make_server(failure_rate=1.0)
    ids = add_tasks(server, [pending_task(metadata={"simulate": "complete"}), pending_task(metadata=[1, 2]),
                             pending_task(metadata={"per_page": 5})])
    with httpx.Client(base_url=server.base_url, headers=auth()) as api:
        for task_id in ids:
            api.post(f"/v1/lexi/tasks/{task_id}/approve")
        assert set(listed(api, "completed")) == {ids[0]}
        failed = listed(api, "failed")
        assert set(failed) == set(ids[1:])
        assert failed[ids[1]]["metadata"]["value"] == [1, 2]  # non-object metadata is kept


def test_exec_delay_keeps_tasks_approved_then_finishes_without_requests(make_server) -> None:
    server = make_server(exec_delay=0.3)
    (task_id,) = add_tasks(server, [pending_task(metadata={"simulate": "complete"})])
    with httpx.Client(base_url=server.base_url, headers=auth()) as api:
        api.post(f"/v1/lexi/tasks/{task_id}/approve")
        assert task_id in listed(api, "approved")
        record = admin_task(server, task_id)
        assert record["status"] == "approved" and record["execute_at"]
        time.sleep(0.65)  # the background loop (every 0.25 s) finishes it, no request needed
        store = server._service.store  # white-box: read without triggering the lazy path
        assert not store.has_due()
        assert task_id in listed(api, "completed")


def test_execution_survives_a_restart(tmp_path) -> None:
    db = str(tmp_path / "lexi.db")
    options = base_options(db_path=db, exec_delay=0.3)
    first = start_server(options)
    (task_id,) = add_tasks(first, [pending_task(metadata={"simulate": "complete"})])
    assert httpx.post(f"{first.base_url}/v1/lexi/tasks/{task_id}/approve", headers=auth()).status_code == 200
    first.stop()  # gone before the task was due
    time.sleep(0.3)
    with start_server(dataclasses.replace(options, port=first.port)) as second:
        tasks = httpx.get(f"{second.base_url}/v1/lexi/tasks?status=completed", headers=auth()).json()
        assert task_id in {t["id"] for t in tasks["data"]["tasks"]}
        assert admin_task(second, task_id)["approve_count"] == 1


@pytest.mark.parametrize("concurrency", [2, 10])
def test_concurrent_approvals_from_threads(server, concurrency: int) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    barrier = threading.Barrier(concurrency)
    statuses: list[int] = []
    messages: list[str] = []

    def approve() -> None:
        with httpx.Client(headers=auth(), timeout=10) as client:
            barrier.wait()
            response = client.post(f"{server.base_url}/v1/lexi/tasks/{task_id}/approve")
            statuses.append(response.status_code)
            if response.status_code == 400:
                messages.append(response.json()["error"]["message"])

    threads = [threading.Thread(target=approve) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * (concurrency - 1)
    assert set(messages) <= {"Task has already been approved"}
    assert admin_task(server, task_id)["approve_count"] == 1


async def test_concurrent_approve_and_dismiss_with_asyncio(server) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    limits = httpx.Limits(max_connections=10)
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth(KEY), limits=limits) as client:
        requests = [client.post(f"/v1/lexi/tasks/{task_id}/{'approve' if n % 2 else 'dismiss'}") for n in range(10)]
        responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses].count(200) == 1
    record = admin_task(server, task_id)
    assert record["approve_count"] + record["dismiss_count"] == 1
    winner = "approve" if record["approve_count"] else "dismiss"
    loser_message = "Task has already been approved" if winner == "approve" else "Task has already been dismissed"
    assert {r.json()["error"]["message"] for r in responses if r.status_code == 400} == {loser_message}
