"""ChamelioProvider over real loopback HTTP: refresh cost, views, key checks; the profile
plumbing around it (config, key variables, the demo's data folder, `webhook-listen`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lexi_tui.api.errors import InvalidKeyError
from lexi_tui.api.lexi import ResponseInfo
from lexi_tui.core import watchlist
from lexi_tui.core.config import ConfigError, data_dir, load_config
from lexi_tui.providers import create_provider, info
from lexi_tui.providers.chamelio import ChamelioProvider, check_key
from lexi_tui.server import RunningServer

from .chamelio_support import INACTIVE, KEY, SECRET, admin_get, admin_post, base_url, new_task, wait_for

PROFILE = "prov"


def provider_for(server: RunningServer) -> tuple[ChamelioProvider, list[ResponseInfo]]:
    provider = create_provider("chamelio", KEY, base_url(server), profile=PROFILE, read_retries=0)
    assert isinstance(provider, ChamelioProvider)
    seen: list[ResponseInfo] = []
    provider.add_listener(seen.append)
    return provider, seen


async def test_one_refresh_reads_each_watched_task_once_for_all_views(service: RunningServer) -> None:
    """Seeded tasks span every view; asking for all five views costs one GET per task."""
    ids = [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008]
    for task_id in ids:
        watchlist.add(PROFILE, task_id)
    provider, seen = provider_for(service)
    try:
        views = {view: await provider.list_tasks(view) for view in provider.capabilities.views}
        gets = [info.path for info in seen if info.method == "GET"]
        assert sorted(gets) == sorted(f"/tasks/{task_id}" for task_id in ids)
        shown = [task.id for tasks in views.values() for task in tasks]
        assert sorted(shown) == sorted(str(task_id) for task_id in ids)  # Each in exactly one view.
        for task in views["pending"]:
            assert task.metadata["step"]["type"] == "approval"
            assert task.metadata["task_url"].endswith(f"/tasks/{task.id}")
        assert all(task.metadata["step"]["type"] != "approval" for task in views["in_progress"])
        # After a write the snapshot is stale: the next list reads every task again.
        provider.invalidate()
        await provider.list_tasks("pending")
        assert len([i for i in seen if i.method == "GET"]) == 2 * len(ids)
    finally:
        await provider.aclose()


async def test_a_task_deleted_upstream_shows_as_failed_and_the_rest_still_load(make_service) -> None:
    server = make_service(chamelio_seed_workflows=0)
    real = new_task(server)
    watchlist.add(PROFILE, real)
    watchlist.add(PROFILE, 424242)  # Watched, but the service has no such task.
    provider, _ = provider_for(server)
    try:
        assert [t.id for t in await provider.list_tasks("pending")] == [str(real)]
        failed = await provider.list_tasks("failed")
        assert [t.id for t in failed] == ["424242"]
        assert "Task not found" in failed[0].description
    finally:
        await provider.aclose()


async def test_a_refused_key_fails_the_refresh_with_invalid_key(make_service) -> None:
    server = make_service(chamelio_seed_workflows=0)
    watchlist.add(PROFILE, new_task(server))
    provider = ChamelioProvider(INACTIVE, base_url(server), profile=PROFILE, read_retries=0)
    try:
        with pytest.raises(InvalidKeyError, match="API key is inactive"):
            await provider.list_tasks("pending")
    finally:
        await provider.aclose()


async def test_login_check_accepts_a_good_key_and_refuses_others(service: RunningServer) -> None:
    await check_key(KEY, base_url(service))  # GET /tasks/0 -> 404: the key was accepted.
    with pytest.raises(InvalidKeyError, match="inactive"):
        await check_key(INACTIVE, base_url(service))
    with pytest.raises(InvalidKeyError, match="Invalid API key"):
        await check_key("ca_nobody_0000000000000000", base_url(service))


def test_profiles_name_their_provider_and_get_its_production_url(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('[profiles.legal]\nprovider = "chamelio"\n', encoding="utf-8")
    profile = load_config(file).profile("legal")
    assert profile.provider == "chamelio" and profile.base_url == "https://platform.chamelio.ai"
    assert info("chamelio").env_var == "CHAMELIO_API_KEY" and info("lexi").env_var == "LEXI_API_KEY"
    file.write_text('[profiles.legal]\nprovider = "chameleon"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="profiles.legal.provider"):
        load_config(file)


def test_the_demo_keeps_its_watch_list_out_of_the_real_data_folder(make_service) -> None:
    from lexi_tui.cli.demo import CHAMELIO_PROFILE, prepare, temporary_data_dir
    from lexi_tui.ui.app import AppSettings

    server = make_service(chamelio_seed_workflows=2)
    real = data_dir()
    with temporary_data_dir() as folder:
        assert data_dir() == Path(folder)
        settings = prepare(AppSettings(), server)
        assert watchlist.load(CHAMELIO_PROFILE) == server.chamelio_task_ids() != []
        assert [p.provider for p in settings.profiles] == ["lexi", "chamelio"]
        assert set(settings.profile_keys) == {p.name for p in settings.profiles}
        assert "profile_keys" not in repr(settings)  # Keys never reach a repr.
    assert data_dir() == real and not Path(folder).exists()
    assert watchlist.load(CHAMELIO_PROFILE) == []


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chamelio_config(tmp_path: Path, url: str) -> Path:
    file = tmp_path / "config.toml"
    file.write_text(f'[profiles.{PROFILE}]\nprovider = "chamelio"\nbase_url = "{url}"\n', encoding="utf-8")
    return file


class _LossyProxy:
    """Between the service and the listener: forwards every delivery to `target`, but tells the
    service 503 for the first `lose` answers (the listener did get them: an answer lost on the
    way back), and 503 without forwarding while `target` is None (the listener is restarting)."""

    def __init__(self, lose: int = 1) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import httpx

        self.target: str | None = None
        self.lose = lose
        self.seen: list[tuple[str | None, int]] = []  # (target, what the listener answered)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with proxy._lock:
                    target = proxy.target
                status = 503
                if target is not None:
                    answer = httpx.post(target, content=body, timeout=10, headers={
                        "Content-Type": "application/json",
                        "X-Chamelio-Signature": self.headers.get("X-Chamelio-Signature", "")})
                    with proxy._lock:
                        proxy.seen.append((target, answer.status_code))
                        status = 503 if proxy.lose > 0 else answer.status_code
                        proxy.lose -= 1
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self._server = Quiet(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.slow
def test_webhook_listen_adds_announced_approval_tasks_to_the_watch_list(make_service, tmp_path: Path) -> None:
    """The command as a person runs it, against the service's documented payloads (no step type in
    them): it reads each announced task with the profile's key and watches those at approval."""
    service_port = _free_port()
    config = _chamelio_config(tmp_path, f"http://127.0.0.1:{service_port}/chamelio")
    env = dict(os.environ, HOOK_SECRET=SECRET, CHAMELIO_API_KEY=KEY)
    listener = subprocess.Popen(
        [sys.executable, "-m", "lexi_tui", "webhook-listen", "--port", "0", "--secret-env", "HOOK_SECRET",
         "--profile", PROFILE, "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    lines: list[str] = []
    try:
        assert listener.stdout is not None
        first = listener.stdout.readline()
        port = int(re.search(r":(\d+)/", first).group(1))  # type: ignore[union-attr]
        reading = threading.Thread(target=lambda: lines.extend(iter(listener.stdout.readline, "")), daemon=True)
        reading.start()
        server = make_service(port=service_port, chamelio_seed_workflows=0,
                              chamelio_webhook_url=f"http://127.0.0.1:{port}/hooks", chamelio_webhook_secret=SECRET)
        task_id = new_task(server)
        wait_for(lambda: task_id in watchlist.load(PROFILE), timeout=10)
        later = admin_post(server, "/tasks", {"step": "intake"}, status=201)["task_id"]  # Not at approval yet:
        wait_for(lambda: any(f"task {later} is at " in line and "not watched" in line for line in lines), timeout=10)
        assert "current_step_type" not in json.dumps(admin_get(server, "/webhooks")["events"])  # As documented.
        assert watchlist.load(PROFILE) == [task_id]
        admin_post(server, f"/tasks/{later}/advance")  # ...review...
        admin_post(server, f"/tasks/{later}/advance")  # ...approval: a step_change makes it watched.
        wait_for(lambda: watchlist.load(PROFILE) == [task_id, later], timeout=10)
        wait_for(lambda: admin_get(server, "/webhooks")["pending"] == 0)
        deliveries = admin_get(server, "/webhooks")["deliveries"]
        assert len(deliveries) == 4 and all(d["state"] == "delivered" and d["status"] == 200 for d in deliveries)
    finally:
        listener.terminate()
        _, err = listener.communicate(timeout=10)
    out = "".join(lines)
    assert f"task {task_id} (it waits at " in out and KEY not in out + err


@pytest.mark.slow
def test_webhook_listen_a_retried_delivery_after_a_lost_answer_and_a_restart_changes_nothing(make_service) -> None:
    """Chamelio retries when the 2xx does not reach it; the listener restarts in between; the retry,
    with the same event_id, is answered 200 by the new listener and changes nothing."""
    from lexi_tui.core.webhooks import ChamelioTaskReader, start_listener

    proxy = _LossyProxy(lose=1)
    logs: list[list[str]] = []
    listeners = []
    try:
        server = make_service(chamelio_seed_workflows=0, chamelio_webhook_url=proxy.url,
                              chamelio_webhook_secret=SECRET, time_scale=60)  # Retries after 1 s, 5 s, 30 s.

        def listen():
            logs.append([])
            started = start_listener(SECRET.encode(), PROFILE, reader=ChamelioTaskReader(KEY, base_url(server)),
                                     log=logs[-1].append, retry_delays=(0.05, 0.2))
            listeners.append(started)
            return started

        proxy.target = listen().url
        task_id = new_task(server)
        wait_for(lambda: watchlist.load(PROFILE) == [task_id], timeout=10)  # Got, checked, watched...
        assert proxy.seen[0][1] == 200  # ...but the service was told 503.
        with proxy._lock:
            proxy.target = None  # The listener stops...
        listeners.pop().stop()
        watchlist.remove(PROFILE, task_id)  # (and the person stops watching the task)
        second = listen().url  # ...and a new one starts on another port, same data folder.
        proxy.target = second

        def settled():
            records = [d for d in admin_get(server, "/webhooks")["deliveries"] if d["task_id"] == task_id]
            return records if records and records[0]["state"] == "delivered" else None

        (record,) = wait_for(settled, timeout=20)
        assert record["attempts"] >= 2 and record["status"] == 200  # Retried, then acknowledged...
        assert (second, 200) in proxy.seen  # ...by the restarted listener, which knew the event_id:
        assert any("already received; acknowledged, nothing changed" in line for line in logs[1])
        assert not any("checking whether" in line for line in logs[1])  # not checked again.
        assert watchlist.load(PROFILE) == []  # The retry did not undo the person's change.
    finally:
        for listener in listeners:
            listener.stop()
        proxy.close()


def test_webhook_listen_reads_string_task_ids_from_the_service(make_service) -> None:
    from lexi_tui.core.webhooks import ChamelioTaskReader, start_listener

    lines: list[str] = []
    reader_box: list[ChamelioTaskReader] = []
    listener = start_listener(SECRET.encode(), PROFILE, reader=_late_reader(reader_box), log=lines.append)
    try:
        server = make_service(chamelio_seed_workflows=0, chamelio_webhook_url=listener.url,
                              chamelio_webhook_secret=SECRET, chamelio_webhook_task_id="string")
        reader_box.append(ChamelioTaskReader(KEY, base_url(server)))
        task_id = new_task(server)
        wait_for(lambda: watchlist.load(PROFILE) == [task_id], timeout=10)
        (event,) = [e for e in admin_get(server, "/webhooks")["events"] if e["event"] == "flows.tasks.created"]
        assert event["data"]["task_id"] == str(task_id)  # A string on the wire, an integer read.
    finally:
        listener.stop()


def _late_reader(box: list):
    """A reader whose real one is known only once the service (which needs the listener's URL) runs."""
    async def read(task_id: int):
        return await box[0](task_id)
    return read


def test_webhook_listen_accepts_an_event_older_than_five_minutes(service: RunningServer) -> None:
    """A retry arrives with the event's original timestamp: 6 minutes old is normal, not a replay."""
    import json as jsonlib
    import time as timelib

    import httpx

    from lexi_tui.core.webhooks import ChamelioTaskReader, sign, start_listener

    task_id = new_task(service)
    stamp = timelib.strftime("%Y-%m-%dT%H:%M:%S.000Z", timelib.gmtime(timelib.time() - 6 * 60))
    body = jsonlib.dumps({"event": "flows.tasks.created", "event_id": "evt_six_minutes_old",
                          "organization_id": "org_local_demo", "timestamp": stamp,
                          "data": {"task_id": task_id, "current_step": {"step_id": "x", "step_name": "Approval",
                                                                        "assignee": "a@example.com"}}}).encode()
    listener = start_listener(SECRET.encode(), PROFILE, reader=ChamelioTaskReader(KEY, base_url(service)))
    try:
        answer = httpx.post(listener.url, content=body, headers={"X-Chamelio-Signature": sign(body, SECRET.encode())})
        assert answer.status_code == 200 and answer.json()["action"] == "queued"
        wait_for(lambda: watchlist.load(PROFILE) == [task_id], timeout=10)
    finally:
        listener.stop()


def test_webhook_listen_refuses_to_start_without_its_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from lexi_tui.cli.main import main

    os.environ.pop("NO_SUCH_SECRET", None)
    assert main(["webhook-listen", "--secret-env", "NO_SUCH_SECRET"]) == 2
    assert "NO_SUCH_SECRET is not set" in capsys.readouterr().err


def test_webhook_listen_needs_a_key_and_a_chamelio_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from lexi_tui.cli.main import main

    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.delenv("CHAMELIO_API_KEY", raising=False)
    config = _chamelio_config(tmp_path, "https://platform.chamelio.ai")
    assert main(["webhook-listen", "--secret-env", "HOOK_SECRET", "--profile", PROFILE, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"no Chamelio key for profile {PROFILE!r}" in err and "CHAMELIO_API_KEY" in err
    assert main(["webhook-listen", "--secret-env", "HOOK_SECRET", "--profile", "default", "--config", str(config)]) == 2
    assert "is a lexi profile" in capsys.readouterr().err


def test_webhook_listen_help_explains_the_replay_window(capsys: pytest.CaptureFixture[str]) -> None:
    from lexi_tui.cli.main import main

    with pytest.raises(SystemExit):
        main(["webhook-listen", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: 14400 = 4 hours" in text and "1 min, 5 min, 30 min and 2 h" in text
    assert "repeated event_id is always answered 200" in text


def test_login_command_checks_a_chamelio_key_with_chamelio(service: RunningServer) -> None:
    import io

    import keyring

    from lexi_tui.cli.account import login_command
    from lexi_tui.cli.exit_codes import Exit
    from lexi_tui.core.config import Profile
    from memory_keyring import MemoryKeyring

    store = MemoryKeyring()
    keyring.set_keyring(store)
    profile = Profile("legal", base_url(service), provider="chamelio")
    out, err = io.StringIO(), io.StringIO()
    assert login_command(profile, key=INACTIVE, out=out, err=err) == Exit.AUTH  # The key was refused.
    assert "refused" in err.getvalue() and INACTIVE not in err.getvalue()
    assert store.entries == {}
    assert login_command(profile, key=KEY, out=io.StringIO(), err=io.StringIO()) == 0
    assert store.entries == {("lexi-tui", "legal"): KEY}


def test_a_crash_report_written_during_the_demo_is_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lexi_tui.cli.demo import keep_crash_reports, temporary_data_dir
    from lexi_tui.core.crash import write_crash_report

    kept = data_dir() / "crashes"
    with temporary_data_dir() as folder:
        report = write_crash_report(RuntimeError("boom"))
        assert str(report).startswith(folder)
        moved = keep_crash_reports(Path(folder) / "crashes", kept)
    assert [p.parent for p in moved] == [kept] and moved[0].read_text(encoding="utf-8")
    assert str(moved[0]) in capsys.readouterr().err


# -- the declared interface: capabilities, reading one task, what a refresh costs ----------------


async def test_status_of_reads_one_task_and_names_the_decision_of_its_step(make_service) -> None:
    import dataclasses

    from lexi_tui.api.models import Task
    from lexi_tui.core.outcomes import MOVED_ON

    server = make_service(chamelio_seed_workflows=0)
    ids = [new_task(server) for _ in range(4)]
    for task_id in ids:
        watchlist.add(PROFILE, task_id)
    provider, seen = provider_for(server)
    assert provider.capabilities.reads_one_task and provider.capabilities.status_read_calls == 1
    try:
        pending = {t.id: t for t in await provider.list_tasks("pending")}
        assert len(pending) == 4
        approve, reject, cancel, untouched = (pending[str(i)] for i in ids)
        await provider.approve(approve.id)
        await provider.dismiss(reject.id, "Outside policy")
        await provider.cancel(cancel.id)
        before = provider.calls_made
        assert await provider.status_of(approve, action="approve") == "approved"
        assert await provider.status_of(reject, action="dismiss") == "rejected"
        assert await provider.status_of(cancel, action="cancel") == "cancelled"
        assert await provider.status_of(untouched, action="approve") == "pending"
        elsewhere = dataclasses.replace(untouched, metadata={**untouched.metadata, "step": {"id": "wf0-earlier"}})
        assert await provider.status_of(elsewhere, action="approve") == MOVED_ON  # Waits at another step.
        assert await provider.status_of(Task.from_api({"id": "424242"}), action="approve") is None
        assert provider.calls_made - before == 6  # One GET each.
        assert (await provider.get(approve.id)).status in ("in_progress", "completed")  # exec_delay 0
    finally:
        await provider.aclose()


async def test_a_refresh_costs_one_get_per_watched_task_and_says_so_before(make_service) -> None:
    server = make_service(chamelio_seed_workflows=0)
    for _ in range(5):
        watchlist.add(PROFILE, new_task(server))
    provider, _ = provider_for(server)
    try:
        planned = await provider.calls_for_refresh(provider.capabilities.views)
        before = provider.calls_made
        for view in provider.capabilities.views:
            await provider.list_tasks(view)
        assert planned == 5 == provider.calls_made - before and provider.refresh_problems == {}
    finally:
        await provider.aclose()


async def test_a_429_mid_refresh_stops_the_gets_not_yet_sent(make_service) -> None:
    from lexi_tui.api.errors import RateLimitedError
    from lexi_tui.providers.chamelio import CONCURRENCY

    server = make_service(chamelio_seed_workflows=0, chamelio_rate_limit=2)  # 2 calls a minute.
    for _ in range(12):
        watchlist.add(PROFILE, new_task(server))  # The admin endpoint is never limited.
    provider, seen = provider_for(server)
    try:
        with pytest.raises(RateLimitedError):
            await provider.list_tasks("pending")
        refused = [info for info in seen if info.status == 429]
        assert 1 <= len(refused) <= CONCURRENCY and len(seen) <= 2 + CONCURRENCY < 12
    finally:
        await provider.aclose()
