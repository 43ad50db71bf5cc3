"""The local service's Chamelio face over raw HTTP: seeding, lifecycle, storage, limits, webhooks."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import httpx
import pytest

from lexi_tui.server import start_server
from lexi_tui.server.cli import add_arguments, banner, options_from_args
from lexi_tui.server.options import CHAMELIO_DEMO_KEY, ServerOptions

from .chamelio_support import (
    SECRET,
    Recorder,
    admin_get,
    admin_post,
    api,
    base_url,
    new_task,
    service_options,
    signature,
    wait_for,
)

TIME_FIELDS = {"created_at", "updated_at", "completed_at", "started_at", "task_url", "decided_at"}


def _strip(value):
    """A task without its times and URL, to compare two seeded services."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIME_FIELDS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _tasks(server) -> dict[int, dict]:
    ids = admin_get(server, "/tasks")["ids"]
    with api(server) as client:
        return {task_id: client.get(f"/tasks/{task_id}").json()["task"] for task_id in ids}


def test_seeding_is_deterministic_and_covers_the_documented_shapes(make_service) -> None:
    first = _tasks(make_service(chamelio_seed_workflows=3, random_seed=11))
    again = _tasks(make_service(chamelio_seed_workflows=3, random_seed=11))
    other = _tasks(make_service(chamelio_seed_workflows=3, random_seed=12))
    assert _strip(first) == _strip(again)
    assert _strip(first) != _strip(other)
    ids = sorted(first)
    assert ids[0] == 1001 and ids == list(range(1001, 1001 + len(ids))) and 9 <= len(ids) <= 15
    keys = {"task_id", "task_url", "task_title", "workflow_id", "workflow_name", "workflow_version",
            "workflow_state_id", "status",
            "current_step_id", "current_step_name", "current_step_type", "created_at", "updated_at", "completed_at",
            "owner_email", "assignee_email", "collaborator_emails", "step_runs", "variables"}
    assert all(set(task) == keys for task in first.values())
    statuses = {task["status"] for task in first.values()}
    assert statuses <= {"pending", "in_progress", "completed", "failed", "cancelled"}
    by_workflow: dict[int, list[dict]] = {}
    for task in first.values():
        by_workflow.setdefault(task["workflow_id"], []).append(task)
    assert len(by_workflow) == 3
    for tasks in by_workflow.values():
        assert sum(t["current_step_type"] == "approval" for t in tasks) >= 2
    server = make_service(chamelio_seed_workflows=3, random_seed=11)
    with api(server) as client:
        approval = [i for i, t in first.items() if t["current_step_type"] == "approval"]
        details = [client.get(f"/tasks/{i}/approval-details", params={"include_files": "true"}).json()
                   for i in approval]
    assert any(d["files"] for d in details) and any(not d["files"] for d in details)
    types = {v["variable_type"] for d in details for v in d["variables_to_approve"]}
    assert types >= {"text", "number", "boolean", "date", "email", "select"}
    assert all(v["options"] for d in details for v in d["variables_to_approve"] if v["variable_type"] == "select")
    assert set(details[0]) == {"task_id", "step_run", "eligible_approvers_active", "next_eligible_approvers",
                               "variables_to_approve", "files"}
    assert set(details[0]["files"][0]) >= {"file_id", "file_name", "content_type", "download_url", "expires_at",
                                           "variable_id"} if details[0]["files"] else True


def test_lifecycle_intake_review_approval_then_completed(service) -> None:
    task_id = new_task(service, step="intake", title="Lifecycle check")
    with api(service) as client:
        task = client.get(f"/tasks/{task_id}").json()["task"]
        assert (task["status"], task["current_step_type"], task["task_title"]) == ("pending", "intake",
                                                                                     "Lifecycle check")
        assert client.post(f"/tasks/{task_id}/approve", json={"approved": True}).status_code == 409
        assert admin_post(service, f"/tasks/{task_id}/advance")["current_step_type"] == "review"
        record = admin_post(service, f"/tasks/{task_id}/advance")
        assert record["current_step_type"] == "approval" and record["status"] == "in_progress"
        assert record["awaiting_approval"]
        bad = httpx.post(f"{service.root_url}/_admin/chamelio/tasks/{task_id}/advance")
        assert bad.status_code == 409  # an approval step needs a decision
        answer = client.post(f"/tasks/{task_id}/approve", json={"approved": True})
        assert answer.status_code == 200
        assert answer.json() == {"task_id": task_id, "status": "in_progress", "approved": True,
                                 "message": "Approval submitted successfully"}
        task = wait_for(lambda: (t := client.get(f"/tasks/{task_id}").json()["task"])["status"] == "completed" and t)
    assert task["current_step_type"] is None and task["completed_at"] is not None
    assert [(r["step_type"], r["status"]) for r in task["step_runs"]] == [
        ("intake", "completed"), ("review", "completed"), ("approval", "approved"), ("action", "completed")]


