"""Issue 16: the last-known queue is painted at start, before the network answers.

Each test writes (or lets the app write) the profile's list cache in the test's own data folder
and drives the app with the pilot against the local service over loopback. The service answers
slowly (`latency_ms`) so the cached list is what the screen holds while the first request is on
its way; the service's own record is the judge of what was sent.
"""

from __future__ import annotations

import os
import stat
import time

import httpx
import pytest
from textual.app import App

from lexi_tui.core import list_cache
from lexi_tui.core.refresh import EnginePolicy
from lexi_tui.providers.capabilities import LEXI_CAPABILITIES
from lexi_tui.ui.first_frame import StartList, read_start_list
from lexi_tui.ui.main import cached as cached_module
from lexi_tui.ui.main.cached import CachedListScreen
from lexi_tui.ui.main.screen import MainScreen
from support.app import FIXTURE_TASKS, KEY, PENDING_IDS, admin_task, loaded, make_app, make_service, wait_for

SLOW = (2500.0, 2500.0)
"""Latency of every answer while the test looks at the cached list: far longer than the app
takes to start and connect, so the first fetch is still on its way."""
PENDING = [task for task in FIXTURE_TASKS if task["status"] == "pending"]
GONE = {**PENDING[0], "id": "t-handled-elsewhere", "description": "Handled by a teammate since"}


def keep(service, tasks, *, age: float = 300.0, profile: str = "test") -> float:
    """Write `tasks` as the profile's last list from this service, `age` seconds old; returns its time."""
    fetched_at = time.time() - age
    assert list_cache.save(profile, service.base_url, tasks, fetched_at=fetched_at) is None
    return fetched_at


def set_faults(service, **changes) -> None:
    httpx.post(f"{service.root_url}/_admin/faults", json=changes, timeout=5).raise_for_status()


