"""A long list is compared with the one on screen in a thread and only the difference is
applied on the event loop (`ui/main/refresh.py`, `TaskTable.compare` / `apply`).

Most tests lower `COMPARE_IN_THREAD_FROM` to 0 so the fixture queue takes the thread path; the
lists come from the local service (the engine's own refreshes) or are the service's lists
with a task edited, fed through the engine's event (`ListFetched`), as a refresh delivers them.
"""

from __future__ import annotations

import dataclasses
import threading

import httpx
import pytest

from lexi_tui.api.models import Task, TaskList
from lexi_tui.core.refresh import ListFetched
from lexi_tui.ui.main import refresh as refresh_module
from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.widgets.task_table import TaskTable
from support.app import KEY, PENDING_IDS, loaded, make_app, make_service, wait_for


@pytest.fixture
def in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every list is compared in a thread, however short."""
    monkeypatch.setattr(refresh_module, "COMPARE_IN_THREAD_FROM", 0)


class Gate:
    """Holds the comparison thread (the real `TaskTable.compare`) until `open()`, so a test can
    act while a list is being compared. Comparisons on the event loop (`set_tasks`) go through."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()
        compare = TaskTable.compare

        def held(snapshot, tasks):
            if threading.current_thread() is not threading.main_thread():
                self.entered.set()
                self._open.wait(10)
            return compare(snapshot, tasks)

        monkeypatch.setattr(TaskTable, "compare", staticmethod(held))

    def open(self) -> None:
        self._open.set()


def add_task(service, description: str) -> str:
    task = {"type": "prospect_search", "description": description, "metadata": {"per_page": 5}}
    response = httpx.post(f"{service.root_url}/_admin/tasks", json=[task])
    assert response.status_code == 201, response.text
    return response.json()["data"]["ids"][0]


def dismiss_elsewhere(service, task_id: str) -> None:
    response = httpx.post(f"{service.base_url}/v1/lexi/tasks/{task_id}/dismiss",
                          headers={"Authorization": f"Bearer {KEY}"}, json={"reason": "duplicate"})
    assert response.status_code == 200


def edited(task: Task, description: str) -> Task:
    raw = {**task.raw, "description": description}
    return dataclasses.replace(task, description=description, raw=raw)


def deliver(screen: MainScreen, tasks: list[Task]) -> ListFetched:
    """Hand `tasks` to the screen as the engine hands a fetched queue."""
    event = ListFetched(screen.state.queue, tasks, screen.refresher.clock.now(), True)
    screen.refresher._on_event(event)
    return event


async def shown(pilot, screen: MainScreen) -> None:
    await wait_for(pilot, lambda: not screen.refresher.comparing)
    await pilot.pause()


async def refreshed(pilot, screen: MainScreen) -> None:
    before = screen.state.fetched_at
    await pilot.press("r")
    await wait_for(pilot, lambda: screen.state.fetched_at != before and not screen.state.refreshing
                   and not screen.refresher.comparing)


