"""Refresh in place by task id, and the keys around the list: copy, help, palette, remap."""

from __future__ import annotations

import httpx
from textual.command import CommandPalette

from lexi_tui.ui.main.screen import MainScreen
from lexi_tui.ui.screens.help_screen import HelpScreen
from support.app import KEY, PENDING_IDS, admin_task, loaded, make_app, wait_for


def dismiss_elsewhere(service, task_id: str) -> None:
    """Another client (a teammate, a script) acts on the queue."""
    response = httpx.post(
        f"{service.base_url}/v1/lexi/tasks/{task_id}/dismiss",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"reason": "duplicate"},
    )
    assert response.status_code == 200


def add_task(service, description: str) -> str:
    task = {"type": "prospect_search", "description": description, "metadata": {"per_page": 5}}
    response = httpx.post(f"{service.root_url}/_admin/tasks", json=[task])
    assert response.status_code == 201, response.text
    return response.json()["data"]["ids"][0]



async def refreshed(pilot, screen: MainScreen) -> None:
    before = screen.state.fetched_at
    await pilot.press("r")
    await wait_for(pilot, lambda: screen.state.fetched_at != before and not screen.state.refreshing)


async def test_refresh_keeps_the_cursor_marks_new_tasks_and_moves_past_vanished_ones(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        await pilot.press("down")
        assert table.current.id == PENDING_IDS[1]
        new_id = add_task(service, "Search for 5 CFOs in Denver")
        await refreshed(pilot, screen)
        assert table.visible_ids()[0] == new_id  # Newest first...
        assert table.current.id == PENDING_IDS[1]  # ...and the cursor stayed on its task.
        assert table.new_ids == {new_id}
        dismiss_elsewhere(service, PENDING_IDS[1])
        await refreshed(pilot, screen)
        assert PENDING_IDS[1] not in table.visible_ids()
        assert table.current.id == PENDING_IDS[2]  # Its neighbour took its place.
        assert screen.detail.shown.id == PENDING_IDS[2]
        await pilot.press("g")  # Visiting the new task marks it seen.
        assert table.current.id == new_id and not table.new_ids


async def test_approving_a_task_handled_elsewhere_is_explained_not_a_crash(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await loaded(pilot)
        target = screen.table.current.id
        dismiss_elsewhere(service, target)
        await pilot.press("a")
        await wait_for(pilot, lambda: target not in screen.table.visible_ids())
        note = next(n for n in app._notifications if n.title.startswith("Could not approve"))
        assert "already been dismissed" in note.message
        assert admin_task(service, target)["approve_count"] == 0


async def test_copy_keys_use_the_clipboard(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("y")
        assert app.clipboard == PENDING_IDS[0]
        await wait_for(pilot, lambda: bool(screen.detail.json_view.lines))
        await pilot.press("Y")
        assert '"person_titles"' in app.clipboard


async def test_help_lists_every_key_and_the_palette_runs_actions(service) -> None:
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Show completed")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state.view == "completed")


async def test_keys_can_be_remapped_by_binding_id(service) -> None:
    app = make_app(service, keymap={"task.approve": "x"})
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        target = screen.table.current.id
        await pilot.press("a")
        await pilot.pause(0.2)
        assert admin_task(service, target)["status"] == "pending"
        await pilot.press("x")
        await wait_for(pilot, lambda: admin_task(service, target)["status"] != "pending")


async def test_a_one_megabyte_metadata_object_does_not_freeze_the_app(service) -> None:
    big = {"rows": [{"id": n, "name": f"Contact {n}", "tags": ["a", "b"], "nested": {"depth": {"x": n}}} for n in range(12_000)]}
    response = httpx.post(
        f"{service.root_url}/_admin/tasks",
        json=[{"type": "contact_update", "description": "Huge metadata", "metadata": big}],
    )
    assert response.status_code == 201
    app = make_app(service)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        assert screen.table.current.description == "Huge metadata"
        view = screen.detail.json_view
        await pilot.press("down")  # Keys are answered while the JSON is formatted in a thread.
        assert screen.table.current.id == PENDING_IDS[0]
        await pilot.press("up")
        await wait_for(pilot, lambda: len(view.lines) > 100_000, timeout=15)
        assert view.virtual_size.height == len(view.lines)
        await pilot.press("enter", "end")  # Focus the JSON and jump to its end.
        assert view.scroll_offset.y > 100_000
