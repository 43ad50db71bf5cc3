"""Fixtures for the local service tests: real servers on loopback, plain httpx clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lexi_tui.server import RunningServer, ServerOptions, start_server

KEY = "wbk_test_lexi_0000000000000001"
KEY2 = "wbk_test_lexi_0000000000000002"
NO_LEXI_KEY = "wbk_test_nolexi_000000000000003"


def auth(key: str = KEY) -> dict[str, str]:
    """Authorization header for `key`."""
    return {"Authorization": f"Bearer {key}"}


def base_options(**overrides: Any) -> ServerOptions:
    """Options most tests want: known keys, admin on, instant and successful execution."""
    values: dict[str, Any] = dict(keys=(KEY, KEY2), keys_without_lexi=(NO_LEXI_KEY,), admin=True,
                                  exec_delay=0.0, failure_rate=0.0)
    values.update(overrides)
    return ServerOptions(**values)


_admin_client: httpx.Client | None = None


def admin_client() -> httpx.Client:
    """One shared client for admin calls (creating an httpx client costs ~20 ms)."""
    global _admin_client
    if _admin_client is None:
        _admin_client = httpx.Client(timeout=10)
    return _admin_client


def add_tasks(server: RunningServer, tasks: list[dict[str, Any]]) -> list[str]:
    """Insert tasks through the admin endpoint and return their ids."""
    response = admin_client().post(f"{server.root_url}/_admin/tasks", json=tasks)
    assert response.status_code == 201, response.text
    return response.json()["data"]["ids"]


def admin_task(server: RunningServer, task_id: str) -> dict[str, Any]:
    """The full stored record of a task."""
    response = admin_client().get(f"{server.root_url}/_admin/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def pending_task(**fields: Any) -> dict[str, Any]:
    """A minimal valid task for the admin/`--tasks` shape."""
    task = {"type": "prospect_search", "description": "Search for 20 CEOs at law firms in New York",
            "metadata": {"query": {"person_titles": ["CEO"]}, "per_page": 20}}
    task.update(fields)
    return task


@pytest.fixture(scope="session", autouse=True)
def _close_admin_client() -> Iterator[None]:
    yield
    if _admin_client is not None:
        _admin_client.close()


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here should touch the home directory; make sure it cannot."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """One shared server per module; tests add their own tasks so they do not interfere."""
    with start_server(base_options()) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """A client for the shared server, authenticated with the lexi key."""
    with httpx.Client(base_url=server.base_url, headers=auth(), timeout=10) as client:
        yield client


@pytest.fixture
def make_server() -> Iterator[Callable[..., RunningServer]]:
    """Start dedicated servers (options as keyword overrides); all stopped after the test."""
    started: list[RunningServer] = []

    def make(**overrides: Any) -> RunningServer:
        running = start_server(base_options(**overrides))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
