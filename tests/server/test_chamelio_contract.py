"""The Chamelio face as documented (issue 12): webhook payloads field for field, string task ids,
the retry schedule on the scaled clock, workflow_state_id, and the step delay under --time-scale."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import pytest

from lexi_tui.server.options import CHAMELIO_DEMO_KEY

from .conftest import admin_get, admin_post, wait_for

SECRET = "whsec_contract"
ENVELOPE = {"event", "event_id", "organization_id", "timestamp", "data"}
STEP = {"step_id", "step_name", "assignee"}
DATA_KEYS = {
    "flows.tasks.created": {"task_id", "workflow_id", "workflow_name", "workflow_version", "initiated_by",
                            "current_step", "variables"},
    "flows.tasks.step_change": {"task_id", "workflow_id", "workflow_name", "previous_step", "current_step"},
    "flows.tasks.completed": {"task_id", "completed_at", "duration_hours", "variables", "outputs"},
    "flows.tasks.canceled": {"task_id", "canceled_by", "canceled_at", "reason", "step_at_cancellation"},
    "flows.tasks.commented": {"task_id", "comment_id", "comment_text", "commented_by", "current_step"},
}
TASK_KEYS = {"task_id", "task_url", "task_title", "workflow_id", "workflow_name", "workflow_version",
             "workflow_state_id", "status", "current_step_id", "current_step_name", "current_step_type",
             "created_at", "updated_at", "completed_at", "owner_email", "assignee_email", "collaborator_emails",
             "step_runs", "variables"}


def face(server) -> httpx.Client:
    return httpx.Client(base_url=server.root_url + "/chamelio", headers={"X-API-Key": CHAMELIO_DEMO_KEY}, timeout=10)


def new_task(server, **body: Any) -> int:
    return admin_post(server, "/chamelio/tasks", body, status=201)["data"]["task_id"]


def webhooks(server) -> dict:
    return admin_get(server, "/chamelio/webhooks")


def keys_anywhere(value: Any) -> set[str]:
    """Every dict key at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def hooked(make_server, receiver, **overrides: Any):
    hook = receiver()
    server = make_server(chamelio_webhook_url=hook.url, chamelio_webhook_secret=SECRET, chamelio_seed_workflows=0,
                         **overrides)
    return server, hook


def events_for(hook, task_id) -> list[dict]:
    return [e for e in hook.envelopes() if e["data"]["task_id"] == task_id]


def test_every_event_has_the_documented_shape_and_none_carries_a_step_type(make_server, receiver) -> None:
    server, hook = hooked(make_server, receiver)
    approved = new_task(server, step="intake")
    admin_post(server, f"/chamelio/tasks/{approved}/advance")
    admin_post(server, f"/chamelio/tasks/{approved}/advance")
    cancelled = new_task(server, step="review")
    with face(server) as client:
        answer = client.post(f"/tasks/{approved}/approve", json={
            "approved": True, "comment": "Terms acceptable.", "user_email": "gc@example.com"})
        assert answer.status_code == 200
        assert client.post(f"/tasks/{cancelled}/cancel", json={"reason": "Deal fell through"}).status_code == 200
    wait_for(lambda: any(e["event"] == "flows.tasks.completed" for e in events_for(hook, approved)))
    wait_for(lambda: webhooks(server)["pending"] == 0)

    mine = events_for(hook, approved)
    assert [e["event"] for e in mine] == ["flows.tasks.created", "flows.tasks.step_change", "flows.tasks.step_change",
                                          "flows.tasks.commented", "flows.tasks.step_change", "flows.tasks.completed"]
    everything = hook.envelopes()
    for envelope in everything:
        assert set(envelope) == ENVELOPE and envelope["organization_id"] and envelope["timestamp"].endswith("Z")
        assert set(envelope["data"]) == DATA_KEYS[envelope["event"]], envelope["event"]
        assert isinstance(envelope["data"]["task_id"], int)
        assert not {k for k in keys_anywhere(envelope["data"]) if "type" in k and k != "variable_type"}, envelope
        assert "task_url" not in envelope["data"]
    for _, headers, body in hook.deliveries:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-chamelio-signature"] == expected and headers["content-type"] == "application/json"

    created, intake_done, review_done, commented, decided, completed = (e["data"] for e in mine)
    assert set(created["current_step"]) == STEP and created["current_step"]["step_name"] == "Intake"
    assert created["initiated_by"].endswith("@example.com") and isinstance(created["variables"], list)
    for change in (intake_done, review_done):
        assert set(change["current_step"]) == STEP
        assert set(change["previous_step"]) == {"step_id", "step_name", "completed_by", "completed_at", "outcome"}
        assert change["previous_step"]["outcome"] == "submitted"
    assert intake_done["previous_step"]["step_name"] == "Intake"
    assert commented["comment_text"] == "Terms acceptable." and commented["commented_by"] == "gc@example.com"
    assert commented["current_step"]["step_id"] == decided["previous_step"]["step_id"]  # said at the approval step
    assert commented["comment_id"]
    assert decided["previous_step"]["outcome"] == "approved" and decided["previous_step"]["completed_by"] == "gc@example.com"
    assert completed["duration_hours"] >= 0 and completed["outputs"]["approval_outcome"] == "approved"

    (canceled,) = [e["data"] for e in events_for(hook, cancelled) if e["event"] == "flows.tasks.canceled"]
    assert canceled["reason"] == "Deal fell through" and canceled["canceled_at"].endswith("Z")
    assert set(canceled["step_at_cancellation"]) == {"step_id", "step_name"} and canceled["canceled_by"]


