"""Live refresh: the screen hosts one `RefreshEngine` in one worker and shows what it says.

The engine (`lexi_tui.core.refresh`) decides when to poll and what, paced by the budget's
`Planner` over the day's quota; it hears every answer (the person's too), so the status bar's
connection state follows every call. This part turns its events into the screen:

* `ListFetched`: the list is stored (and shown, if on screen), the rules run on the queue, a
  task Lexi proposed in the chat is selected, the first painted list ends a `--exit-after-load`
  run, and new tasks ring or notify while the terminal is not focused (`notify`);
* `TaskFinished`: a toast with what the task did (`result_summary`);
* `ConnectionChanged`: the status bar's line; a refused key brings the login screen back.

It feeds the engine what the person does: keys and the terminal's focus (away and back),
dialogs (hold, resume), the view on screen, approved tasks to follow, their calls' errors.

Only two things here follow the clock, each coarsely and only while there is something to
say: the status bar's countdown (`widgets/countdown.py`) and one "clock" timer that moves on
the "updated 20s ago" label, the ages of hidden views' tab counts and the list's ages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Label, Static, Tab

from lexi_tui.api import collector
from lexi_tui.api.errors import LexiError
from lexi_tui.api.lexi import ResponseInfo
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.core.budget import Estimate, Planner, PlannerPolicy, span_text
from lexi_tui.core.refresh import (
    Clock,
    ConnectionChanged,
    ConnectionState,
    EnginePolicy,
    Event,
    Link,
    ListFetched,
    RefreshEngine,
    TaskFinished,
    ViewInfo,
)
from lexi_tui.providers.base import Provider
from lexi_tui.ui import clock
from lexi_tui.ui.text import toast
from lexi_tui.ui.widgets.countdown import ROUTINE_UNDER

if TYPE_CHECKING:
    from collections.abc import Callable

    from lexi_tui.providers.first_fetch import FirstAnswer, FirstFetch
    from lexi_tui.ui.main.screen import MainScreen


def result_summary(task: Task) -> str:
    """What a finished task's metadata says happened, in one line."""
    metadata = task.metadata if isinstance(task.metadata, dict) else {}
    key = "error" if task.status == TaskStatus.FAILED else "result"
    value = metadata.get(key)
    if isinstance(value, dict):
        if isinstance(value.get("message"), str):
            return str(value["message"])
        return ", ".join(
            f"{k.replace('_', ' ')} {v}"
            for k, v in value.items()
            if isinstance(v, (str, int, float)) and not k.endswith("_id")  # Ids are noise in a toast.
        )
    return str(value) if value is not None else ""


def age_text(seconds: float) -> str:
    """A coarse age for a tab's count, three cells wide: "<1m", " 5m", "12m", " 2h", " 3d".

    The same width from one step to the next, so the tab is repainted alone: a label that
    changes width lays out the tab bar and repaints the screen's scrollbars (about 1.9 KB to the
    terminal each time, where a same-width label costs a few dozen bytes)."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "<1m"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}".rjust(3)
    return "<1m"  # pragma: no cover


def _next_age_change(seconds: float) -> float:
    """Seconds until `age_text(seconds)` changes."""
    size = 86_400 if seconds >= 86_400 else 3_600 if seconds >= 3_600 else 60
    return size - seconds % size


def updated_text(age: float | None) -> tuple[str, float | None]:
    """"updated 20s ago" for a list read `age` seconds ago, and seconds until the words change.

    "just now" only under 10 s; then 10 s steps in the first minute, minutes, hours, days.

    Args:
        age: seconds since the list on screen was read (None: never).
    """
    if age is None:
        return "not fetched yet", None
    age = max(0.0, age)
    if age < 10:
        return "updated just now", 10 - age
    if age < 60:
        return f"updated {int(age // 10) * 10}s ago", 10 - age % 10
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if age >= size:
            return f"updated {int(age // size)}{unit} ago", size - age % size
    return "updated", None  # pragma: no cover


class ScreenClock:
    """The engine's clock: `lexi_tui.ui.clock.now()`, which snapshot tests pin, so the times
    the status bar shows ("retrying 12:00:02") are the same on every run."""

    def now(self) -> float:
        return clock.now().timestamp()

    def from_wall(self, wall: float) -> float:
        offset = self.now() - time.time()
        # Unpinned, the two clocks differ by the microseconds between the reads: a Reset at
        # midnight must stay midnight, not 23:59:59.99 ("resets 23:59").
        return wall if abs(offset) < 0.5 else wall + offset

    def real_seconds(self, seconds: float) -> float:
        return seconds


COMPARE_IN_THREAD_FROM = 2_000
"""A fetched list this long (or replacing one this long) is compared with the one on screen
in a thread and only the difference applied on the event loop: at 50,000 tasks the comparison
alone holds the loop for tens of milliseconds. Shorter lists are shown at once (a thread's
round trip would cost more than it saves)."""

POLICY = EnginePolicy()
"""The engine's tunables (away after 5 min, follow checks, back-off). A module attribute so a
test can shorten them; the app never changes it."""
PLANNER_POLICY = PlannerPolicy()
"""The planner's tunables (while away: 4 times less often, at least 5 min apart); likewise."""


