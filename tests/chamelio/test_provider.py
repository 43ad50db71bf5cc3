"""ChamelioProvider over real loopback HTTP: refresh cost, views, key checks; the profile
plumbing around it (config, key variables, the demo's data folder, `webhook-listen`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


@pytest.mark.slow
def test_webhook_listen_adds_announced_approval_tasks_to_the_watch_list(make_service) -> None:
    env = dict(os.environ, HOOK_SECRET=SECRET)
    listener = subprocess.Popen(
        [sys.executable, "-m", "lexi_tui", "webhook-listen", "--port", "0", "--secret-env", "HOOK_SECRET",
         "--profile", PROFILE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert listener.stdout is not None
        first = listener.stdout.readline()
        port = int(re.search(r":(\d+)/", first).group(1))  # type: ignore[union-attr]
        server = make_service(chamelio_seed_workflows=0, chamelio_webhook_url=f"http://127.0.0.1:{port}/hooks",
                              chamelio_webhook_secret=SECRET)
        task_id = new_task(server)
        wait_for(lambda: task_id in watchlist.load(PROFILE), timeout=10)
        admin_post(server, "/tasks", {"step": "intake"}, status=201)  # Not at approval: not watched.
        wait_for(lambda: admin_get(server, "/webhooks")["pending"] == 0 and len(admin_get(server, "/webhooks")["deliveries"]) >= 2)
        assert watchlist.load(PROFILE) == [task_id]
    finally:
        listener.terminate()
        listener.wait(10)


def test_webhook_listen_refuses_to_start_without_its_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from lexi_tui.cli.main import main

    os.environ.pop("NO_SUCH_SECRET", None)
    assert main(["webhook-listen", "--secret-env", "NO_SUCH_SECRET"]) == 2
    assert "NO_SUCH_SECRET is not set" in capsys.readouterr().err


def test_login_command_checks_a_chamelio_key_with_chamelio(service: RunningServer) -> None:
    import io

    import keyring

    from lexi_tui.cli.account import login_command
    from lexi_tui.core.config import Profile
    from memory_keyring import MemoryKeyring

    store = MemoryKeyring()
    keyring.set_keyring(store)
    profile = Profile("legal", base_url(service), provider="chamelio")
    out, err = io.StringIO(), io.StringIO()
    assert login_command(profile, key=INACTIVE, out=out, err=err) == 1
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
