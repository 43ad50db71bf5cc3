"""Live refresh: one exclusive worker re-armed with a timer, paced by the refresh budget.

Never `set_interval`, so refreshes cannot overlap. While a dialog is open a due refresh waits
and runs when the screen is back. Each refresh fetches the queue (and the view on screen, if
another), runs the rules on the queue, and follows approved tasks until they finish.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Label

from lexi_tui.api.errors import InvalidKeyError, LexiError, RateLimitedError, TransportError
from lexi_tui.api.models import Task, TaskStatus

if TYPE_CHECKING:
    from lexi_tui.ui.main.screen import MainScreen


def result_summary(task: Task) -> str:
    """What a finished task's metadata says happened, in one line."""
    metadata = task.metadata if isinstance(task.metadata, dict) else {}
    key = "error" if task.status == TaskStatus.FAILED else "result"
    value = metadata.get(key)
    if isinstance(value, dict):
        if isinstance(value.get("message"), str):
            return value["message"]
        return ", ".join(
            f"{k.replace('_', ' ')} {v}"
            for k, v in value.items()
            if isinstance(v, (str, int, float)) and not k.endswith("_id")  # Ids are noise in a toast.
        )
    return str(value) if value is not None else ""


class LiveRefresh:
    """The screen's refresh loop."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.state = screen.state

    def mounted(self) -> None:
        self.screen.set_interval(10, self.update_clock)
        self.run()

    def tick(self) -> None:
        """The timer fired: refresh, unless a dialog is open (then catch up when it closes)."""
        if self.screen.app.screen is not self.screen:
            self.state.due = True
            return
        self.run()

    def resumed(self) -> None:
        if self.state.due and not self.state.refreshing:
            self.state.due = False
            self.run()

    def schedule(self, delay: float | None) -> None:
        """Arm the next refresh `delay` seconds from now (None: none)."""
        state = self.state
        if state.refresh_timer is not None:
            state.refresh_timer.stop()
            state.refresh_timer = None
        if delay is not None:
            state.refresh_timer = self.screen.set_timer(delay, self.tick)

    def run(self) -> None:
        """Refresh now, in the screen's one refresh worker (a newer one replaces an older)."""
        self.screen.run_worker(self._refresh(), group="refresh", exclusive=True)

    def ensure_following(self) -> None:
        """Make sure a refresh comes soon enough to see an executing task finish."""
        screen = self.screen
        if not self.state.refreshing and screen.budget.enabled:
            self.schedule(screen.budget.delay(screen.provider.rate_limit, calls=2))

    async def _refresh(self) -> None:
        """Fetch the pending list (and the open view), then follow executing tasks."""
        screen, state = self.screen, self.state
        api = screen.provider
        state.refreshing = True
        calls = 0
        gets_before = getattr(api, "gets", None)  # Providers reading task by task count their GETs.
        try:
            for status in dict.fromkeys((state.queue, state.view)):
                tasks = await api.list_tasks(status)
                calls += 1
                screen.store(status, tasks)
                if status == state.queue:
                    screen.rules.apply(tasks)
            if state.executing:
                calls += await self._follow_executing()
        except InvalidKeyError as error:
            state.refreshing = False
            self.set_connection("login")
            screen.lexi.request_login(f"The server refused the key: {error.message}")
            return
        except RateLimitedError as error:
            wait = error.retry_after if error.retry_after is not None else 30.0
            state.retry_at = time.time() + wait
            self.set_connection("rate-limited", f"until {time.strftime('%H:%M:%S', time.localtime(state.retry_at))}")
            screen.notify(f"Rate limit reached; live refresh waits {wait:.0f} s.", title="Rate limited", severity="warning")
            state.refreshing = False
            self.schedule(wait + 0.5)
            return
        except LexiError as error:
            state.failures += 1
            wait = min(60.0, 2.0 * 2 ** min(state.failures - 1, 5))
            state.retry_at = time.time() + wait
            connection = "offline" if isinstance(error, TransportError) else "online"
            self.set_connection(connection, f"retrying in {wait:.0f} s ({error.message})" if connection == "offline" else "")
            if connection == "online":
                screen.notify(str(error), title="Refresh failed", severity="error", markup=False)
            state.refreshing = False
            self.schedule(wait)
            return
        state.refreshing = False
        state.failures = 0
        state.retry_at = None
        state.fetched_at = time.time()
        self.set_connection("online")
        self.update_clock()
        if screen.lexi.settings.exit_after_load:
            screen.call_after_refresh(screen.app.exit)
        proposed = state.select_after_refresh
        if proposed and screen.table.select(proposed):
            state.select_after_refresh = None
            card = screen.chat.card_for(proposed)
            if card is not None and screen.table.current is not None:
                card.describe(screen.table.current)
        if gets_before is not None:
            calls = max(calls, api.gets - gets_before)  # Chamelio: one GET per watched task.
        self.schedule(screen.budget.delay(api.rate_limit, calls=max(calls, 1)) if screen.budget.enabled else None)

    async def _follow_executing(self) -> int:
        """Detect approved tasks that finished; notify with their result. Returns calls made."""
        screen, state = self.screen, self.state
        api = screen.provider
        caps = screen.capabilities
        if caps.executing_view is None:
            state.executing.clear()
            return 0
        running = await api.list_tasks(caps.executing_view)
        screen.store(caps.executing_view, running, counts_only=caps.executing_view != state.view)
        approved = {task.id for task in running}
        calls = 1
        finished = [task_id for task_id in state.executing if task_id not in approved]
        for status in caps.finished_views:
            if not finished:
                break
            found = {task.id: task for task in await api.list_tasks(status)}
            calls += 1
            screen.store(status, list(found.values()), counts_only=status != state.view)
            for task_id in [t for t in finished if t in found]:
                task = found[task_id]
                state.executing.pop(task_id, None)
                finished.remove(task_id)
                detail = result_summary(task)
                screen.notify(
                    Text(task.description or f"{task.type} {task.id}").plain + (f": {detail}" if detail else ""),
                    title=f"Task {status}",
                    severity="error" if status == "failed" else "information",
                    timeout=10,
                    markup=False,
                )
        return calls

    def set_connection(self, state: str, detail: str = "") -> None:
        bar = self.screen.status_bar
        bar.connection = state
        bar.detail = detail
        bar.rate_limit = self.screen.provider.rate_limit

    def update_clock(self) -> None:
        """`updated 20s ago`, coarse on purpose: one small label, at most every 10 s."""
        label = self.screen.query_one("#updated", Label)
        fetched = self.state.fetched_at
        if fetched is None:
            text = "not fetched yet"
        else:
            age = time.time() - fetched
            if age < 10:
                text = "updated just now"
            elif age < 60:
                text = f"updated {int(age // 10) * 10}s ago"
            else:
                text = f"updated {int(age // 60)}m ago"
        if not self.screen.budget.enabled:
            text += " · live refresh off"
        if str(label.render()) != text:
            label.update(text)