async def triage(pilot) -> MainScreen:
    """Wait until the triage screen is up (mounted, its refresh started); returns it."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.refresher.engine is not None)
    return app.screen


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lexi_tui.ui.main.refresh.POLICY", EnginePolicy(backoff_base=0.3, backoff_cap=1.0, jitter=0.0))


async def test_the_cached_queue_is_shown_with_its_age_and_nothing_on_it_is_acted_on_until_confirmed() -> None:
    with make_service(latency_ms=SLOW) as service:
        as_of = list_cache.describe_time(keep(service, [GONE, *PENDING]))
        app = make_app(service)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await triage(pilot)
            assert screen.state.fetched_at is None, "the first fetch must still be on its way"
            assert screen.table.visible_ids() == [GONE["id"], *PENDING_IDS]
            assert screen.status_bar.cached_note == f"as of {as_of}, refreshing…"
            assert f"as of {as_of}, refreshing…" in screen.status_bar.line
            target = PENDING_IDS[2]  # Not a campaign start: "a" approves it without a question.
            assert screen.table.select(target)

            await pilot.press("a")
            refused = f"This list is from {as_of}: waiting for the server to confirm the task is still pending."
            assert any(refused in message for message in toasts(app))
            await pilot.press("d")
            assert app.screen is screen, "no dismiss dialog on an unconfirmed task"
            await pilot.press("c")
            assert not screen.chat.display
            await pilot.press("space", "v")
            assert not screen.table.marked
            assert not screen.state.inflight and not screen.state.held

            await loaded(pilot)  # The fresh list.
            assert screen.state.cached_as_of is None
            assert screen.status_bar.cached_note == "" and "refreshing…" not in screen.status_bar.line
            assert GONE["id"] not in screen.table.visible_ids()
            assert screen.table.current is not None and screen.table.current.id == target
            assert admin_task(service, target)["status"] == "pending", "nothing was sent for the cached row"

            await pilot.press("a")  # Confirmed now: the key acts.
            await wait_for(pilot, lambda: admin_task(service, target)["status"] != "pending", timeout=10)


async def test_a_failed_first_fetch_keeps_the_cached_list_and_says_it_failed(quick_backoff) -> None:
    with make_service(error_rate=1.0) as service:
        as_of = list_cache.describe_time(keep(service, PENDING, age=3600))
        app = make_app(service)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await triage(pilot)
            bar = screen.status_bar
            await wait_for(pilot, lambda: bar.connection == "failing")
            assert bar.cached_note == f"list from {as_of}: the refresh failed"
            assert f"list from {as_of}: the refresh failed" in bar.line
            assert screen.table.visible_ids() == PENDING_IDS
            await pilot.press("a")
            assert any(f"This list is from {as_of}" in message for message in toasts(app))
            set_faults(service, error_rate=0.0)  # It retries by itself.
            await loaded(pilot)
            assert bar.cached_note == "" and screen.state.cached_as_of is None
            assert all(admin_task(service, task_id)["status"] == "pending" for task_id in PENDING_IDS)


async def test_each_base_url_keeps_its_own_list() -> None:
    with make_service() as first, make_service(latency_ms=SLOW) as second:
        app = make_app(first)
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(pilot)
            kept = list_cache.cache_path("test", first.base_url)
            await wait_for(pilot, kept.exists)
        assert not list_cache.cache_path("test", second.base_url).exists()

        app = make_app(second)  # The same profile against another server: nothing cached for it.
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await triage(pilot)
            assert screen.state.fetched_at is None
            assert screen.state.cached_as_of is None and screen.status_bar.cached_note == ""
            assert screen.table.visible_ids() == []  # Not the first server's list.
            await loaded(pilot)
            await wait_for(pilot, list_cache.cache_path("test", second.base_url).exists)
        assert list_cache.cache_path("test", second.base_url) != kept


async def test_the_kept_list_is_private_and_never_holds_the_key() -> None:
    with make_service() as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(pilot)
            path = list_cache.cache_path("test", service.base_url)
            await wait_for(pilot, path.exists)
        data = path.read_bytes()
        assert KEY.encode() not in data
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert [task["id"] for task in list_cache.load("test", service.base_url).cached.tasks] == PENDING_IDS


async def test_a_list_holding_the_key_is_not_kept_and_says_why() -> None:
    echoing = {**PENDING[0], "id": "t-echo", "description": f"Please confirm with key {KEY}"}
    with make_service(tasks=(*FIXTURE_TASKS, echoing)) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = await loaded(pilot)
            assert "t-echo" in screen.table.visible_ids()
            await wait_for(pilot, lambda: any("contains the API key" in message for message in toasts(app)))
        assert not list_cache.cache_path("test", service.base_url).exists()


async def test_an_unchanged_list_is_not_written_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cached_module.ListSaver, "MIN_GAP", 0.0)
    with make_service() as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            saver = app.list_saver
            assert saver is not None
            await wait_for(pilot, lambda: saver.writes == 1)
            path = list_cache.cache_path("test", service.base_url)
            written = path.stat().st_mtime_ns
            for _ in range(2):  # Two refreshes with nothing changed.
                fetched = screen.state.fetched_at
                await pilot.press("r")
                await wait_for(pilot, lambda f=fetched: screen.state.fetched_at != f and not saver._running)
            assert saver.writes == 1 and path.stat().st_mtime_ns == written

            screen.table.select(PENDING_IDS[0])
            await pilot.press("a")  # The queue changes on the server.
            await wait_for(pilot, lambda: admin_task(service, PENDING_IDS[0])["status"] != "pending", timeout=10)
            await pilot.press("r")
            await wait_for(pilot, lambda: saver.writes == 2)
        kept = list_cache.load("test", service.base_url).cached
        assert kept is not None and PENDING_IDS[0] not in [task["id"] for task in kept.tasks]


def test_a_damaged_cache_is_no_cache_and_says_so() -> None:
    path = list_cache.cache_path("test", "http://127.0.0.1:1/x")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"{not json")
    start, problem = read_start_list("test", "http://127.0.0.1:1/x")
    assert start is None and problem is not None and "ignored" in problem


class _Host(App[None]):
    """The cached screen alone, as the app shows it before it has connected."""

    def __init__(self, start: StartList) -> None:
        super().__init__()
        self.start = start

    def on_mount(self) -> None:
        self.push_screen(CachedListScreen(self.start, LEXI_CAPABILITIES, "test @ 127.0.0.1"))


async def test_the_screen_painted_before_connecting_moves_but_refuses_every_action() -> None:
    from lexi_tui.api.models import parse_tasks

    start = StartList(list(parse_tasks(PENDING)), time.time() - 60)
    app = _Host(start)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CachedListScreen))
        screen = app.screen
        assert screen.table.visible_ids() == PENDING_IDS
        header = str(screen.query_one("#status-bar").render())
        assert f"as of {start.as_of}, refreshing…" in header
        await pilot.press("j")
        assert screen.selected == PENDING_IDS[1]
        for key in ("a", "d", "c", "space", "v"):
            await pilot.press(key)
        assert not screen.table.marked
        assert sum(f"This list is from {start.as_of}" in message for message in toasts(app)) == 5
        assert app.screen is screen


async def test_after_a_profile_switch_each_profile_keeps_its_own_list() -> None:
    from lexi_tui.core.config import Profile
    from lexi_tui.ui.screens.profile_picker import ProfilePicker

    extra = {**PENDING[0], "id": "t-only-on-the-second-server"}
    with make_service() as first, make_service(tasks=(*FIXTURE_TASKS, extra)) as second:
        profiles = (Profile("test", first.base_url), Profile("other", second.base_url))
        app = make_app(first, profiles=profiles, profile_keys={"test": KEY, "other": KEY})
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            await wait_for(pilot, list_cache.cache_path("test", first.base_url).exists)
            await pilot.press("P")
            await wait_for(pilot, lambda: isinstance(app.screen, ProfilePicker))
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen is not screen)
            await loaded(pilot)
            await wait_for(pilot, list_cache.cache_path("other", second.base_url).exists)
        assert not list_cache.cache_path("test", second.base_url).exists()
        assert not list_cache.cache_path("other", first.base_url).exists()
        ids = {name: {t["id"] for t in list_cache.load(name, server.base_url).cached.tasks}
               for name, server in (("test", first), ("other", second))}
        assert ids == {"test": set(PENDING_IDS), "other": {*PENDING_IDS, extra["id"]}}


async def test_the_demo_paints_its_last_list_although_its_service_moves_port(tmp_path) -> None:
    """The demo's service listens on a new port each run and its data folder is temporary: its
    lists are kept under one name in a folder of their own, so the next demo starts painted."""
    from lexi_tui.cli.demo import DEMO_CACHE_NAME, prepare
    from lexi_tui.server.options import DEMO_KEY
    from lexi_tui.ui.app import AppSettings, LexiApp

    lists = tmp_path / "demo-lists"
    with make_service(keys=(DEMO_KEY,)) as first:
        app = LexiApp(prepare(AppSettings(refresh_interval=0, undo_window=0), first, lists))
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(pilot)
            await wait_for(pilot, lambda: list_cache.cache_path("demo", DEMO_CACHE_NAME, folder=lists).exists())
    assert not list_cache.cache_path("demo", first.base_url, folder=lists).exists()

    with make_service(keys=(DEMO_KEY,), latency_ms=SLOW) as second:
        assert second.base_url != first.base_url
        app = LexiApp(prepare(AppSettings(refresh_interval=0, undo_window=0), second, lists))
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await triage(pilot)
            assert screen.state.fetched_at is None, "the first fetch must still be on its way"
            assert screen.table.visible_ids() == PENDING_IDS  # The last demo's list, marked with its age.
            assert screen.status_bar.cached_note.endswith(", refreshing…")


async def test_keep_last_list_false_shows_no_old_list_and_leaves_none_on_disk() -> None:
    with make_service(latency_ms=SLOW) as service:
        keep(service, PENDING)
        kept = list_cache.cache_path("test", service.base_url)
        assert kept.exists()
        app = make_app(service, list_cache=False)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await triage(pilot)
            assert screen.table.visible_ids() == [] and screen.state.cached_as_of is None
            await wait_for(pilot, lambda: not kept.exists())  # The old one is removed at start...
            await loaded(pilot)
            await pilot.pause(0.3)
        assert not kept.exists()  # ...and the fresh one is not kept.


class _FreshHost(App[None]):
    """The light screen holding the server's first list (fetched while the app loaded)."""

    def __init__(self, start: StartList, fresh: bool) -> None:
        super().__init__()
        self.start, self.fresh = start, fresh

    def on_mount(self) -> None:
        self.push_screen(CachedListScreen(self.start, LEXI_CAPABILITIES, "test @ 127.0.0.1", fresh=self.fresh))


async def test_the_first_list_replaces_the_kept_one_on_the_light_screen_and_says_it_is_starting() -> None:
    from lexi_tui.api.models import parse_tasks
    from lexi_tui.ui.first_frame import FRESH_MARKER
    from lexi_tui.ui.main.cached import STARTING

    kept = StartList(list(parse_tasks(PENDING)), time.time() - 3600)
    app = _FreshHost(kept, fresh=False)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CachedListScreen))
        screen = app.screen
        await pilot.press("j", "j")
        on = screen.selected
        fetched = [task for task in PENDING if task["id"] != PENDING_IDS[0]]  # One was handled meanwhile.
        screen.show_fresh(StartList(list(parse_tasks(fetched)), time.time()))
        await pilot.pause()
        header = str(screen.query_one("#status-bar").render())
        assert FRESH_MARKER in header and "as of" not in header
        assert screen.table.visible_ids() == PENDING_IDS[1:]
        assert screen.selected == on  # The cursor stayed on its task.
        await pilot.press("a")
        assert toasts(app)[-1] == STARTING  # Not sent, and not "not confirmed": it is about to work.
        assert app.screen is screen
