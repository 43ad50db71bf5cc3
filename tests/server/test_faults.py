"""Injected faults: JSON 500 / HTML 502, dropped connections, latency; admin is exempt."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import admin_client, auth

INTERNAL = {"error": {"code": "internal_error", "message": "Internal server error"}}


def test_errors_alternate_between_json_500_and_html_502(make_server) -> None:
    server = make_server(error_rate=1.0)
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        responses = [client.get("/v1/lexi/tasks") for _ in range(4)]
    assert [r.status_code for r in responses] == [500, 502, 500, 502]
    assert responses[0].json() == INTERNAL
    assert responses[0].headers["content-type"] == "application/json"
    bad_gateway = responses[1]
    assert bad_gateway.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in bad_gateway.text
    assert bad_gateway.text.lstrip().startswith("<html>")
    for response in responses:
        assert response.headers["x-request-id"].startswith("req_")
    stats = admin_client().get(f"{server.root_url}/_admin/stats").json()["data"]  # admin is never faulted
    assert stats["faults"]["errors_500"] == 2 and stats["faults"]["errors_502"] == 2


def test_faults_apply_before_auth(make_server) -> None:
    server = make_server(error_rate=1.0)
    assert admin_client().get(f"{server.base_url}/v1/lexi/tasks").status_code == 500


def test_dropped_connections_are_seen_by_the_client(make_server) -> None:
    server = make_server(drop_rate=1.0)
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        for _ in range(3):
            with pytest.raises(httpx.RemoteProtocolError):
                client.get("/v1/lexi/tasks")
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/lexi/chat", json={"message": "hello"})
    admin = admin_client()
    assert admin.get(f"{server.root_url}/_admin/stats").json()["data"]["faults"]["dropped"] == 4
    changed = admin.post(f"{server.root_url}/_admin/faults", json={"drop_rate": 0})
    assert changed.json()["data"]["drop_rate"] == 0
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        assert client.get("/v1/lexi/tasks").status_code == 200


async def test_dropped_connection_with_async_client(make_server) -> None:
    server = make_server(drop_rate=1.0)
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/v1/lexi/tasks")


def test_latency_is_added_but_not_to_admin(make_server) -> None:
    server = make_server(latency_ms=(150.0, 150.0))
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        client.get(f"{server.root_url}/_admin/stats")  # warm the connection
        started = time.perf_counter()
        assert client.get("/v1/lexi/tasks").status_code == 200
        assert time.perf_counter() - started >= 0.15
        started = time.perf_counter()
        client.get(f"{server.root_url}/_admin/stats")
        assert time.perf_counter() - started < 0.1


def test_faults_can_change_at_runtime(make_server) -> None:
    server = make_server()
    admin = admin_client()
    url = f"{server.root_url}/_admin/faults"
    assert admin.get(url).json()["data"] == {"latency_ms": [0.0, 0.0], "error_rate": 0.0, "drop_rate": 0.0}
    updated = admin.post(url, json={"latency_ms": [0, 20], "error_rate": 1.0})
    assert updated.json()["data"] == {"latency_ms": [0.0, 20.0], "error_rate": 1.0, "drop_rate": 0.0}
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        assert client.get("/v1/lexi/tasks").status_code == 500
        admin.post(url, json={"error_rate": 0})
        assert client.get("/v1/lexi/tasks").status_code == 200


@pytest.mark.parametrize("body", [{"error_rate": 2}, {"drop_rate": -0.1}, {"latency_ms": [50, 10]},
                                  {"latency_ms": "fast"}, {"jitter": 1}, {"error_rate": True}, [1]])
def test_invalid_fault_changes_are_rejected(server, body) -> None:
    response = admin_client().post(f"{server.root_url}/_admin/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert admin_client().get(f"{server.root_url}/_admin/faults").json()["data"]["error_rate"] == 0.0


def test_fault_sequence_is_reproducible_for_a_seed(make_server) -> None:
    sequences = []
    for _ in range(2):
        server = make_server(error_rate=0.5, random_seed=11)
        with httpx.Client(base_url=server.base_url, headers=auth()) as client:
            sequences.append([client.get("/v1/lexi/tasks").status_code for _ in range(16)])
        server.stop()
    assert sequences[0] == sequences[1]
    assert {200, 500} <= set(sequences[0])