def test_reject_and_cancel(service) -> None:
    rejected, cancelled = new_task(service), new_task(service, step="review")
    with api(service) as client:
        answer = client.post(f"/tasks/{rejected}/approve", json={"approved": False, "comment": "No."})
        assert answer.json()["approved"] is False and answer.json()["status"] == "in_progress"
        done = client.post(f"/tasks/{cancelled}/cancel")
        assert done.json() == {"task_id": cancelled, "status": "cancelled", "message": "Task cancelled successfully"}
        again = client.post(f"/tasks/{cancelled}/cancel")
        assert again.status_code == 409
        assert again.json() == {"detail": "Task cannot be cancelled in its current state"}
        assert client.post(f"/tasks/{cancelled}/approve", json={"approved": True}).json() == {
            "detail": "Task is not awaiting approval"}
    wait_for(lambda: admin_get(service, f"/tasks/{rejected}")["status"] == "completed")
    record = admin_get(service, f"/tasks/{rejected}")
    assert record["outcome"] == "rejected" and record["comment"] == "No."
    assert record["task"]["step_runs"][2]["status"] == "rejected"
    cancelled_record = admin_get(service, f"/tasks/{cancelled}")
    assert cancelled_record["outcome"] == "cancelled" and cancelled_record["cancel_calls"] == 2
    assert cancelled_record["approve_calls"] == 1


def test_submitted_variables_and_comment_are_stored(service) -> None:
    task_id = new_task(service)
    with api(service) as client:
        details = client.get(f"/tasks/{task_id}/approval-details").json()
        by_type = {v["variable_type"]: v for v in details["variables_to_approve"]}
        select = by_type["select"]
        variables = [
            {"variable_id": by_type["number"]["variable_id"], "type": "number", "value": "42"},
            {"variable_id": by_type["boolean"]["variable_id"], "type": "boolean", "value": "true"},
            {"variable_id": by_type["date"]["variable_id"], "type": "date", "value": "2026-06-30"},
            {"variable_id": by_type["email"]["variable_id"], "type": "email", "value": "sign@example.com"},
            {"variable_id": select["variable_id"], "type": "select", "value": select["options"][-1]},
            {"variable_id": by_type["text"]["variable_id"], "type": "text", "value": "Line one\nline two"},
        ]
        answer = client.post(f"/tasks/{task_id}/approve", json={
            "approved": True, "comment": "Checked \u2713", "variables": variables, "user_email": "gc@example.com"})
        assert answer.status_code == 200, answer.text
    record = admin_get(service, f"/tasks/{task_id}")
    assert record["variables"] == variables and record["comment"] == "Checked \u2713"
    assert record["approve_calls"] == 1 and record["user_email"] == "gc@example.com"
    stored = {v["variable_id"]: v["value"] for v in record["task"]["variables"]}
    assert all(stored[v["variable_id"]] == v["value"] for v in variables)
    approval_run = record["task"]["step_runs"][2]
    assert {v["variable_id"] for v in approval_run["variables"]} == {v["variable_id"] for v in variables}