def make_clock() -> Clock:
    """The engine's clock: `ScreenClock`. A test of a compressed day replaces this with a
    `ScaledClock` matching the local service's `time_scale`."""
    return ScreenClock()


class _Source:
    """The provider as the engine sees it, counting the engine's calls in flight: the other
    parts read `state.refreshing` (a list they read themselves is not the engine's)."""

    def __init__(self, provider: Provider, busy: Callable[[bool], None], first: FirstFetch | None = None) -> None:
        self.provider = provider
        self._busy = busy
        self._inflight = 0
        self.first = first
        """The child process that fetched the queue while the app loaded (`providers.first_fetch`):
        the engine's first call of the queue is its answer."""

    @property
    def capabilities(self) -> ViewInfo:
        return self.provider.capabilities

    def add_listener(self, listener: Callable[[ResponseInfo], None]) -> None:
        self.provider.add_listener(listener)

    async def list_tasks(self, status: str) -> list[Task]:
        self._inflight += 1
        self._busy(True)
        try:
            answer = await self._first_answer(status)
            if answer is None:
                return await self.provider.list_tasks(status)
            # Every answer the child got is heard now, by every listener, as if this call had
            # got it: the planner counts it and reads its headers, the header follows it.
            self.provider.replay(answer.heard)
            if answer.error is not None:
                raise answer.error
            assert answer.tasks is not None
            return answer.tasks
        finally:
            self._inflight -= 1
            self._busy(self._inflight > 0)


    async def _first_answer(self, view: str) -> FirstAnswer | None:
        """The child's answer when this is the first call of its view (None: call the server)."""
        claimed = self.first.claim(view) if self.first is not None else None
        if claimed is None:
            return None
        self.first = None
        answer = await asyncio.wrap_future(claimed)
        return answer  # None: the child fetched nothing (no key, no call allowed, it died): ask.


def _moved(before: Task | None, after: Task | None) -> bool:
    """Whether the task under the cursor is another, or the same one changed (its detail and
    the keys that depend on it must follow); a refresh that changed other rows leaves them."""
    if before is None or after is None:
        return before is not after
    return after is not before and (after.id != before.id or after.raw != before.raw)


