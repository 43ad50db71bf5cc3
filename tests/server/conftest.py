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


def admin_get(server: RunningServer, path: str) -> Any:
    """`GET /_admin{path}` -> its `data` (asserting 200)."""
    response = admin_client().get(f"{server.root_url}/_admin{path}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def admin_post(server: RunningServer, path: str, body: Any = None, status: int = 200) -> Any:
    """`POST /_admin{path}` with a JSON body -> its parsed JSON (asserting `status`)."""
    response = admin_client().post(f"{server.root_url}/_admin{path}", json=body)
    assert response.status_code == status, response.text
    return response.json()


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


class WebhookReceiver:
    """A webhook endpoint on loopback (stdlib http.server) that records every delivery.

    Args:
        statuses: status codes to answer with, in order (then 200 for ever).
        delay: seconds to wait before answering each delivery (to provoke timeouts).
    """

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.deliveries: list[tuple[float, dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import time

                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.deliveries.append((time.time(), {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the sender gave up (timeout) or stopped
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._server = Quiet(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def envelopes(self) -> list[dict[str, Any]]:
        """Every delivered body, parsed, in arrival order (retries included)."""
        import json

        with self._lock:
            return [json.loads(body) for _, _, body in self.deliveries]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[..., WebhookReceiver]]:
    """Make webhook receivers (`receiver(statuses=[503], delay=0)`); all closed after the test."""
    made: list[WebhookReceiver] = []

    def make(**kwargs: Any) -> WebhookReceiver:
        made.append(WebhookReceiver(**kwargs))
        return made[-1]

    yield make
    for item in made:
        item.close()