async def test_rows_added_removed_and_changed_keep_the_cursor_and_the_marks(in_a_thread, service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        await pilot.press("down", "space")  # PENDING_IDS[1] marked, the cursor on PENDING_IDS[2].
        assert table.current.id == PENDING_IDS[2] and list(table.marked) == [PENDING_IDS[1]]
        new_id = add_task(service, "Search for 5 CFOs in Denver")
        dismiss_elsewhere(service, PENDING_IDS[3])
        generation = table.generation
        await refreshed(pilot, screen)
        assert table.generation == generation + 1
        assert table.visible_ids() == [new_id, *(i for i in PENDING_IDS if i != PENDING_IDS[3])]
        assert table.current.id == PENDING_IDS[2]  # The cursor stayed on its task...
        assert list(table.marked) == [PENDING_IDS[1]]  # ...and the mark on its own.
        assert table.new_ids == {new_id}
        # One description edited: that row changes, the others are the same objects.
        tasks = list(screen.state.pending())
        tasks[1] = edited(tasks[1], "Find 20 CFOs in Lyon (edited)")
        deliver(screen, TaskList(tasks))
        await shown(pilot, screen)
        assert table.get(tasks[1].id).description == "Find 20 CFOs in Lyon (edited)"
        line = table.visible_ids().index(tasks[1].id) - table.scroll_offset.y
        assert "(edited)" in "".join(segment.text for segment in table.render_line(line))
        assert table.current.id == PENDING_IDS[2] and list(table.marked) == [PENDING_IDS[1]]
        assert screen.detail.shown.id == PENDING_IDS[2]
        # The task under the cursor leaves: its neighbour takes its place, the detail follows.
        dismiss_elsewhere(service, PENDING_IDS[2])
        await refreshed(pilot, screen)
        assert PENDING_IDS[2] not in table.visible_ids()
        assert table.current.id == PENDING_IDS[4] and screen.detail.shown.id == PENDING_IDS[4]
        # A marked task that leaves takes its mark with it (the status bar's count too).
        dismiss_elsewhere(service, PENDING_IDS[1])
        await refreshed(pilot, screen)
        assert not table.marked and screen.status_bar.marked == 0


async def test_a_list_arriving_during_a_comparison_replaces_the_one_compared(service, monkeypatch) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        everything = list(screen.state.pending())
        generation = table.generation
        gate = Gate(monkeypatch)
        monkeypatch.setattr(refresh_module, "COMPARE_IN_THREAD_FROM", 0)
        older = deliver(screen, TaskList([edited(everything[0], "older list"), *everything[1:]]))
        await wait_for(pilot, gate.entered.is_set)  # The older list is in the thread...
        newer = TaskList(everything[1:])  # ...when the newer one comes: its first task has gone.
        deliver(screen, newer)
        gate.open()
        await shown(pilot, screen)
        assert table.shows(newer) and not table.shows(older.tasks)
        assert table.visible_ids() == [t.id for t in everything[1:]]
        assert table.generation == generation + 1  # Only the newer list was applied, never the older.


async def test_a_task_taken_out_during_a_comparison_does_not_come_back(service, monkeypatch) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        gate = Gate(monkeypatch)
        monkeypatch.setattr(refresh_module, "COMPARE_IN_THREAD_FROM", 0)
        fetched = TaskList(screen.state.pending())
        deliver(screen, fetched)
        await wait_for(pilot, gate.entered.is_set)
        screen.drop_task(PENDING_IDS[0])  # Approved meanwhile: it leaves the list at once.
        assert PENDING_IDS[0] not in table.visible_ids()
        gate.open()
        await shown(pilot, screen)
        assert PENDING_IDS[0] not in table.visible_ids()  # The comparison of the list it was in is dropped.
        assert table.visible_ids() == PENDING_IDS[1:]
        assert screen.state.fetched_at is not None


async def test_a_diff_made_against_an_older_list_is_refused(in_a_thread, service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        tasks = list(screen.state.pending())
        stale = TaskTable.compare(table.snapshot(), TaskList(tasks))
        table.set_tasks(tasks[1:])
        assert not table.is_current(stale)
        with pytest.raises(ValueError):
            table.apply(stale)
        assert table.visible_ids() == [t.id for t in tasks[1:]]


async def test_a_long_queue_is_compared_in_a_thread_and_shown_whole() -> None:
    count = refresh_module.COMPARE_IN_THREAD_FROM + 500
    tasks = tuple({"id": f"7c1e9a52-{n:04d}-4000-8000-{n:012d}", "type": "prospect_search", "status": "pending",
                   "description": f"Find {n % 90 + 10} CFOs in Lyon ({n})", "created_at": "2026-11-23T11:40:00Z",
                   "metadata": {"per_page": 5}} for n in range(count))
    with make_service(tasks=tasks) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            table = screen.table
            assert table.list_size == count and table.current is not None
            first = table.current.id
            await pilot.press("j", "j")
            third = table.current.id
            new_id = add_task(service, "A task queued during the session")
            await pilot.press("r")
            await wait_for(pilot, lambda: screen.refresher.comparing or table.get(new_id) is not None, timeout=15)
            await wait_for(pilot, lambda: table.get(new_id) is not None and not screen.refresher.comparing,
                           timeout=15)
            assert table.list_size == count + 1
            assert table.current.id == third != first
            assert new_id in table.new_ids


async def test_only_tasks_that_came_ring_while_the_terminal_is_away(in_a_thread, service, monkeypatch) -> None:
    app = make_app(service, notify="bell")
    rings: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        bell = app.bell
        monkeypatch.setattr(app, "bell", lambda: (rings.append("bell"), bell()))
        await refreshed(pilot, screen)  # Nothing new, focused: no ring.
        screen.refresher.focused(False)  # The terminal lost focus (AppBlur).
        await refreshed(pilot, screen)  # Nothing new: no ring.
        assert rings == []
        new_id = add_task(service, "Search for 5 CFOs in Denver")
        await refreshed(pilot, screen)
        assert table_has(screen, new_id) and rings == ["bell"]
        await refreshed(pilot, screen)  # Already seen: no second ring.
        assert rings == ["bell"]


def table_has(screen: MainScreen, task_id: str) -> bool:
    return screen.table.get(task_id) is not None


async def test_rows_taken_out_keep_the_scrollbar_and_the_scroll_offset_true() -> None:
    tasks = tuple({"id": f"7c1e9a52-{n:04d}-4000-8000-{n:012d}", "type": "prospect_search", "status": "pending",
                   "description": f"Find {n % 90 + 10} CFOs in Lyon ({n})", "created_at": "2026-11-23T11:40:00Z",
                   "metadata": {"per_page": 5}} for n in range(120))
    with make_service(tasks=tasks) as service:
        app = make_app(service)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await loaded(pilot)
            table = screen.table
            await pilot.press("G")  # The last task: the list is scrolled to its end.
            await pilot.pause()
            shown = list(screen.state.pending())
            assert table.show_vertical_scrollbar and table.scroll_offset.y == table.max_scroll_y > 0
            screen.store("pending", shown[:-40])  # Forty tasks at the end leave: the view scrolls back.
            await pilot.pause()
            assert table.virtual_size.height == 80 and table.max_scroll_y == 80 - table.scrollable_content_region.height
            assert table.scroll_offset.y == table.max_scroll_y
            assert table.current.id == shown[79].id  # The cursor's neighbour, on screen.
            assert table.vertical_scrollbar.window_virtual_size == 80
            screen.store("pending", shown[:5])  # Fewer than fit: no scrollbar, nothing to scroll.
            await pilot.pause()
            assert not table.show_vertical_scrollbar and table.scroll_offset.y == 0
            assert table.visible_ids() == [t.id for t in shown[:5]]
            line = "".join(segment.text for segment in table.render_line(4))
            assert shown[4].description in line
