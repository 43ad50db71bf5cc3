"""start_server / RunningServer: ports, restarts on the same port and db, cleanup, silence."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

from lexi_tui.server import GATEWAY_PREFIX, start_server

from .conftest import add_tasks, admin_task, auth, base_options, pending_task


def test_urls_and_port_zero(make_server) -> None:
    server = make_server()
    assert server.host == "127.0.0.1" and server.port > 0
    assert server.root_url == f"http://127.0.0.1:{server.port}"
    assert server.base_url == server.root_url + GATEWAY_PREFIX == server.root_url + "/functions/v1/api-gateway"
    assert server.running
    assert httpx.get(f"{server.base_url}/v1/lexi/tasks", headers=auth()).status_code == 200


def test_stop_releases_the_port_and_is_idempotent() -> None:
    server = start_server(base_options())
    port = server.port
    server.stop()
    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/v1/lexi/tasks", headers=auth())
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", port))
    probe.close()


def test_restart_on_same_port_and_db_keeps_data(tmp_path) -> None:
    options = base_options(db_path=str(tmp_path / "lexi.db"))
    with start_server(options) as first:
        (kept, dismissed) = add_tasks(first, [pending_task(), pending_task()])
        with httpx.Client(base_url=first.base_url, headers=auth()) as client:
            client.post(f"/v1/lexi/tasks/{dismissed}/dismiss", json={"reason": "incorrect_params"})
            chat = client.post("/v1/lexi/chat", json={"message": "Create a list called Q3 Targets"}).json()["data"]
        port = first.port
    for _ in range(2):  # stop and come back twice: each time on the same port
        with start_server(dataclasses.replace(options, port=port)) as again:
            assert again.port == port
            pending = httpx.get(f"{again.base_url}/v1/lexi/tasks", headers=auth()).json()["data"]["tasks"]
            assert {kept, chat["task_id"]} <= {t["id"] for t in pending}
            assert admin_task(again, dismissed)["reason"] == "incorrect_params"
            conversation = httpx.get(f"{again.root_url}/_admin/conversations/{chat['conversation_id']}").json()
            assert len(conversation["data"]["messages"]) == 2


def test_client_keepalive_connection_survives_restart_as_an_error_then_recovers(tmp_path) -> None:
    options = base_options(db_path=str(tmp_path / "lexi.db"))
    first = start_server(options)
    with httpx.Client(base_url=first.base_url, headers=auth()) as client:
        assert client.get("/v1/lexi/tasks").status_code == 200
        first.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/v1/lexi/tasks")
        with start_server(dataclasses.replace(options, port=first.port)):
            assert client.get("/v1/lexi/tasks").status_code == 200


def test_temporary_database_is_deleted_at_stop() -> None:
    with start_server(base_options()) as server:
        path = server.db_path
        assert os.path.exists(path)
    assert not any(os.path.exists(path + suffix) for suffix in ("", "-wal", "-shm"))


def test_explicit_database_is_kept(tmp_path) -> None:
    path = tmp_path / "keep.db"
    with start_server(base_options(db_path=str(path))):
        pass
    assert path.exists()


def test_port_in_use_raises(make_server) -> None:
    busy = make_server()
    with pytest.raises(OSError):
        start_server(base_options(port=busy.port))


def test_nothing_is_written_to_the_terminal(capfd, make_server) -> None:
    server = make_server()
    with httpx.Client(base_url=server.base_url, headers=auth()) as client:
        client.get("/v1/lexi/tasks")
        client.get("/v1/lexi/tasks")  # no auth problems, but also:
        client.post("/v1/lexi/chat", content=b"{", headers={"Content-Type": "application/json"})
        client.get("/nowhere")
    httpx.post(f"{server.root_url}/_admin/faults", json={"drop_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{server.base_url}/v1/lexi/tasks", headers=auth())
    httpx.post(f"{server.root_url}/_admin/faults", json={"drop_rate": 0.0, "error_rate": 1.0})
    httpx.get(f"{server.base_url}/v1/lexi/tasks", headers=auth())
    server.stop()
    time.sleep(0.05)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_unexpected_errors_become_json_500_silently(capfd, make_server, monkeypatch) -> None:
    server = make_server()

    def boom(status: str) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server._service.store, "list_body", boom)
    response = httpx.get(f"{server.base_url}/v1/lexi/tasks", headers=auth())
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
    assert response.headers["x-request-id"].startswith("req_")
    server.stop()
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_stale_temporary_databases_of_dead_processes_are_swept(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f"lexi-local-{dead_pid}-abc123.db"
    live = tmp_path / f"lexi-local-{os.getppid()}-def456.db"  # our parent is alive
    unrelated = tmp_path / "lexi-local-nopid.db"
    for path in (stale, live, unrelated):
        path.write_bytes(b"")
    (tmp_path / f"{stale.name}-wal").write_bytes(b"")
    with start_server(base_options()) as server:
        assert os.path.dirname(server.db_path) == str(tmp_path)
        assert os.path.basename(server.db_path).startswith(f"lexi-local-{os.getpid()}-")
        assert not stale.exists() and not (tmp_path / f"{stale.name}-wal").exists()
        assert live.exists() and unrelated.exists()
