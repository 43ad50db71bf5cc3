"""ChamelioClient against the local service's Chamelio face over real loopback HTTP.

Every documented status code and `detail` message is produced by the service; the hostile
server (`tests.support.hostile_server`) plays what the service cannot produce on purpose (a
malformed success body).
"""

from __future__ import annotations

import socket

import httpx
import pytest

from lexi_tui.api import (
    ConflictError,
    ConnectError,
    InvalidKeyError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from lexi_tui.api.chamelio import (
    CHAMELIO_BASE_URL,
    MAX_TASK_ID,
    ChamelioClient,
    ChamelioStatus,
    ChamelioTask,
    VariableType,
    VariableValue,
    parse_task_ref,
    validate_variable,
)
from tests.support.hostile_server import HostileServer, Reply

from .chamelio_support import EXPIRED, INACTIVE, KEY, REVOKED, admin_get, admin_post, api, base_url, new_task, wait_for


def client_for(server, key: str = KEY, **kwargs) -> ChamelioClient:
    return ChamelioClient(key, base_url(server), **kwargs)


async def test_get_task_returns_a_typed_task(service) -> None:
    async with client_for(service) as client:
        task = await client.get_task(1001)
    assert task.task_id == 1001 and task.task_url.endswith("/workflows/1/tasks/1001")
    assert task.title and task.workflow_name == "Vendor Contract Approval" and task.workflow_id == "1"
    assert task.status is ChamelioStatus.IN_PROGRESS and task.current_step_type == "approval"
    assert task.awaiting_approval and not task.is_finished and task.approval_outcome is None
    assert [run.step_type for run in task.step_runs] == ["intake", "review", "approval"]
    assert task.step_runs[-1].status == "in_progress"
    assert task.created_at is not None and task.created_at <= task.updated_at
    assert task.owner_email.endswith("@example.com") and task.assignee_email.endswith("@example.com")
    assert {v.variable_id for v in task.variables} >= {"counterparty", "requester", "contract_value"}
    assert task.raw["task_id"] == 1001


async def test_approval_details_with_and_without_files(service) -> None:
    async with client_for(service) as client:
        bare = await client.approval_details(1001)
        details = await client.approval_details(1001, include_files=True)
    assert bare.files == () and bare.task_id == 1001
    types = {v.type for v in details.variables_to_approve}
    assert types >= {VariableType.TEXT, VariableType.NUMBER, VariableType.BOOLEAN, VariableType.DATE,
                     VariableType.EMAIL, VariableType.SELECT}
    select = next(v for v in details.variables_to_approve if v.type is VariableType.SELECT)
    assert select.options == ("Low", "Medium", "High") and select.value in select.options
    assert select.validate("Medium") is None and select.validate("Huge")
    assert all(v.name for v in details.variables_to_approve)
    assert details.step_run is not None and details.step_run.step_type == "approval"
    assert details.eligible_approvers_active and details.next_eligible_approvers
    assert details.files and all(f.file_name and f.download_url and f.expires_at for f in details.files)
    download = httpx.get(details.files[0].download_url)  # a pre-signed link: no key needed
    assert download.status_code == 200 and details.files[0].file_name in download.text


async def test_approve_with_comment_and_variables_is_stored_and_completes(service) -> None:
    task_id = new_task(service)
    async with client_for(service) as client:
        details = await client.approval_details(task_id)
        number = next(v for v in details.variables_to_approve if v.type is VariableType.NUMBER)
        result = await client.approve(task_id, comment="Terms OK \u2013 approved", user_email="gc@example.com",
                                      variables=[VariableValue(number.variable_id, "number", "1250.50")])
        assert result.task_id == task_id and result.approved is True
        assert result.status is ChamelioStatus.IN_PROGRESS
        assert result.message == "Approval submitted successfully"
        record = admin_get(service, f"/tasks/{task_id}")
        assert record["approve_calls"] == 1 and record["comment"] == "Terms OK \u2013 approved"
        assert record["variables"] == [{"variable_id": number.variable_id, "type": "number", "value": "1250.50"}]
        assert record["user_email"] == "gc@example.com" and record["outcome"] == "approved"

        async def finished() -> ChamelioTask:
            return await client.get_task(task_id)

        task = await finished()
        for _ in range(100):
            if task.is_finished:
                break
            task = await finished()
        assert task.status is ChamelioStatus.COMPLETED and task.approval_outcome == "approved"
        assert task.completed_at is not None and not task.awaiting_approval


async def test_reject_follows_the_rejection_path(service) -> None:
    task_id = new_task(service)
    async with client_for(service) as client:
        result = await client.reject(task_id, comment="Liability cap too low")
        assert result.approved is False and result.message == "Rejection submitted successfully"
        wait_for(lambda: admin_get(service, f"/tasks/{task_id}")["status"] == "completed")
        task = await client.get_task(task_id)
    assert task.approval_outcome == "rejected" and task.step_runs[-1].step_name == "Rejection notice"
    record = admin_get(service, f"/tasks/{task_id}")
    assert record["approved"] is False and record["comment"] == "Liability cap too low"


async def test_409_for_approve_and_cancel(service) -> None:
    task_id = new_task(service)
    async with client_for(service) as client:
        await client.approve(task_id)
        with pytest.raises(ConflictError) as approve_again:
            await client.approve(task_id)
        with pytest.raises(ConflictError) as details:
            await client.approval_details(task_id)
        wait_for(lambda: admin_get(service, f"/tasks/{task_id}")["status"] == "completed")
        with pytest.raises(ConflictError) as cancel:
            await client.cancel(task_id)
    assert approve_again.value.message == "Task is not awaiting approval" and approve_again.value.status == 409
    assert details.value.message == "Task is not awaiting approval"
    assert cancel.value.message == "Task cannot be cancelled in its current state"
    assert approve_again.value.code == "conflict" and not approve_again.value.retryable
    assert admin_get(service, f"/tasks/{task_id}")["approve_calls"] == 2


async def test_cancel(service) -> None:
    task_id = new_task(service, step="review")
    async with client_for(service) as client:
        result = await client.cancel(task_id)
        assert result.task_id == task_id and result.status is ChamelioStatus.CANCELLED and result.message
        task = await client.get_task(task_id)
        assert task.status is ChamelioStatus.CANCELLED and task.current_step_type == "" and task.is_finished
        with pytest.raises(ConflictError):
            await client.reject(task_id)


async def test_404_task_not_found(service) -> None:
    async with client_for(service) as client:
        for call in (client.get_task(999_999), client.approval_details(999_999), client.approve(999_999),
                     client.cancel(999_999)):
            with pytest.raises(NotFoundError) as caught:
                await call
            assert caught.value.message == "Task not found" and caught.value.status == 404


@pytest.mark.parametrize(("key", "message"), [
    ("ca_unknown_key_0000000000000", "Invalid API key"),
    (INACTIVE, "API key is inactive"),
    (REVOKED, "API key has been revoked"),
    (EXPIRED, "API key has expired"),
])
async def test_401_messages(service, key: str, message: str) -> None:
    async with client_for(service, key) as client:
        with pytest.raises(InvalidKeyError) as caught:
            await client.get_task(1001)
    error = caught.value
    assert error.message == message and error.status == 401 and error.request_id
    assert key not in str(error) and key not in repr(error)


async def test_401_api_key_required(service) -> None:
    with api(service, key=None) as raw:
        response = raw.get("/tasks/1001")
    assert response.status_code == 401 and response.json() == {"detail": "API key required"}
    async with client_for(service) as client:
        del client._http.headers["X-API-Key"]  # the public client never sends a request without its key
        with pytest.raises(InvalidKeyError) as caught:
            await client.get_task(1001)
    assert caught.value.message == "API key required"


async def test_422_validation_list(service) -> None:
    task_id = new_task(service)
    with api(service) as raw:
        missing = raw.post(f"/tasks/{task_id}/approve", json={"comment": "no decision"})
        bad_path = raw.get("/tasks/not-a-number")
    assert missing.status_code == 422
    assert missing.json() == {"detail": [{"loc": ["body", "approved"], "msg": "field required",
                                          "type": "value_error.missing"}]}
    assert bad_path.status_code == 422 and bad_path.json()["detail"][0]["loc"] == ["path", "task_id"]
    async with client_for(service) as client:
        with pytest.raises(ValidationError) as caught:
            await client.approve(task_id, variables=[
                {"variable_id": "approved_value", "type": "number", "value": "twelve"},
                {"variable_id": "no_such_variable", "type": "text", "value": "x"},
            ])
    error = caught.value
    assert error.status == 422 and isinstance(error.details, list) and len(error.details) == 2
    assert {"loc", "msg", "type"} <= set(error.details[0])
    assert error.message == ("body.variables.0.value: value is not a valid number; body.variables.1.variable_id: "
                             "unknown variable 'no_such_variable' for this approval step")
    assert admin_get(service, f"/tasks/{task_id}")["status"] == "in_progress"  # nothing was applied


async def test_500_failed_to_submit_approval_is_not_retried(service) -> None:
    task_id = new_task(service)
    admin_post(service, "/faults", {"fail_next_approvals": 1})
    async with client_for(service, read_retries=3) as client:
        with pytest.raises(ServerError) as caught:
            await client.approve(task_id, comment="first try")
        assert caught.value.message == "Failed to submit approval" and caught.value.status == 500
        assert caught.value.retryable
        record = admin_get(service, f"/tasks/{task_id}")
        assert record["approve_calls"] == 1 and record["comment"] is None and record["awaiting_approval"]
        assert (await client.approve(task_id, comment="second try")).approved
    assert admin_get(service, f"/tasks/{task_id}")["comment"] == "second try"


async def test_rate_limit_headers_and_429(make_service) -> None:
    server = make_service(chamelio_rate_limit=3, chamelio_seed_workflows=1)
    seen = []
    async with client_for(server) as client:
        client.add_listener(seen.append)
        await client.get_task(1001)
        first = client.rate_limit
        assert first is not None and first.limit == 3 and first.remaining == 2
        assert first.reset_at is not None and 0 < first.seconds_until_reset() <= 61
        await client.get_task(1001)
        await client.approval_details(1001)
        with pytest.raises(RateLimitedError) as caught:
            await client.get_task(1001)
    error = caught.value
    assert error.message == "Rate limit exceeded" and error.status == 429
    assert error.retry_after is not None and 0 < error.retry_after <= 61
    assert error.rate_limit is not None and error.rate_limit.remaining == 0
    assert len(seen) == 4  # the read was not retried after the 429
    assert all(info.request_id and info.request_id.startswith("req_") for info in seen)
    assert [info.status for info in seen] == [200, 200, 200, 429]
    async with client_for(server, "ca_unknown_0000000000000000") as stranger:
        with pytest.raises(InvalidKeyError):  # 401 before the limit, and not counted
            await stranger.get_task(1001)


async def test_request_id_key_masking_and_repr(service) -> None:
    async with client_for(service) as client:
        assert KEY not in repr(client) and client.masked_key.endswith(KEY[-4:])
        await client.get_task(1002)
        assert client.last_request_id and client.last_request_id.startswith("req_")
        with pytest.raises(NotFoundError) as caught:
            await client.get_task(5)
    assert caught.value.request_id and caught.value.request_id in str(caught.value)
    with pytest.raises(ValueError) as bad_key:
        ChamelioClient("ca_secret with space")
    assert "secret" not in str(bad_key.value)


async def test_task_ids_must_be_integers(service) -> None:
    async with client_for(service) as client:
        for bad in ("1001", 10.0, True, None):
            with pytest.raises(TypeError):
                await client.get_task(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="never negative"):
            await client.cancel(-1)
        with pytest.raises(ValueError, match="too large for a Chamelio task id"):
            await client.approve(MAX_TASK_ID + 1)
    with HostileServer(Reply.json({"task": {"task_id": MAX_TASK_ID}})) as server:
        async with ChamelioClient(KEY, server.url) as client:
            assert (await client.get_task(MAX_TASK_ID)).task_id == MAX_TASK_ID  # the largest id is a valid one
    assert server.requests[0].target == f"/tasks/{MAX_TASK_ID}"


async def test_malformed_success_body_and_connection_refused() -> None:
    assert ChamelioClient(KEY).base_url == CHAMELIO_BASE_URL
    page = Reply(body=b"<html>gateway</html>", headers=[("Content-Type", "text/html")])
    with HostileServer([page, Reply.json({"tasks": []})]) as server:
        async with ChamelioClient(KEY, server.url, read_retries=0) as client:
            with pytest.raises(MalformedResponseError, match="HTML page"):
                await client.get_task(1)
            with pytest.raises(MalformedResponseError, match="no task object"):
                await client.get_task(1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with ChamelioClient(KEY, f"http://127.0.0.1:{port}", read_retries=0) as client:
        with pytest.raises(ConnectError):
            await client.get_task(1)


def test_models_tolerate_odd_json_and_clean_server_text() -> None:
    task = ChamelioTask.from_api({
        "task_id": "77", "task_title": "Evil \x1b]2;owned\x07 title", "status": "on_hold",
        "current_step_type": "Approval", "collaborator_emails": ["a@example.com", {"email": "b@example.com"}, 3],
        "step_runs": [{"step_run_id": 5, "status": "approved", "step_type": "approval", "variables": "nope"}, "junk"],
        "variables": [{"variable_id": "v", "variable_type": "quantum", "value": True}, None],
    })
    assert task.task_id == 77 and "\x1b" not in task.title and "\x07" not in task.title
    assert task.status == "on_hold" and not task.status.is_known and task.current_step_type == "approval"
    assert not task.awaiting_approval  # an unknown status is not "open"
    assert task.collaborator_emails == ("a@example.com", "b@example.com", "3")
    assert task.approval_outcome == "approved" and task.step_runs[1].step_run_id == ""
    assert task.variables[0].type == "quantum" and task.variables[0].value == "true"
    assert task.raw["task_title"].startswith("Evil \x1b")  # raw keeps what was sent
    assert ChamelioTask.from_api(None, 12).task_id == 12


@pytest.mark.parametrize(("text", "expected"), [
    ("1234", 1234), (" #1234 ", 1234), ("https://platform.chamelio.ai/tasks/1234", 1234),
    ("https://platform.chamelio.ai/workflows/9/tasks/1234?x=1#y", 1234), ("http://127.0.0.1:8787/chamelio/tasks/5/", 5),
    ("<https://platform.chamelio.ai/tasks/88>", 88),
])
def test_parse_task_ref(text: str, expected: int) -> None:
    assert parse_task_ref(text) == expected


def test_parse_task_ref_takes_every_64_bit_id_and_refuses_larger_ones() -> None:
    assert parse_task_ref(str(MAX_TASK_ID)) == MAX_TASK_ID == 2**63 - 1
    assert parse_task_ref(f"https://platform.chamelio.ai/tasks/{MAX_TASK_ID}") == MAX_TASK_ID
    for text in (str(MAX_TASK_ID + 1), f"#{10**40}", f"https://platform.chamelio.ai/tasks/{2**64}", "9" * 5000):
        with pytest.raises(ValueError) as refused:
            parse_task_ref(text)
        assert "too large for a Chamelio task id" in str(refused.value) and len(str(refused.value)) < 200


@pytest.mark.parametrize("text", ["", "abc", "#", "0", "-5", "12a", "https://platform.chamelio.ai/workflows/9",
                                  "https://platform.chamelio.ai/tasks/12/approve", "ftp://x/tasks/1", "1" * 30,
                                  "/tasks/12", "\x1b]52;c;aGk=\x07"])
def test_parse_task_ref_rejects(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_task_ref(text)
    assert "task id" in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(("kind", "value", "ok"), [
    ("number", "1250", True), ("number", "-3.5", True), ("number", "1e6", True), ("number", "1,000", False),
    ("number", "nan", False), ("number", "twelve", False), ("boolean", "true", True), ("boolean", "false", True),
    ("boolean", "yes", False), ("boolean", "True", False), ("date", "2025-03-31", True),
    ("date", "2025-03-31T17:00:00Z", True), ("date", "2025-02-30", False), ("date", "31/03/2025", False),
    ("email", "a.b@example.com", True), ("email", "not-an-email", False), ("email", "a@b", False),
    ("user_entity", "gc@example.com", True), ("user_entity", "General Counsel", False),
    ("text", "anything", True), ("text", "  ", False), ("business", "Contoso", True), ("file", "file_1", True),
    ("select", "Low", True), ("mystery", "x", True), ("mystery", "", False),
])
def test_validate_variable(kind: str, value: str, ok: bool) -> None:
    assert (validate_variable(kind, value) is None) is ok


def test_validate_select_against_options() -> None:
    assert validate_variable("select", "High", ["Low", "High"]) is None
    assert validate_variable("select", "Huge", ["Low", "High"]) == "must be one of: Low, High"
