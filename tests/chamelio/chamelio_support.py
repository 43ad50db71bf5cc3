"""Helpers shared by the Chamelio tests (a uniquely named module: no clash with other dirs)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from lexi_tui.server import RunningServer, ServerOptions

KEY = "ca_test_active_000000000000a1b2"
INACTIVE = "ca_test_inactive_0000000000001"
REVOKED = "ca_test_revoked_00000000000002"
EXPIRED = "ca_test_expired_00000000000003"
SECRET = "whsec_test_secret"


def service_options(**overrides: Any) -> ServerOptions:
    values: dict[str, Any] = dict(
        chamelio_keys=(KEY,),
        chamelio_key_states=((INACTIVE, "inactive"), (REVOKED, "revoked"), (EXPIRED, "expired")),
        chamelio_seed_workflows=2, random_seed=3, admin=True, exec_delay=0.0,
    )
    values.update(overrides)
    return ServerOptions(**values)


def base_url(server: RunningServer) -> str:
    return server.root_url + "/chamelio"


def api(server: RunningServer, key: str | None = KEY) -> httpx.Client:
    headers = {"X-API-Key": key} if key is not None else {}
    return httpx.Client(base_url=base_url(server), headers=headers, timeout=10)


def admin_get(server: RunningServer, path: str) -> Any:
    response = httpx.get(f"{server.root_url}/_admin/chamelio{path}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def admin_post(server: RunningServer, path: str, body: Any = None, status: int = 200) -> Any:
    response = httpx.post(f"{server.root_url}/_admin/chamelio{path}", json=body, timeout=10)
    assert response.status_code == status, response.text
    return response.json()["data"]


def new_task(server: RunningServer, **body: Any) -> int:
    """A fresh task (at the approval step unless `step=` says otherwise)."""
    return admin_post(server, "/tasks", body, status=201)["task_id"]


def wait_for(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _QuietServer(ThreadingHTTPServer):
    """No tracebacks from handler threads: printing one parses source with `ast` in that
    thread, which races the main thread's assertion rewriting on Python 3.11 (SystemError
    "AST constructor recursion depth mismatch", fixed in 3.11.9+)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Recorder:
    """A tiny webhook receiver (stdlib http.server) that records every delivery.

    `statuses` is a list of status codes to answer with, in order (then 200)."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if recorder.delay:
                    time.sleep(recorder.delay)
                with recorder._lock:
                    recorder.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = recorder.statuses.pop(0) if recorder.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:  # the sender gave up (service stopped): nothing to tell it
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/chamelio"

    def envelopes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body in self.deliveries]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
