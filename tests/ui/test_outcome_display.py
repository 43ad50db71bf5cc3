"""Outcomes in view: a rejected Chamelio task says "rejected" in its row and its details, and
an empty watch list says how to add a task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.widgets import Static

from chamelio.chamelio_support import KEY, base_url, new_task, service_options
from lexi_tui.core import watchlist
from lexi_tui.server import RunningServer, start_server
from lexi_tui.ui.app import AppSettings, LexiApp
from support.app import loaded, wait_for

PROFILE = "outcomes"
FIXTURE_TASKS = json.loads((Path(__file__).parent.parent / "fixtures" / "tasks.json").read_text())


@pytest.fixture
def server() -> Any:
    with start_server(service_options(keys=("wbk_outcomes_000000000000c0de",), tasks=tuple(FIXTURE_TASKS),
                                      chamelio_seed_workflows=0, exec_delay=0.0)) as running:
        yield running


def make_app(server: RunningServer) -> LexiApp:
    return LexiApp(AppSettings(profile=PROFILE, provider="chamelio", base_url=base_url(server), api_key=KEY,
                               use_keyring=False, refresh_interval=0, read_retries=0, undo_window=0))


def decide(server: RunningServer, task_id: int, approved: bool) -> None:
    response = httpx.post(f"{base_url(server)}/tasks/{task_id}/approve", headers={"X-API-Key": KEY},
                          json={"approved": approved, "comment": "decided elsewhere"}, timeout=10)
    assert response.status_code == 200, response.text


async def test_a_rejected_task_says_rejected_in_its_row_and_details(server: RunningServer) -> None:
    rejected, approved = new_task(server, title="Vendor NDA"), new_task(server, title="Offer letter")
    for task_id in (rejected, approved):
        watchlist.add(PROFILE, task_id)
    decide(server, rejected, approved=False)
    decide(server, approved, approved=True)
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        views = {}
        for view in screen.state.views:
            screen.action_view(view)
            await wait_for(pilot, lambda v=view: v in screen.state.lists and not screen.state.refreshing)
            for task in screen.table._tasks.values():
                views[task.description] = (view, task)
        assert views["Vendor NDA"][1].metadata["outcome"] == "rejected"
        view, task = views["Vendor NDA"]
        screen.action_view(view)
        await pilot.pause()
        assert screen.table.select(task.id)
        fields_widget = screen.detail.query_one("#detail-fields", Static)
        await wait_for(pilot, lambda: "Vendor NDA" in str(fields_widget.render()))
        row = next(screen.table.render_line(y).text for y in range(screen.table.task_count)
                   if "Vendor NDA" in screen.table.render_line(y).text)
        assert "✖ rejected" in row
        fields = str(screen.detail.query_one("#detail-fields", Static).render())
        assert "✖ rejected" in fields
        view, task = views["Offer letter"]
        screen.action_view(view)
        await wait_for(pilot, lambda: screen.table.get(task.id) is not None)
        assert screen.table.select(task.id)
        await wait_for(pilot, lambda: "✔ approved" in str(fields_widget.render()))


async def test_an_empty_watch_list_says_how_to_add_a_task(server: RunningServer) -> None:
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        expected = "Press + to watch a task by id or URL"
        await wait_for(pilot, lambda: expected in str(screen.detail.query_one("#detail-fields", Static).render()))
        assert expected in screen.table.render_line(1).text
        assert expected in str(screen.detail.query_one("#detail-fields", Static).render())


async def test_a_watched_task_that_could_not_be_read_is_named_under_the_list(server: RunningServer,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from lexi_tui.providers.chamelio import ChamelioProvider

    shown = new_task(server, title="Vendor NDA")
    watchlist.add(PROFILE, shown)
    problems = {"4242": "Server error (HTTP 500, request req_1)"}
    monkeypatch.setattr(ChamelioProvider, "refresh_problems", property(lambda self: dict(problems)))
    app = make_app(server)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await loaded(pilot)
        await wait_for(pilot, lambda: screen.query_one("#list-problems").has_class("-shown"))
        line = str(screen.query_one("#list-problems", Static).render())
        assert line == "⚠ Task 4242 could not be read (Server error (HTTP 500, request req_1)); it is not shown."
        assert screen.table.task_count == 1
        problems.clear()  # The next refresh read it: the line goes.
        await pilot.press("r")
        await wait_for(pilot, lambda: not screen.query_one("#list-problems").has_class("-shown"))
