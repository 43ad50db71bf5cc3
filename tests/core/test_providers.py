"""The providers' declared interface over real loopback HTTP: what reading one task costs on
Lexi (which has no single-task endpoint), what a refresh costs, and a Chamelio refresh that
meets an error on one watched task (through a hostile proxy: the service cannot fail one GET)."""

from __future__ import annotations

import pytest
from core_support import CHAMELIO_KEY, KEY, LossyProxy, admin_stats, as_tasks, chamelio_task, make_tasks, start

from lexi_tui.api.errors import ServerError
from lexi_tui.api.models import Task
from lexi_tui.core import watchlist
from lexi_tui.providers import create_provider
from lexi_tui.providers.chamelio import ChamelioProvider
from lexi_tui.providers.lexi import LexiProvider


def lists_served(server: object) -> int:
    return int(admin_stats(server)["by_endpoint"].get("GET /v1/lexi/tasks", 0))  # type: ignore[arg-type]


async def test_lexi_reads_a_status_from_the_fewest_lists_and_says_what_it_costs() -> None:
    raw = make_tasks(4)
    with start(tasks=tuple(raw)) as server:
        provider = create_provider("lexi", KEY, server.base_url, read_retries=0)
        assert isinstance(provider, LexiProvider)
        caps = provider.capabilities
        assert not caps.reads_one_task and caps.status_read_calls == 5
        try:
            tasks = as_tasks(raw)
            await provider.approve("b-1")  # exec_delay 0: completed at once.
            await provider.dismiss("b-2", "testing")
            costs = []
            for task, action, expected in [(tasks[0], "approve", "pending"), (tasks[1], "approve", "completed"),
                                           (tasks[2], "dismiss", "dismissed"),
                                           (Task.from_api({"id": "nope"}), "approve", None)]:
                before = provider.calls_made, lists_served(server)
                assert await provider.status_of(task, action=action) == expected
                costs.append((provider.calls_made - before[0], lists_served(server) - before[1]))
            assert costs == [(1, 1), (3, 3), (2, 2), (5, 5)]  # pending; +approved, completed; +dismissed; all.
            assert await provider.calls_for_refresh(["pending", "approved", "pending"]) == 2
            with pytest.raises(NotImplementedError):
                await provider.get("b-0")
            assert provider.refresh_problems == {}
        finally:
            await provider.aclose()


async def test_a_chamelio_refresh_keeps_what_it_read_and_names_the_task_it_could_not() -> None:
    with start() as server, LossyProxy(server, "/chamelio") as proxy:
        ids = [chamelio_task(server) for _ in range(3)]
        for task_id in ids:
            watchlist.add("core", task_id)
        provider = ChamelioProvider(CHAMELIO_KEY, proxy.base_url, profile="core", read_retries=0)
        try:
            first = {t.id for t in await provider.list_tasks("pending")}
            assert first == {str(i) for i in ids} and provider.refresh_problems == {}
            provider.invalidate()
            proxy.always(rf"GET /chamelio/tasks/{ids[1]}$", 503)  # One watched task fails, again and again.
            again = {t.id for t in await provider.list_tasks("pending")}
            assert again == first  # Its previous version is kept; the others were read afresh.
            (problem,) = provider.refresh_problems.items()
            assert problem[0] == str(ids[1]) and "HTTP 503" in problem[1]
            # A task never read before that cannot be read now is not shown, only named.
            fresh = chamelio_task(server)
            watchlist.add("core", fresh)
            proxy.always(rf"GET /chamelio/tasks/{fresh}$", 500)
            provider.invalidate()
            assert {t.id for t in await provider.list_tasks("pending")} == first
            assert set(provider.refresh_problems) == {str(fresh)}
            # Nothing at all can be read: the refresh fails, with the error.
            proxy.always(r"GET /chamelio/tasks/", 500)
            provider.invalidate()
            with pytest.raises(ServerError):
                await provider.list_tasks("pending")
        finally:
            await provider.aclose()