@pytest.mark.parametrize(("body", "loc", "kind"), [
    (None, ["body"], "value_error.missing"),
    ([], ["body"], "type_error.dict"),
    ({"approved": "yes"}, ["body", "approved"], "type_error.bool"),
    ({"approved": True, "comment": 5}, ["body", "comment"], "type_error.str"),
    ({"approved": True, "user_email": "nobody"}, ["body", "user_email"], "value_error.email"),
    ({"approved": True, "variables": {}}, ["body", "variables"], "type_error.list"),
    ({"approved": True, "variables": [{"variable_id": "approved_value", "type": "number"}]},
     ["body", "variables", 0, "value"], "value_error.missing"),
    ({"approved": True, "variables": [{"variable_id": "approved_value", "type": "number", "value": 5}]},
     ["body", "variables", 0, "value"], "type_error.str"),
    ({"approved": True, "variables": [{"variable_id": "ghost", "type": "text", "value": "x"}]},
     ["body", "variables", 0, "variable_id"], "value_error.unknown_variable"),
    ({"approved": True, "variables": [{"variable_id": "approved_value", "type": "text", "value": "5"}]},
     ["body", "variables", 0, "type"], "value_error.type_mismatch"),
    ({"approved": True, "variables": [{"variable_id": "auto_renewal", "type": "boolean", "value": "maybe"}]},
     ["body", "variables", 0, "value"], "value_error.variable"),
    ({"approved": True, "variables": [{"variable_id": "effective_date", "type": "date", "value": "tomorrow"}]},
     ["body", "variables", 0, "value"], "value_error.variable"),
    ({"approved": True, "variables": [{"variable_id": "signatory_email", "type": "email", "value": "x@"}]},
     ["body", "variables", 0, "value"], "value_error.variable"),
    ({"approved": True, "variables": [{"variable_id": "risk_rating", "type": "select", "value": "Extreme"}]},
     ["body", "variables", 0, "value"], "value_error.variable"),
    ({"approved": True, "variables": [{"variable_id": "approved_value", "type": "number", "value": " "}]},
     ["body", "variables", 0, "value"], "value_error.variable"),
])
def test_422_for_malformed_bodies(service, body, loc, kind) -> None:
    task_id = new_task(service, workflow_id=1)  # Vendor Contract Approval: known variable ids
    with api(service) as client:
        if body is None:
            answer = client.post(f"/tasks/{task_id}/approve")
        else:
            answer = client.post(f"/tasks/{task_id}/approve", json=body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"] == loc and detail[0]["type"] == kind
    assert isinstance(detail[0]["msg"], str) and detail[0]["msg"]
    assert admin_get(service, f"/tasks/{task_id}")["awaiting_approval"]


def test_invalid_json_and_query_are_422(service) -> None:
    with api(service) as client:
        broken = client.post("/tasks/1001/approve", content=b'{"approved": tru', headers={"content-type": "application/json"})
        query = client.get("/tasks/1001/approval-details", params={"include_files": "perhaps"})
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "value_error.jsondecode"
    assert query.status_code == 422 and query.json()["detail"][0]["loc"] == ["query", "include_files"]


def test_every_64_bit_id_is_looked_up_and_a_longer_one_is_422(service) -> None:
    """Ids are integers (the docs give no range; a BIGINT holds 2**63 - 1, 19 digits): the
    largest is looked up like any other (not found here), one past it is not an integer id."""
    with api(service) as client:
        largest = client.get(f"/tasks/{2**63 - 1}")
        past = client.get(f"/tasks/{2**63}")
        nineteen = client.post(f"/tasks/{10**18}/cancel")
    assert largest.status_code == 404 and largest.json() == {"detail": "Task not found"}
    assert nineteen.status_code == 404
    assert past.status_code == 422 and past.json()["detail"][0]["loc"] == ["path", "task_id"]


def test_keys_rate_limit_and_request_ids(make_service) -> None:
    server = make_service(chamelio_rate_limit=2, chamelio_seed_workflows=1)
    with api(server, key=None) as anonymous:
        missing = anonymous.get("/tasks/1001")
        unknown = anonymous.get("/tasks/1001", headers={"X-API-Key": "ca_nope"})
    assert missing.json() == {"detail": "API key required"} and unknown.json() == {"detail": "Invalid API key"}
    assert "x-ratelimit-limit" not in missing.headers and missing.headers["x-request-id"].startswith("req_")
    with api(server) as client:
        ok = client.get("/tasks/1001")
        not_found = client.get("/tasks/42")
        limited = client.get("/tasks/1001")
    assert ok.headers["x-ratelimit-limit"] == "2" and ok.headers["x-ratelimit-remaining"] == "1"
    assert int(ok.headers["x-ratelimit-reset"]) >= time.time()
    assert not_found.json() == {"detail": "Task not found"} and not_found.headers["x-ratelimit-remaining"] == "0"
    assert limited.status_code == 429 and limited.json() == {"detail": "Rate limit exceeded"}
    assert 1 <= int(limited.headers["retry-after"]) <= 60 and limited.headers["x-ratelimit-remaining"] == "0"
    ids = {r.headers["x-request-id"] for r in (missing, unknown, ok, not_found, limited)}
    assert len(ids) == 5
    with api(server) as client:  # the Lexi face's limit is separate (off here)
        lexi = httpx.get(f"{server.base_url}/v1/lexi/tasks", headers={"Authorization": "Bearer wbk_demo_0000000000000000"})
    assert lexi.status_code == 200 and "x-ratelimit-limit" not in lexi.headers


def test_demo_key_only_without_configured_keys(make_service) -> None:
    demo = make_service(chamelio_keys=(), chamelio_key_states=())
    configured = make_service()
    assert httpx.get(f"{base_url(demo)}/tasks/1001", headers={"X-API-Key": CHAMELIO_DEMO_KEY}).status_code == 200
    assert httpx.get(f"{base_url(configured)}/tasks/1001", headers={"X-API-Key": CHAMELIO_DEMO_KEY}).status_code == 401


def test_lexi_faults_do_not_reach_the_chamelio_face(make_service) -> None:
    server = make_service(error_rate=1.0)
    with api(server) as client:
        assert client.get("/tasks/1001").status_code == 200
        assert client.get("/nowhere").json() == {"detail": "Not Found"}


def test_approve_failure_rate_option(make_service) -> None:
    server = make_service(chamelio_approve_failure_rate=1.0)
    with api(server) as client:
        answer = client.post("/tasks/1001/approve", json={"approved": True})
    assert answer.status_code == 500 and answer.json() == {"detail": "Failed to submit approval"}
    assert admin_get(server, "/faults")["failed_approvals"] == 1
    assert admin_get(server, "/tasks/1001")["awaiting_approval"]


def test_state_survives_a_restart_with_the_same_db(tmp_path) -> None:
    options = service_options(db_path=str(tmp_path / "svc.db"))
    with start_server(options) as first:
        with api(first) as client:
            client.post("/tasks/1001/approve", json={"approved": True, "comment": "kept"})
        port = first.port
    with start_server(dataclasses.replace(options, port=port)) as again:
        record = admin_get(again, "/tasks/1001")
        assert record["comment"] == "kept" and record["status"] == "completed"
        events = [e["event"] for e in admin_get(again, "/webhooks")["events"]]
        assert "flows.tasks.created" not in events  # seeded tasks already stored are not created again
        with api(again) as client:  # the Lexi tables share the file and still work
            assert httpx.get(f"{again.base_url}/v1/lexi/tasks",
                             headers={"Authorization": "Bearer wbk_demo_0000000000000000"}).status_code == 200


def test_step_delay_moves_tasks_on_their_own(make_service) -> None:
    server = make_service(chamelio_step_delay=0.15, chamelio_seed_workflows=0)
    task_id = new_task(server, step="intake")
    wait_for(lambda: admin_get(server, f"/tasks/{task_id}")["awaiting_approval"], timeout=5)
    events = [e["event"] for e in admin_get(server, "/webhooks")["events"] if e["data"]["task_id"] == task_id]
    assert events == ["flows.tasks.created", "flows.tasks.step_change", "flows.tasks.step_change"]


def test_webhooks_are_signed_and_cover_every_transition(make_service) -> None:
    """Documented envelopes and data (no step type anywhere: a receiver must read the task), signed,
    and a failed delivery retried with the same event_id and the very same bytes. `time_scale`
    makes the documented 1 min retry come after 3 s (and the 10 s time-out 0.5 s)."""
    recorder = Recorder(statuses=[503])  # the first delivery is retried
    try:
        server = make_service(chamelio_seed_workflows=1, chamelio_webhook_url=recorder.url,
                              chamelio_webhook_secret=SECRET, time_scale=20)
        seeded = admin_get(server, "/tasks")["ids"]
        wait_for(lambda: len({e["data"]["task_id"] for e in recorder.envelopes()}) == len(seeded))
        approved, cancelled = 1001, 1002
        with api(server) as client:
            assert client.post(f"/tasks/{approved}/approve", json={"approved": True}).status_code == 200
            assert client.post(f"/tasks/{cancelled}/cancel").status_code == 200
        wait_for(lambda: any(e["event"] == "flows.tasks.completed" and e["data"]["task_id"] == approved
                             for e in recorder.envelopes()))
        wait_for(lambda: any(e["event"] == "flows.tasks.canceled" for e in recorder.envelopes()))
        wait_for(lambda: recorder.envelopes().count(recorder.envelopes()[0]) == 2, timeout=15)  # the retry
        for headers, body in recorder.deliveries:
            assert headers["x-chamelio-signature"] == signature(body)
            assert headers["content-type"] == "application/json"
        envelopes = recorder.envelopes()
        assert all(set(e) == {"event", "event_id", "organization_id", "timestamp", "data"} for e in envelopes)
        bodies: dict[str, set[bytes]] = {}
        for _, body in recorder.deliveries:
            bodies.setdefault(json.loads(body)["event_id"], set()).add(body)
        assert all(len(same) == 1 for same in bodies.values())  # a retry resends the very same bytes
        first_id = envelopes[0]["event_id"]
        assert [e["event_id"] for e in envelopes].count(first_id) == 2  # only the refused one came twice
        assert len(bodies) == len(envelopes) - 1
        assert "current_step_type" not in json.dumps(envelopes) and "step_type" not in json.dumps(envelopes)
        created = [e for e in envelopes if e["event"] == "flows.tasks.created"]
        assert {e["data"]["task_id"] for e in created} == set(seeded)
        assert set(created[0]["data"]) == {"task_id", "workflow_id", "workflow_name", "workflow_version",
                                           "initiated_by", "current_step", "variables"}
        mine = [e for e in envelopes if e["data"]["task_id"] == approved and e["event"] != "flows.tasks.created"]
        assert [e["event"] for e in mine] == ["flows.tasks.step_change", "flows.tasks.completed"]
        change = mine[0]["data"]
        assert set(change) == {"task_id", "workflow_id", "workflow_name", "previous_step", "current_step"}
        assert set(change["previous_step"]) == {"step_id", "step_name", "completed_by", "completed_at", "outcome"}
        assert change["previous_step"]["outcome"] == "approved"
        assert set(change["current_step"]) == {"step_id", "step_name", "assignee"}
        assert set(mine[1]["data"]) >= {"completed_at", "duration_hours", "variables", "outputs"}
        (canceled,) = [e for e in envelopes if e["event"] == "flows.tasks.canceled"]
        assert canceled["data"]["task_id"] == cancelled
        assert set(canceled["data"]) >= {"canceled_by", "canceled_at", "reason", "step_at_cancellation"}
        deliveries = admin_get(server, "/webhooks")["deliveries"]
        assert deliveries[0]["attempts"] == 2 and deliveries[0]["status"] == 200
        assert [entry["outcome"] for entry in deliveries[0]["log"]] == ["http_error", "delivered"]
        assert deliveries[0]["log"][0]["retry_in_seconds"] == pytest.approx(60 / 20)
    finally:
        recorder.close()


def test_webhooks_never_block_requests(make_service) -> None:
    recorder = Recorder(delay=1.0)
    try:
        server = make_service(chamelio_seed_workflows=1, chamelio_webhook_url=recorder.url,
                              chamelio_webhook_secret=SECRET)
        with api(server) as client:
            started = time.monotonic()
            assert client.post("/tasks/1001/approve", json={"approved": True}).status_code == 200
            assert client.get("/tasks/1002").status_code == 200
            assert time.monotonic() - started < 0.5
        assert admin_get(server, "/webhooks")["pending"] >= 1
    finally:
        recorder.close()


def test_cli_options_and_banner() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    one, two, old = "ca_one_000000001111", "ca_two_000000002222", "ca_old_000000003333"
    args = parser.parse_args(["--chamelio-key", one, "--chamelio-key", two,
                              "--chamelio-key-state", f"{old}=revoked", "--chamelio-rate-limit", "5",
                              "--chamelio-seed-workflows", "4", "--chamelio-step-delay", "30",
                              "--chamelio-webhook-url", "http://127.0.0.1:9/hook",
                              "--chamelio-webhook-secret", "s3", "--chamelio-approve-failure-rate", "0.5"])
    options = options_from_args(args)
    assert options.chamelio_keys == (one, two)
    assert options.chamelio_key_table() == {one: "active", two: "active", old: "revoked"}
    assert (options.chamelio_rate_limit, options.chamelio_seed_workflows, options.chamelio_step_delay) == (5, 4, 30.0)
    assert options.chamelio_webhook_url == "http://127.0.0.1:9/hook" and options.chamelio_approve_failure_rate == 0.5
    text = banner(options, "http://h:1/functions/v1/api-gateway", "http://h:1", "/tmp/x.db")
    assert "http://h:1/chamelio" in text
    assert "ca_…1111" in text and "ca_…2222" in text and "ca_…3333" not in text  # active keys, masked
    assert one not in text and two not in text and old not in text  # never a whole key on screen
    with pytest.raises(SystemExit):
        parser.parse_args(["--chamelio-key-state", "ca_x=sleepy"])
    with pytest.raises(ValueError, match="secret"):
        ServerOptions(chamelio_webhook_url="http://127.0.0.1:9/hook")
    assert ServerOptions().chamelio_key_table() == {CHAMELIO_DEMO_KEY: "active"}
    assert json.dumps(dataclasses.asdict(ServerOptions()))  # still plain data
