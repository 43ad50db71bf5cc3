"""List, approve and dismiss: shapes, every documented error, and the error envelope."""

from __future__ import annotations

import re
import urllib.parse
import uuid

import httpx
import pytest

from .conftest import add_tasks, admin_task, pending_task

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
STATUSES = ["pending", "approved", "dismissed", "completed", "failed"]


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def test_list_shape_default_pending_newest_first(server, api) -> None:
    ids = add_tasks(server, [
        pending_task(created_at="2026-02-24T15:30:00Z", description="older"),
        pending_task(created_at="2026-02-24T16:00:00+00:00", description="newest"),
        pending_task(created_at="2026-02-20T09:00:00Z", description="oldest"),
    ])
    response = api.get("/v1/lexi/tasks")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"data"} and set(body["data"]) == {"tasks"}
    tasks = body["data"]["tasks"]
    mine = [t for t in tasks if t["id"] in ids]
    assert [t["description"] for t in mine] == ["newest", "older", "oldest"]
    for task in tasks:
        assert set(task) == {"id", "type", "status", "description", "created_at", "metadata"}
        assert task["status"] == "pending"
        assert ISO_Z.match(task["created_at"]), task["created_at"]
    assert mine[0]["created_at"] == "2026-02-24T16:00:00Z"
    for task_id in ids:
        uuid.UUID(task_id)  # generated ids are UUIDs
    created = [t["created_at"] for t in tasks]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("status", STATUSES)
def test_list_filters_by_each_status(server, api, status: str) -> None:
    ids = add_tasks(server, [pending_task(status=s, description=f"{status}-probe-{s}") for s in STATUSES])
    explicit = api.get("/v1/lexi/tasks", params={"status": status}).json()["data"]["tasks"]
    assert {t["status"] for t in explicit} == {status}
    assert ids[STATUSES.index(status)] in {t["id"] for t in explicit}
    others = set(ids) - {ids[STATUSES.index(status)]}
    assert not others & {t["id"] for t in explicit}


@pytest.mark.parametrize("value", ["foo", "", "PENDING", "archived"])
def test_invalid_status_is_a_validation_error(api, value: str) -> None:
    response = api.get("/v1/lexi/tasks", params={"status": value})
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "validation_error",
        "message": f"Invalid status '{value}'. Must be one of: pending, approved, dismissed, completed, failed",
        "details": {"allowed": STATUSES},
    }


def test_approve_success_and_second_approve(server, api) -> None:
    (task_id,) = add_tasks(server, [pending_task(metadata={"simulate": "complete"})])
    response = api.post(f"/v1/lexi/tasks/{task_id}/approve", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"data": {"task_id": task_id, "status": "approved", "execution_started": True}}
    again = api.post(f"/v1/lexi/tasks/{task_id}/approve")
    assert again.status_code == 400
    assert error_of(again) == {"code": "validation_error", "message": "Task has already been approved"}
    assert "details" not in error_of(again)


@pytest.mark.parametrize("content", [None, b"", b"{}", b"  \n", b"[]", b'{"note": "x"}'])
def test_approve_accepts_empty_or_any_json_body(server, api, content: bytes | None) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    response = api.post(f"/v1/lexi/tasks/{task_id}/approve", content=content,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("action", ["approve", "dismiss"])
@pytest.mark.parametrize("content", [b"{", b"not json", b'{"reason": NaN}', b"\xff\xfe{"])
def test_malformed_body_is_rejected(server, api, action: str, content: bytes) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    response = api.post(f"/v1/lexi/tasks/{task_id}/{action}", content=content,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response) == {"code": "validation_error", "message": "Request body must be valid JSON"}
    assert admin_task(server, task_id)["status"] == "pending"


@pytest.mark.parametrize(("status", "message"), [
    ("approved", "Task has already been approved"),
    ("completed", "Task has already been approved"),
    ("failed", "Task has already been approved"),
    ("dismissed", "Task has already been dismissed"),
    ("archived", "Task is not in pending status"),
    ("Pending", "Task is not in pending status"),
])
@pytest.mark.parametrize("action", ["approve", "dismiss"])
def test_acting_on_non_pending_tasks(server, api, status: str, message: str, action: str) -> None:
    (task_id,) = add_tasks(server, [pending_task(status=status)])
    response = api.post(f"/v1/lexi/tasks/{task_id}/{action}", json={})
    assert response.status_code == 400
    assert error_of(response) == {"code": "validation_error", "message": message}
    record = admin_task(server, task_id)
    assert record["status"] == status
    assert record["approve_count"] == record["dismiss_count"] == 0


@pytest.mark.parametrize("action", ["approve", "dismiss"])
def test_unknown_task_is_404(api, action: str) -> None:
    response = api.post(f"/v1/lexi/tasks/{uuid.uuid4()}/{action}")
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "Task not found"}