def test_a_reject_without_comment_sends_no_commented_event(make_server, receiver) -> None:
    server, hook = hooked(make_server, receiver)
    rejected, blank = new_task(server), new_task(server)
    with face(server) as client:
        assert client.post(f"/tasks/{rejected}/approve", json={"approved": False}).status_code == 200
        assert client.post(f"/tasks/{blank}/approve", json={"approved": True, "comment": "   "}).status_code == 200
    wait_for(lambda: len([e for e in hook.envelopes() if e["event"] == "flows.tasks.completed"]) == 2)
    assert not [e for e in hook.envelopes() if e["event"] == "flows.tasks.commented"]
    (change,) = [e["data"] for e in events_for(hook, rejected) if e["event"] == "flows.tasks.step_change"]
    assert change["previous_step"]["outcome"] == "rejected"
    assert change["previous_step"]["completed_by"]  # the API key's owner when user_email is absent


def test_string_task_ids_on_request(make_server, receiver) -> None:
    server, hook = hooked(make_server, receiver, chamelio_webhook_task_id="string")
    task_id = new_task(server)
    wait_for(lambda: hook.envelopes())
    assert hook.envelopes()[0]["data"]["task_id"] == str(task_id)
    assert webhooks(server)["events"][0]["data"]["task_id"] == str(task_id)
    with face(server) as client:  # the REST API keeps integers
        assert client.get(f"/tasks/{task_id}").json()["task"]["task_id"] == task_id


def test_get_task_has_every_documented_field_and_a_moving_workflow_state_id(make_server) -> None:
    server = make_server(chamelio_seed_workflows=0)
    task_id = new_task(server, step="intake")
    with face(server) as client:
        first = client.get(f"/tasks/{task_id}").json()["task"]
        assert set(first) == TASK_KEYS and isinstance(first["workflow_state_id"], int)
        admin_post(server, f"/chamelio/tasks/{task_id}/advance")
        second = client.get(f"/tasks/{task_id}").json()["task"]
        assert second["workflow_state_id"] != first["workflow_state_id"]
        assert client.post(f"/tasks/{task_id}/cancel").status_code == 200
        assert client.get(f"/tasks/{task_id}").json()["task"]["workflow_state_id"] not in (
            first["workflow_state_id"], second["workflow_state_id"])


def test_the_cancel_reason_is_optional_and_never_an_error(make_server, receiver) -> None:
    server, hook = hooked(make_server, receiver)
    ids = [new_task(server) for _ in range(3)]
    with face(server) as client:
        assert client.post(f"/tasks/{ids[0]}/cancel").status_code == 200
        assert client.post(f"/tasks/{ids[1]}/cancel", content=b"{oops",
                           headers={"content-type": "application/json"}).status_code == 200
        assert client.post(f"/tasks/{ids[2]}/cancel", json={"reason": 7}).status_code == 200
    wait_for(lambda: len([e for e in hook.envelopes() if e["event"] == "flows.tasks.canceled"]) == 3)
    assert {e["data"]["reason"] for e in hook.envelopes() if e["event"] == "flows.tasks.canceled"} == {None}


# -- retries ----------------------------------------------------------------------------------------


