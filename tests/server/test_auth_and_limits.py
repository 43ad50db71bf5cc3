"""API keys (401/403), per-key rate limits (429 and X-RateLimit-*), and X-Request-ID."""

from __future__ import annotations

import math
import re
import time
import uuid

import httpx
import pytest

from lexi_tui.server import DEMO_KEY
from lexi_tui.server.keys import mask_key

from .conftest import KEY, KEY2, NO_LEXI_KEY, add_tasks, admin_client, auth, pending_task

REQUEST_ID = re.compile(r"^req_[0-9a-f]{16,}$")
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")

ENDPOINTS = [
    ("GET", "/v1/lexi/tasks", None),
    ("POST", "/v1/lexi/tasks/{id}/approve", None),
    ("POST", "/v1/lexi/tasks/{id}/dismiss", {"reason": "x"}),
    ("POST", "/v1/lexi/chat", {"message": "hello"}),
]


def call(client: httpx.Client, base: str, method: str, path: str, body, headers: dict[str, str]) -> httpx.Response:
    return client.request(method, base + path.replace("{id}", str(uuid.uuid4())), json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wbk_unknown_key"},
    {"Authorization": f"Basic {KEY}"},
    {"Authorization": "Bearer"},
    {"Authorization": KEY},
])
def test_missing_or_unknown_key_is_401(server, method, path, body, headers) -> None:
    response = call(admin_client(), server.base_url, method, path, body, headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "invalid_key", "message": "Invalid API key"}}
    assert REQUEST_ID.match(response.headers["x-request-id"])


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_key_without_lexi_permission_is_403(server, method, path, body) -> None:
    response = call(admin_client(), server.base_url, method, path, body, auth(NO_LEXI_KEY))
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "insufficient_permissions", "message": "Missing lexi permission"}}


def test_auth_is_checked_before_validation_and_404(server) -> None:
    client = admin_client()
    bad_status = client.get(f"{server.base_url}/v1/lexi/tasks?status=nope")
    assert bad_status.status_code == 401
    missing = client.post(f"{server.base_url}/v1/lexi/tasks/{uuid.uuid4()}/approve", content=b"{",
                          headers=auth(NO_LEXI_KEY))
    assert missing.status_code == 403
    no_route = client.get(f"{server.base_url}/v1/whatever")
    assert no_route.status_code == 401
    bad_chat = client.post(f"{server.base_url}/v1/lexi/chat", json={}, headers={"Authorization": "Bearer nope"})
    assert bad_chat.status_code == 401


def test_bearer_scheme_is_case_insensitive(server) -> None:
    response = admin_client().get(f"{server.base_url}/v1/lexi/tasks", headers={"Authorization": f"bearer  {KEY}"})
    assert response.status_code == 200


def test_demo_key_only_when_no_keys_are_configured(make_server) -> None:
    open_server = make_server(keys=(), keys_without_lexi=())
    assert open_server.api_key == DEMO_KEY
    assert admin_client().get(f"{open_server.base_url}/v1/lexi/tasks", headers=auth(DEMO_KEY)).status_code == 200
    assert admin_client().get(f"{open_server.base_url}/v1/lexi/tasks", headers=auth(KEY)).status_code == 401
    configured = make_server()
    assert admin_client().get(f"{configured.base_url}/v1/lexi/tasks", headers=auth(DEMO_KEY)).status_code == 401