def test_dismiss_with_reason_is_stored(server, api) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    response = api.post(f"/v1/lexi/tasks/{task_id}/dismiss", json={"reason": "Not relevant right now"})
    assert response.status_code == 200
    assert response.json() == {"data": {"task_id": task_id, "status": "dismissed"}}
    record = admin_task(server, task_id)
    assert record["status"] == "dismissed"
    assert record["reason"] == "Not relevant right now"
    assert record["dismiss_count"] == 1 and record["approve_count"] == 0
    assert ISO_Z.match(record["dismissed_at"])
    again = api.post(f"/v1/lexi/tasks/{task_id}/dismiss", json={"reason": "duplicate"})
    assert error_of(again)["message"] == "Task has already been dismissed"
    assert admin_task(server, task_id)["reason"] == "Not relevant right now"
    approve = api.post(f"/v1/lexi/tasks/{task_id}/approve")
    assert error_of(approve)["message"] == "Task has already been dismissed"


@pytest.mark.parametrize("body", [None, {}, {"reason": None}, {"reason": ""}, {"reason": "bulk_cleanup", "x": 1}])
def test_dismiss_reason_is_optional(server, api, body) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    response = api.post(f"/v1/lexi/tasks/{task_id}/dismiss", json=body) if body is not None else \
        api.post(f"/v1/lexi/tasks/{task_id}/dismiss")
    assert response.status_code == 200, response.text
    expected = body.get("reason") if body else None
    assert admin_task(server, task_id)["reason"] == expected


@pytest.mark.parametrize("body", [{"reason": 5}, {"reason": ["a"]}, {"reason": {"text": "x"}}, {"reason": True}])
def test_dismiss_reason_must_be_a_string(server, api, body) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    response = api.post(f"/v1/lexi/tasks/{task_id}/dismiss", json=body)
    assert response.status_code == 400
    assert error_of(response) == {"code": "validation_error", "message": "reason must be a string"}
    assert admin_task(server, task_id)["status"] == "pending"


def test_dismiss_body_must_be_an_object(server, api) -> None:
    (task_id,) = add_tasks(server, [pending_task()])
    response = api.post(f"/v1/lexi/tasks/{task_id}/dismiss", json=["not_relevant"])
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_dismissed_task_never_executes(server, api) -> None:
    (task_id,) = add_tasks(server, [pending_task(metadata={"simulate": "complete"})])
    api.post(f"/v1/lexi/tasks/{task_id}/dismiss")
    api.get("/v1/lexi/tasks")
    assert admin_task(server, task_id)["status"] == "dismissed"


def test_ids_with_unusual_characters_are_addressable(server, api) -> None:
    odd_ids = ["with/slash", "spaces and ünïcødé", "a?b#c", "100%"]
    add_tasks(server, [pending_task(id=i) for i in odd_ids])
    for task_id in odd_ids:
        quoted = urllib.parse.quote(task_id, safe="")
        response = api.post(f"/v1/lexi/tasks/{quoted}/approve")
        assert response.status_code == 200, (task_id, response.text)
        assert response.json()["data"]["task_id"] == task_id


def test_unknown_routes_and_methods_use_the_envelope(server, api) -> None:
    missing = api.get("/v1/lexi/nothing")
    assert missing.status_code == 404
    assert error_of(missing) == {"code": "not_found", "message": "Not found"}
    outside = httpx.get(f"{server.root_url}/elsewhere")
    assert outside.status_code == 404 and error_of(outside)["code"] == "not_found"
    assert outside.headers["x-request-id"].startswith("req_")
    wrong_method = api.delete("/v1/lexi/tasks")
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["code"] == "method_not_allowed"
