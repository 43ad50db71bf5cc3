"""Helpers for the scriptable-CLI tests: a local service, the real console script, the judge.

The service's admin endpoints are the judge of what was applied: the tests never trust
the CLI's own account of what it did.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import RunningServer, start_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / "bin" / "lexi-tui"
KEY = "wbk_clitest_0000000000000000c11"
OTHER_KEY = "wbk_clitest_0000000000000000bad"


def task_id(n: int) -> str:
    return f"9d2f61b0-{n:04d}-4000-8000-{n:012d}"


SEARCH_CA = {"query": {"person_titles": ["CEO"], "person_locations": ["California"]}, "per_page": 20}

TASKS: list[dict[str, Any]] = [
    {"id": task_id(1), "type": "prospect_search", "status": "pending", "created_at": "2026-11-20T10:00:00Z",
     "description": "Search for 20 CEOs at law firms in California", "metadata": SEARCH_CA},
    {"id": task_id(2), "type": "campaign_start", "status": "pending", "created_at": "2026-11-20T11:00:00Z",
     "description": "Start campaign 'Q2 Outreach' for 150 contacts",
     "metadata": {"campaign_id": "c-1", "contact_count": 150}},
    {"id": task_id(3), "type": "prospect_search", "status": "pending", "created_at": "2026-11-20T12:00:00Z",
     "description": "Search for 20 CEOs at law firms in California (again)", "metadata": SEARCH_CA},
    {"id": task_id(4), "type": "contact_update", "status": "pending", "created_at": "2026-11-20T13:00:00Z",
     "description": "Set\x1b]2;pwned\x07 stage to qualified for 42 contacts who replied",
     "metadata": {"contact_count": 42}},
    {"id": task_id(5), "type": "prospect_search", "status": "pending", "created_at": "2026-11-20T14:00:00Z",
     "description": "Search for 500 VPs of Sales in Texas",
     "metadata": {"query": {"person_locations": ["Texas"]}, "per_page": 500}},
    {"id": task_id(6), "type": "list_operation", "status": "dismissed", "created_at": "2026-11-19T09:00:00Z",
     "description": "Create list 'Old leads'", "metadata": {"list_name": "Old leads"}},
]
PENDING = [t["id"] for t in TASKS if t["status"] == "pending"]

RULES_TOML = """
[[rules]]
name = "duplicates"
action = "dismiss"
duplicate_of_pending = true
reason = "duplicate"

[[rules]]
name = "everything small"
action = "approve"
description = "."
[rules.metadata]
"per_page" = "<= 50"

[[rules]]
name = "campaigns by description"
action = "approve"
description = "(?i)campaign"
"""
"""Rule 3 would approve the campaign if campaign_start were not protected (it names no type)."""


def start(**overrides: Any) -> RunningServer:
    """A fresh service holding TASKS (or `tasks=`), admin on, instant successful execution."""
    options: dict[str, Any] = dict(keys=(KEY,), tasks=tuple(TASKS), exec_delay=0.0, failure_rate=0.0, admin=True)
    options.update(overrides)
    return start_server(ServerOptions(**options))


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with start() as running:
        yield running


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Isolated XDG folders for one test's subprocesses."""
    for name in ("config", "data", "cache", "state"):
        (tmp_path / name).mkdir()
    return tmp_path


def history_file(home: Path) -> Path:
    return home / "data" / "lexi-tui" / "history.jsonl"


def cli_env(home: Path, key: str | None = KEY, **extra: str) -> dict[str, str]:
    """The environment of one test's subprocess: isolated folders, the null keyring, `key` as
    LEXI_API_KEY (and `extra`, e.g. CHAMELIO_API_KEY=...); no variable of the test runner's
    own that lexi-tui reads (LEXI_*, CHAMELIO_*, XDG_*) leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LEXI_", "CHAMELIO_", "TEXTUAL_"))}
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", COLUMNS="80", PYTHONIOENCODING="utf-8",
    )
    if key is not None:
        env["LEXI_API_KEY"] = key
    env.update(extra)
    return env


def run_cli(home: Path, *args: str, key: str | None = KEY, stdin: str | None = None,
            timeout: float = 30, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would, with an isolated environment."""
    return subprocess.run([str(SCRIPT), *args], env=cli_env(home, key, **extra), input=stdin, capture_output=True,
                          text=True, timeout=timeout, cwd=str(home))


def write_config(home: Path, text: str, name: str = "config.toml") -> Path:
    """A config file in the test's home (the default location when `name` is config.toml)."""
    folder = home / "config" / "lexi-tui"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def log_file(home: Path) -> Path:
    """Where `--debug` writes the request log for a subprocess of this home (XDG_STATE_HOME)."""
    return home / "state" / "lexi-tui" / "log" / "requests.log"


def lexi_reads(server: RunningServer) -> int:
    """GET /v1/lexi/tasks calls the service answered (any status)."""
    endpoints = admin_stats(server)["by_endpoint"]
    return sum(count for label, count in endpoints.items() if label.startswith("GET /v1/lexi/tasks"))


def admin_task(server: RunningServer, tid: str) -> dict[str, Any]:
    response = httpx.get(f"{server.root_url}/_admin/tasks/{tid}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def admin_stats(server: RunningServer) -> dict[str, Any]:
    return httpx.get(f"{server.root_url}/_admin/stats", timeout=5).json()["data"]


def writes_sent(server: RunningServer) -> int:
    endpoints = admin_stats(server)["by_endpoint"]
    return sum(count for label, count in endpoints.items() if label.startswith("POST /v1/lexi/tasks/"))


def unused_port() -> int:
    """A port nothing listens on (bound, then released), for connection-refused tests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_history(home: Path) -> list[dict[str, Any]]:
    """The raw history lines, oldest first."""
    file = history_file(home)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text(encoding="ascii").splitlines() if line.strip()]


assert SCRIPT.exists() or sys.platform == "win32", f"console script missing: {SCRIPT}"


class LosingProxy:
    """A loopback HTTP proxy in front of the local service that loses chosen answers.

    `lose(method, path)` returns "after" (forward the request, then close the connection
    without the answer: the server acted, the client cannot know), "before" (close without
    forwarding: nothing was done) or None (pass the answer on). Everything else is forwarded
    as is, headers included. `lost` lists the (method, path, when) it lost.
    """

    def __init__(self, server: RunningServer, lose: Any) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.lost: list[tuple[str, str, str]] = []
        self.target = server.root_url
        client = httpx.Client(timeout=10)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0") or 0))
                when = lose(self.command, self.path)
                if when == "before":
                    proxy.lost.append((self.command, self.path, when))
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = client.request(self.command, proxy.target + self.path, content=body, headers=headers)
                if when == "after":
                    proxy.lost.append((self.command, self.path, when))
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.root_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.base_url = self.root_url + server.base_url[len(server.root_url):]

    def __enter__(self) -> LosingProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