def test_failed_deliveries_are_retried_on_the_scaled_schedule_with_the_same_body(make_server, receiver) -> None:
    scale = 200.0  # timeout 50 ms; retries after 0.3 s, 1.5 s, 9 s, 36 s
    server, hook = hooked(make_server, receiver, time_scale=scale)
    hook.statuses = [503, 404]  # any non-2xx fails; then 200
    task_id = new_task(server)
    wait_for(lambda: webhooks(server)["pending"] == 0, timeout=10)
    arrivals = [(t, body) for t, _, body in hook.deliveries]
    assert len(arrivals) == 3 and len({body for _, body in arrivals}) == 1  # same event_id, same bytes
    gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert 60 / scale - 0.02 <= gaps[0] <= 60 / scale + 1.0
    assert 300 / scale - 0.02 <= gaps[1] <= 300 / scale + 1.0
    (delivery,) = [d for d in webhooks(server)["deliveries"] if d["task_id"] == task_id]
    assert (delivery["state"], delivery["attempts"], delivery["status"]) == ("delivered", 3, 200)
    assert [(a["outcome"], a["status"]) for a in delivery["log"]] == [("http_error", 503), ("http_error", 404),
                                                                      ("delivered", 200)]
    assert [a["retry_in_seconds"] for a in delivery["log"]] == [60 / scale, 300 / scale, None]
    view = webhooks(server)
    assert view["timeout_seconds"] == 10 / scale
    assert view["retry_schedule_seconds"] == [60 / scale, 300 / scale, 1800 / scale, 7200 / scale]


def test_a_slow_answer_is_a_timeout_and_is_retried(make_server, receiver) -> None:
    hook = receiver(delay=0.4)
    server = make_server(chamelio_webhook_url=hook.url, chamelio_webhook_secret=SECRET, chamelio_seed_workflows=0,
                         time_scale=100.0)  # timeout 0.1 s, first retry after 0.6 s
    new_task(server)
    wait_for(lambda: any(d["log"] for d in webhooks(server)["deliveries"]), timeout=5)
    (delivery,) = webhooks(server)["deliveries"]
    first = delivery["log"][0]
    assert first["outcome"] == "timeout" and first["status"] is None and first["retry_in_seconds"] == 0.6
    assert delivery["state"] == "pending" and delivery["next_attempt_at"]


@pytest.mark.slow
def test_after_the_fourth_failed_retry_the_event_is_undelivered(make_server, receiver) -> None:
    scale = 3_600.0  # retries after 1/60 s, 1/12 s, 0.5 s and 2 s
    server, hook = hooked(make_server, receiver, time_scale=scale)
    hook.statuses = [500] * 10
    new_task(server)
    wait_for(lambda: webhooks(server)["pending"] == 0, timeout=10)
    (delivery,) = webhooks(server)["deliveries"]
    assert delivery["state"] == "undelivered" and delivery["attempts"] == 5 and delivery["delivered_at"] is None
    assert all(a["outcome"] != "delivered" for a in delivery["log"])
    assert [a["retry_in_seconds"] for a in delivery["log"]] == [60 / scale, 300 / scale, 1800 / scale,
                                                                7200 / scale, None]
    assert len({body for _, _, body in hook.deliveries}) == 1


def test_a_dead_endpoint_is_a_connection_error(make_server) -> None:
    server = make_server(chamelio_webhook_url="http://127.0.0.1:9/hooks", chamelio_webhook_secret=SECRET,
                         chamelio_seed_workflows=0, time_scale=1_000.0)
    new_task(server)
    wait_for(lambda: any(d["log"] for d in webhooks(server)["deliveries"]))
    assert webhooks(server)["deliveries"][0]["log"][0]["outcome"] in ("connection_error", "timeout")


# -- the step delay on the scaled clock ------------------------------------------------------------------


def test_the_step_delay_is_divided_by_the_time_scale(make_server) -> None:
    server = make_server(chamelio_seed_workflows=0, chamelio_step_delay=60.0, time_scale=300.0)  # 0.2 s a step
    task_id = new_task(server, step="intake")
    record = admin_get(server, f"/chamelio/tasks/{task_id}")
    assert not record["awaiting_approval"]
    wait_for(lambda: admin_get(server, f"/chamelio/tasks/{task_id}")["awaiting_approval"], timeout=3)
    events = [e["event"] for e in webhooks(server)["events"] if e["data"]["task_id"] == task_id]
    assert events == ["flows.tasks.created", "flows.tasks.step_change", "flows.tasks.step_change"]