def test_request_id_on_every_kind_of_response(server, api) -> None:
    responses = [
        api.get("/v1/lexi/tasks"),
        api.get("/v1/lexi/tasks", params={"status": "bad"}),
        api.post(f"/v1/lexi/tasks/{uuid.uuid4()}/approve"),
        api.delete("/v1/lexi/tasks"),
        admin_client().get(f"{server.base_url}/v1/lexi/tasks"),
        admin_client().get(f"{server.base_url}/v1/lexi/tasks", headers=auth(NO_LEXI_KEY)),
        admin_client().get(f"{server.root_url}/nowhere"),
        admin_client().get(f"{server.root_url}/_admin/stats"),
    ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_no_rate_limit_headers_when_limiting_is_off(server, api) -> None:
    response = api.get("/v1/lexi/tasks")
    assert not any(h in response.headers for h in RATE_HEADERS)
    assert "retry-after" not in response.headers


def test_rate_limit_headers_count_down_then_429(make_server) -> None:
    server = make_server(rate_limit=3, rate_window=60)
    client = admin_client()
    started = time.time()
    remaining = []
    resets = set()
    for _ in range(3):
        response = client.get(f"{server.base_url}/v1/lexi/tasks", headers=auth())
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "3"
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
        resets.add(response.headers["x-ratelimit-reset"])
    assert remaining == [2, 1, 0]
    assert len(resets) == 1
    reset = int(resets.pop())
    assert math.ceil(started) + 59 <= reset <= math.ceil(time.time()) + 61
    for _ in range(3):  # refused requests do not consume budget or move the window
        refused = client.get(f"{server.base_url}/v1/lexi/tasks", headers=auth())
        assert refused.status_code == 429
        # The documented body, and no Retry-After: the vendor documents none (--retry-after adds it).
        assert refused.json() == {"error": {"code": "rate_limited", "message": "Rate limit exceeded"}}
        assert "retry-after" not in refused.headers
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.headers["x-ratelimit-reset"] == str(reset)
        assert REQUEST_ID.match(refused.headers["x-request-id"])
    # Other keys have their own budget; 401s are not counted against anyone.
    for _ in range(5):
        assert client.get(f"{server.base_url}/v1/lexi/tasks", headers=auth("wbk_nope")).status_code == 401
    other = client.get(f"{server.base_url}/v1/lexi/tasks", headers=auth(KEY2))
    assert other.status_code == 200 and other.headers["x-ratelimit-remaining"] == "2"
    stats = client.get(f"{server.root_url}/_admin/stats").json()["data"]
    assert stats["rate_limited"] == 3
    assert stats["by_key"][mask_key(KEY)] == 6 and stats["by_key"][mask_key(KEY2)] == 1  # keys masked
    assert stats["unauthorized"] == 5


def test_rate_limit_applies_to_every_endpoint_and_error(make_server) -> None:
    server = make_server(rate_limit=4, rate_window=60)
    client = admin_client()
    (task_id,) = add_tasks(server, [pending_task()])
    responses = [
        client.get(f"{server.base_url}/v1/lexi/tasks?status=bad", headers=auth()),
        client.post(f"{server.base_url}/v1/lexi/tasks/{uuid.uuid4()}/approve", headers=auth()),
        client.post(f"{server.base_url}/v1/lexi/tasks/{task_id}/dismiss", headers=auth()),
        client.post(f"{server.base_url}/v1/lexi/chat", json={"message": "hi"}, headers=auth()),
        client.post(f"{server.base_url}/v1/lexi/chat", json={"message": "hi"}, headers=auth()),
    ]
    assert [r.status_code for r in responses] == [400, 404, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["3", "2", "1", "0", "0"]
    forbidden = client.get(f"{server.base_url}/v1/lexi/tasks", headers=auth(NO_LEXI_KEY))
    assert forbidden.status_code == 403
    assert forbidden.headers["x-ratelimit-limit"] == "4" and forbidden.headers["x-ratelimit-remaining"] == "3"
    unauthenticated = client.get(f"{server.base_url}/v1/lexi/tasks")
    assert not any(h in unauthenticated.headers for h in RATE_HEADERS)
    admin = client.get(f"{server.root_url}/_admin/stats")
    assert not any(h in admin.headers for h in RATE_HEADERS)


def test_window_resets_with_full_budget(make_server) -> None:
    server = make_server(rate_limit=2, rate_window=0.6)
    client = admin_client()
    url = f"{server.base_url}/v1/lexi/tasks"
    assert [client.get(url, headers=auth()).status_code for _ in range(4)] == [200, 200, 429, 429]
    time.sleep(0.7)
    after = [client.get(url, headers=auth()) for _ in range(3)]
    assert [r.status_code for r in after] == [200, 200, 429]
    assert after[0].headers["x-ratelimit-remaining"] == "1"
