"""Issue 16: the key and the first list are found by a second process while the app loads.

`lexi-tui` forks a child before Textual is imported (`providers.first_fetch`); the app takes
its answer as the refresh engine's first call. These tests run the real command in a pty
against the local service and hold what a person and the quota would notice: the list is asked
for once and counted once (under per-minute headers the count is the app's own: "about 99
calls left today" after one call of a Starter day), a refused key brings the login with the
server's words, a day this app has used up is not spent on, and without the child (or when it
dies) the app does the same itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from lexi_tui.core.budget import Planner
from lexi_tui.providers.first_fetch import FirstFetch, StartRequest
from support.app import make_service, pty_env

LIST_CALLS = "GET /v1/lexi/tasks"


def _list_calls(service) -> int:
    stats = httpx.get(f"{service.root_url}/_admin/stats", timeout=5).json()["data"]
    return int(stats["by_endpoint"].get(LIST_CALLS, 0))


def _run_until(env: dict[str, str], service, text: str) -> str:
    """Start `lexi-tui` on the service, wait for `text` on the screen, quit; the screen's text."""
    from benchmarks.pty_probe import PtyChild, visible_text

    command = [sys.executable, "-m", "lexi_tui", "--base-url", service.base_url, "--refresh", "0"]
    with PtyChild(command, env, cols=120, rows=30) as child:
        shown = child.wait_text(text, 30)
        screen = visible_text(bytes(child.output))
        assert shown, screen[-3000:]
        child.pump(0.5)  # Nothing more is asked for once the list is up (live refresh is off).
        child.send(b"\x1b" if "refused" in text else b"q")  # Esc leaves the login screen.
        assert child.wait_exit(30).code in (0, 130), visible_text(bytes(child.output))[-2000:]
    return screen


@pytest.mark.parametrize("fork", [True, False], ids=["child", "no child"])
def test_the_first_list_is_asked_for_once_and_counted_once(tmp_path: Path, fork: bool) -> None:
    with make_service(plan="starter", rate_headers="minute") as service:
        env = pty_env(tmp_path, **({} if fork else {"LEXI_TUI_NO_FORK": "1"}))
        screen = _run_until(env, service, "calls left today")
        assert _list_calls(service) == 1
    assert "about 99 calls left today" in screen  # A Starter day, one call counted by the app.


def test_a_key_the_server_refuses_brings_the_login_with_its_words(tmp_path: Path) -> None:
    with make_service() as service:
        screen = _run_until(pty_env(tmp_path, key="wbk_" + "x" * 40), service, "The server refused the key")
        assert _list_calls(service) == 1
    assert "Sign in to Lexi" in screen


def test_a_day_the_app_has_used_up_is_not_spent_on_at_start(tmp_path: Path) -> None:
    planner = Planner(15.0, "starter", clock=time.time)
    planner.restore(None)  # Today, as the planner counts days.
    count = tmp_path / "data" / "lexi-tui" / "calls-today-default.json"
    count.parent.mkdir(parents=True)
    count.write_text(json.dumps({**planner.snapshot(), "used": 100}), encoding="utf-8")
    config = tmp_path / "config" / "lexi-tui" / "config.toml"
    config.parent.mkdir(parents=True)
    with make_service(plan="starter", rate_headers="minute") as service:
        config.write_text(f'plan = "starter"\n[profiles.default]\nbase_url = "{service.base_url}"\n', encoding="utf-8")
        _run_until(pty_env(tmp_path), service, "daily quota used up")
        assert _list_calls(service) == 0


def test_a_child_that_dies_leaves_the_app_to_ask_itself(tmp_path: Path) -> None:
    with make_service() as service:
        request = StartRequest(profile="default", provider="lexi", base_url=service.base_url, env_var="LEXI_API_KEY",
                               view="pending", plan=None, refresh_interval=15.0, ca_bundle=None,
                               count_path=str(tmp_path / "count.json"), use_keyring=False)
        first = FirstFetch.start(request)
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)  # Before its answer (it may or may not have sent the key).
        assert first.answer.result(timeout=10) is None
        claimed = first.claim("pending")
        assert claimed is not None and claimed.result() is None
        assert first.claim("pending") is None  # Once.
        first.close()
        with pytest.raises(ChildProcessError):
            os.waitpid(first.pid, os.WNOHANG)  # Reaped: no zombie left behind.