class LiveRefresh:
    """The screen's live refresh: hosts the engine, and says what it says."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.state = screen.state
        self.clock = make_clock()
        self.engine: RefreshEngine | None = None
        self.planner: Planner | None = None
        self._following: set[str] = set()
        self._held = False
        self._focused = True
        self._again = False
        """Another part asked for a refresh while one was under way: one more follows it."""
        self._asked_at: float | None = None
        """When the person pressed r: a failure after it is also said in a toast."""
        self._exit_pending = False
        self._seen_queue: set[str] | None = None
        """Every task id the queue has shown this session (None until the first list)."""
        self._clock_timer: Timer | None = None
        self._answered_well = True
        """The server answered (not 5xx, not a dropped connection) since the last failure."""
        self._waiting: ListFetched | None = None
        """A long list fetched for the view on screen, waiting for (or in) its comparison."""
        self._comparing = False

    # -- hosting -------------------------------------------------------------------------------

    def mounted(self) -> None:
        """Start the engine in the screen's refresh worker (it ends with the screen)."""
        from lexi_tui.core.config import calls_today_path

        screen = self.screen
        settings = screen.lexi.settings
        provider = screen.provider
        self.planner = Planner(screen.budget.interval, self.plan_name(), daily_quota=provider.name == "lexi",
                               clock=self.clock.now, policy=PLANNER_POLICY)
        queue = self.state.queue
        self.engine = RefreshEngine(
            _Source(provider, self._set_refreshing, screen.first_fetch), self.planner, views=(queue, self.state.view), clock=self.clock,
            policy=POLICY, count_path=calls_today_path(settings.profile),
        )
        self.engine.subscribe(self._on_event)
        provider.add_listener(self._heard)
        self._focused = bool(screen.app.app_focus)  # The terminal may have lost focus before this screen came.
        if not self._focused:
            self.engine.focused(False)
        bar = screen.status_bar.countdown
        bar.clock = self.clock.now
        bar.present = self.engine.active
        screen.run_worker(self.engine.run(), group="refresh", exclusive=True, name="live refresh")
        self.update_clock()

    def plan_name(self) -> str | None:
        """The configured plan of this screen's profile (`plan =` at the top or in the profile)."""
        settings = self.screen.lexi.settings
        profile = next((p for p in settings.profiles if getattr(p, "name", None) == settings.profile), None)
        if profile is not None:
            return getattr(profile, "plan", None)
        return settings.plan if settings.provider == "lexi" else None

    def stop(self) -> None:
        """The screen is going away: the engine ends after the call in flight."""
        if self.engine is not None:
            self.engine.stop()

    def use_provider(self, provider: Provider) -> None:
        """A new key after a 401: poll through `provider` from now on."""
        if self.engine is not None:
            provider.add_listener(self._heard)
            self.engine.set_source(_Source(provider, self._set_refreshing))

    def _set_refreshing(self, busy: bool) -> None:
        self.state.refreshing = busy
        if not busy and self._again:
            self.screen.call_later(self._run_again)

    # -- what the person (or another part) asks for ---------------------------------------------

    def refresh_now(self) -> str | None:
        """The person pressed r: refresh the views on screen now. Returns None when it starts,
        else why not, with when it will ("Rate-limited this minute: the list refreshes 14:05:09
        (in 42 s).")."""
        if self.engine is None:
            return None
        answer = self.engine.refresh_now()
        if answer is None:
            self._asked_at = self.clock.now()
        return answer

    def run(self) -> None:
        """Refresh now for another part (a task handled elsewhere, a proposed task, a new key);
        when a refresh is already under way, one more follows it (that one may have read the
        list before the change)."""
        if self.engine is None:
            return
        if self.state.refreshing:
            self._again = True
            return
        answer = self.engine.refresh_now()
        if answer == "A refresh is under way.":
            self._again = True
            self.screen.set_timer(0.5, self._run_again)

    def _run_again(self) -> None:
        if self._again and not self.state.refreshing:
            self._again = False
            self.run()

    def hold(self) -> None:
        """A dialog (or another screen) opened over the list: no background poll until it closes."""
        self._held = True
        if self.engine is not None:
            self.engine.hold()
        self.update_clock()

    def resume(self) -> None:
        """Back on the list: catch up on what came due meanwhile.

        Only when this screen is the one on top: closing the profile picker resumes the old
        profile's screen for a moment before the switch pops it and closes its client, and a
        poll started then would meet a closed client."""
        if self.screen.app.screen is not self.screen:
            return
        self._held = False
        if self.engine is not None:
            self.engine.resume()
            self.engine.person_active()  # Closing a dialog is a key too.
        self.update_clock()

    def person_active(self) -> None:
        """A key (cheap: called on every key)."""
        engine = self.engine
        if engine is None:
            return
        away = not engine.active()
        engine.person_active()
        if away:
            self.screen.status_bar.countdown.update_now()  # Back: the countdown says "in …" again.

    def focused(self, focused: bool) -> None:
        """The terminal gained (AppFocus) or lost (AppBlur) focus.

        Args:
            focused: True on AppFocus.
        """
        self._focused = focused
        if self.engine is not None:
            self.engine.focused(focused)
            self.screen.status_bar.countdown.update_now()

    def views_changed(self) -> None:
        """The view on screen changed: the engine polls it too (and reads it now if it is old)."""
        if self.engine is not None:
            self.engine.set_views(self.state.queue, self.state.view)
        for view in self.state.views:
            self.label_tab(view)
        self.update_clock()

    def follow(self, task: Task) -> None:
        """An approved task: follow it until it completes or fails (a toast says which).

        Args:
            task: the task as approved.
        """
        if self.screen.capabilities.executing_view:
            self.state.executing[task.id] = task
        self.ensure_following()

    def ensure_following(self) -> None:
        """Follow every task in `state.executing` the engine does not follow yet (the older
        name of `follow`, kept while the other parts move over)."""
        engine = self.engine
        if engine is None:
            return
        for task_id, task in list(self.state.executing.items()):
            if task_id not in self._following:
                self._following.add(task_id)
                engine.follow(task)

    def report(self, error: LexiError) -> None:
        """A call of the person's failed (approve, dismiss, chat): the connection state says so
        (a dropped connection is heard nowhere else, and a 429's Retry-After is in the error).

        Args:
            error: what the call raised.
        """
        if self.engine is not None:
            self.engine.report(error)

    def estimate(self, calls: int) -> Estimate | None:
        """What a run of `calls` calls costs of today's quota and how long it takes, by the planner
        that has seen every answer of the day (None before the engine runs). Its
        `describe(now)` is one sentence for a bulk or rules dialog ("12 calls: about 4 s, 12% of
        today's quota; 51 left after it.").

        Args:
            calls: the run's calls (one per task).
        """
        if self.planner is None:
            return None
        return self.planner.estimate(calls, now=self.clock.now())

    def help_text(self) -> str:
        """The plan in force and how the budget is spent, for the help screen."""
        return self.engine.help_text() if self.engine is not None else ""

    # -- what the engine says -----------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ListFetched):
            self._fetched(event)
        elif isinstance(event, TaskFinished):
            self._finished(event.task, event.status)
        elif isinstance(event, ConnectionChanged):
            self._connection(event.state)
        self.ensure_following()  # The rules part adds approved tasks to `state.executing` itself.

    def _fetched(self, event: ListFetched) -> None:
        screen, state = self.screen, self.state
        view, tasks = event.view, event.tasks
        shown = event.shown and view == state.view
        later = shown and max(len(tasks), screen.table.list_size) >= COMPARE_IN_THREAD_FROM
        screen.store(view, tasks, counts_only=not shown or later, fetched_at=event.fetched_at)
        if later:
            self._compare_later(event)
        if view != state.queue:
            if shown and not later:
                self.update_clock()
            return
        if not later:
            state.fetched_at = event.fetched_at
        state.failures = 0
        self._asked_at = None
        screen.rules.apply(tasks)
        if not later:
            self._new_tasks(tasks)
            self._queue_on_screen()
            self.update_clock()

    def _queue_on_screen(self) -> None:
        """The queue just fetched is on screen: select a task Lexi proposed, end a
        `--exit-after-load` run."""
        screen, state = self.screen, self.state
        collector.freeze_once()  # What lives as long as the app (modules, widgets, styles) leaves the collector's scans.
        engine = self.engine
        if collector.untidy() and engine is not None and not engine.active():
            collector.tidy()  # Away: a full collection now frees the cycles long lists' parses froze.
        proposed = state.select_after_refresh
        if proposed and screen.table.select(proposed):
            state.select_after_refresh = None
            card = screen.chat.card_for(proposed)
            if card is not None and screen.table.current is not None:
                card.describe(screen.table.current)
        if screen.lexi.settings.exit_after_load and not self._exit_pending:
            self._exit_pending = True
            screen.call_after_refresh(screen.app.exit)

    # -- long lists: compared in a thread, applied on the loop ----------------------------------

    def _compare_later(self, event: ListFetched) -> None:
        """Show `event`'s list once a thread has compared it with the one on screen (the
        newest list wins: one that arrives during a comparison replaces the one waiting)."""
        self._waiting = event
        if not self._comparing:
            self._comparing = True
            self.screen.run_worker(self._compare(), group="compare", name="compare the list")

    @property
    def comparing(self) -> bool:
        """A fetched list is being compared in a thread and is not on screen yet."""
        return self._waiting is not None

    async def _compare(self) -> None:
        screen, state, table = self.screen, self.state, self.screen.table
        try:
            while (event := self._waiting) is not None:
                diff = await asyncio.to_thread(table.compare, table.snapshot(), event.tasks)
                if self._waiting is not event:
                    continue  # A newer list came meanwhile: compare that one instead.
                current = state.view == event.view and state.lists.get(event.view) is event.tasks
                added: list[Task] | None = None
                if current and not table.shows(event.tasks):
                    if not table.is_current(diff):
                        continue  # The table changed under the comparison: compare again.
                    before = table.current
                    with screen.app.batch_update():
                        if table.apply(diff, mark_new=event.view == state.queue) and _moved(before, table.current):
                            screen.detail.show(table.current)
                            screen.refresh_bindings()  # a/d/x depend on the task under the cursor.
                    added = [diff.incoming[task_id] for task_id in diff.added]
                # Not current: the view on screen has moved on (a task taken out of this very
                # list, another view shown); what is on screen already has this list's news.
                self._waiting = None
                if event.view == state.queue:
                    state.fetched_at = event.fetched_at
                    self._new_tasks(event.tasks, added)
                    self._queue_on_screen()
                self.update_clock()
        finally:
            self._comparing = False

    def _finished(self, task: Task, status: str | None) -> None:
        screen = self.screen
        self.state.executing.pop(task.id, None)
        self._following.discard(task.id)
        name = task.description or f"{task.type} {task.display_id}"  # Cleaned and bounded by `toast`.
        if status is None:
            where = (screen.capabilities.executing_view or "its").replace("_", " ")
            toast(screen, f"{name}: not finished after {span_text(POLICY.follow_for)}, and no longer followed; "
                  f"look in the {where} view.", title="Task still running", severity="warning", timeout=10)
            return
        detail = result_summary(task)
        toast(screen, name + (f": {detail}" if detail else ""), title=f"Task {status}",
              severity="error" if status == "failed" else "information", timeout=10)

    def _heard(self, info: ResponseInfo) -> None:
        """Every answer the provider gets: whether the server answered well since the last failure."""
        if info.status is not None and info.status < 500 and info.status not in (401, 403):
            self._answered_well = True

    def _connection(self, state: ConnectionState) -> None:
        screen = self.screen
        before = self.state.connection
        if (state.link == Link.ONLINE and before is not None and before.link in (Link.FAILING, Link.OFFLINE)
                and not self._answered_well):
            # The engine re-plans when the person leaves or comes back and then says "online"
            # (RefreshEngine.focused/_came_back publish the steady state) although no answer
            # came since the failure: keep saying what the last answer said, with the new time.
            state = dataclasses.replace(before, next_at=state.next_at)
        if state.link in (Link.FAILING, Link.OFFLINE):
            self._answered_well = False
        self.state.connection = state
        if state.link in (Link.FAILING, Link.OFFLINE) and state.error_at is not None and (
                before is None or before.error_at != state.error_at):
            self.state.failures += 1
            asked = self._asked_at
            if asked is not None and state.error_at >= asked - 1:
                self._asked_at = None
                toast(screen, state.error or "the server did not answer", title="Refresh failed",
                      severity="error", timeout=8)
        screen.status_bar.show(state, routine_every=self._routine_every(state))
        if state.link == Link.SIGNED_OUT and (before is None or before.link != Link.SIGNED_OUT):
            screen.lexi.request_login("The server refused the key; sign in again to go on.")
        self.update_clock()

    def _routine_every(self, state: ConnectionState) -> float | None:
        """The pace of routine refreshes when it is short (said as "live refresh every 15 s")."""
        fetched = self.state.fetched_at
        if state.link != Link.ONLINE or state.next_at is None or fetched is None:
            return None
        gap = state.next_at - fetched
        return gap if 0 < gap < ROUTINE_UNDER else None

    # -- new tasks while the terminal is not focused --------------------------------------------

    def _new_tasks(self, tasks: list[Task], added: list[Task] | None = None) -> None:
        """Ring or notify for tasks the queue never showed before, while the terminal is not
        focused.

        Args:
            tasks: the queue as fetched.
            added: those of `tasks` the list on screen did not have (a thread compared them):
                only they can be new, so a long queue costs what came, not its length.
        """
        seen = self._seen_queue
        if seen is None or added is None:
            ids = {task.id for task in tasks}
            self._seen_queue = ids if seen is None else seen | ids
            if seen is None or self._focused:
                return
            new = [task for task in tasks if task.id not in seen]
        else:
            new = [task for task in added if task.id not in seen]
            seen.update(task.id for task in new)
            if self._focused:
                return
        mode = self.screen.lexi.settings.notify
        if not new or mode == "off":
            return
        app = self.screen.app
        if mode == "bell":
            app.bell()
            return
        from lexi_tui.ui.terminal_notify import new_tasks_text, sequence

        body = new_tasks_text(new, known_types=self.screen.capabilities.known_types,
                              profile=self.screen.lexi.settings.profile)
        driver = app._driver  # As App.copy_to_clipboard writes OSC 52: Textual has no public call for it.
        if driver is not None and not app.is_headless:
            driver.write(sequence(body, os.environ))

    # -- what follows the clock, coarsely -------------------------------------------------------

    def label_tab(self, view: str) -> None:
        """The tab of `view`: its count when the list on screen has it; for a view not on screen
        the count with its age, dimmed ("Approved 12 · 5m"); no number when never read."""
        screen, state = self.screen, self.state
        tabs = screen.query(f"#view-{view}")
        if not tabs:
            return
        tab = tabs.first(Tab)
        title = view.replace("_", " ").title()
        tasks = state.lists.get(view)
        fetched = state.fetched.get(view)
        if tasks is None:
            label = Text(title)
        elif view in (state.queue, state.view):
            label = Text(f"{title} {len(tasks)}")
        elif fetched is None:
            label = Text(title)
        else:
            label = Text.assemble(title, (f" {len(tasks)} · {age_text(self.clock.now() - fetched)}", "dim"))
        content = Content.from_text(label)
        if tab.label == content:
            return
        if tab.label.cell_length == content.cell_length:
            # Same width ("· 4m" to "· 5m"): repaint the tab alone. Tab.label's setter lays out the
            # screen again and has Tabs move the underline (repainting the list's scrollbar too),
            # so keep what the setter keeps, `_label`, and update the Static without a layout.
            tab._label = content
            Static.update(tab, content, layout=False)
        else:
            tab.label = content

    def update_clock(self) -> None:
        """Redraw what follows the clock if its words changed ("updated 20s ago", the ages of
        hidden views' counts, the list's ages), then sleep until the next change."""
        screen, state = self.screen, self.state
        if not screen.is_mounted:
            return
        if self._clock_timer is not None:
            self._clock_timer.stop()
            self._clock_timer = None
        now = self.clock.now()
        fetched = state.fetched.get(state.view)
        text, change = updated_text(None if fetched is None else now - fetched)
        # The same width whatever the age ("updated just now", "updated 20s ago"): a label that
        # changes width lays out the bottom line and repaints the footer too.
        text = text.rjust(len("updated just now")) + self._paused()
        label = screen.query_one("#updated", Label)
        before = str(label.render())
        if before != text:
            label.update(text, layout=len(before) != len(text))
        waits = [change] if change is not None else []
        for view in state.views:
            seen = state.fetched.get(view)
            if view not in (state.queue, state.view) and seen is not None and view in state.lists:
                self.label_tab(view)
                waits.append(_next_age_change(now - seen))
        refresh_ages = getattr(screen.table, "refresh_ages", None)  # The table's hook (task_table.py).
        if refresh_ages is not None:
            ages = refresh_ages()
            if ages is not None:
                waits.append(min(max(ages, 15.0), 60.0))
        if waits:
            self._clock_timer = screen.set_timer(max(0.5, min(waits) + 0.05), self.update_clock, name="clock")

    def _paused(self) -> str:
        """Why live refresh is not running, if it is not (" · paused: dialog open")."""
        if self.screen.budget.interval <= 0:
            return " · live refresh off"
        connection = self.state.connection
        link = connection.link if connection is not None else None
        if link == Link.SIGNED_OUT:
            return " · paused: signed out"
        if link == Link.DAY_OVER:
            return " · paused: quota used up"
        if self._held:
            return " · paused: dialog open"
        if connection is not None and connection.next_what == "live refresh resumes":
            return " · paused: calls kept for you"
        return ""
