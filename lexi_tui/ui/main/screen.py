"""The triage screen: status views, the task list, the detail pane or chat, and the keys.

All HTTP runs in workers. Live refresh is one exclusive worker re-armed with a timer
(never `set_interval`, so refreshes cannot overlap), paced by `RefreshBudget` from the
rate-limit headers; it holds back while a dialog is open and catches up when it closes.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Label, Tab, Tabs

from lexi_tui.api.errors import InvalidKeyError, LexiError, RateLimitedError, TransportError
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.core.budget import RefreshBudget
from lexi_tui.core.journal import HeldJournal
from lexi_tui.core.rules import Rule
from lexi_tui.providers.base import Capabilities
from lexi_tui.ui.main.approvals import ApprovalActions
from lexi_tui.ui.main.rules import RuleActions, rules_log_widget
from lexi_tui.ui.main.triage import TriageActions, summary
from lexi_tui.ui.widgets.chat_panel import ChatPanel
from lexi_tui.ui.widgets.detail_pane import TaskDetail
from lexi_tui.ui.widgets.footer import QuietFooter
from lexi_tui.ui.widgets.status_bar import StatusBar
from lexi_tui.ui.widgets.task_table import TaskTable


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


class MainScreen(ApprovalActions, TriageActions, RuleActions, Screen[None]):
    """Clear the approval queue from the keyboard."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve", id="task.approve",
                tooltip="Approve the task; the cursor moves to the next pending one"),
        Binding("d", "dismiss_task", "Dismiss", id="task.dismiss",
                tooltip="Dismiss the task with a documented reason (1-5) or your own (6)"),
        Binding("x", "cancel_task", "Cancel", show=False, id="task.cancel",
                tooltip="Cancel the task's whole workflow, after a confirmation (providers that allow it)"),
        Binding("plus", "add_task", "Add", id="task.add",
                tooltip="Watch a task given by its id or URL (providers without a task list)"),
        Binding("minus", "forget_task", "Forget", show=False, id="task.forget",
                tooltip="Stop watching the task under the cursor (nothing is sent; + adds it again)"),
        Binding("u", "undo", "Undo", id="task.undo", tooltip="Take back the last approve/dismiss while its undo window is open"),
        Binding("c", "chat", "Chat", id="chat.open", tooltip="Open the chat with Lexi (Esc closes it)"),
        Binding("h", "history", "History", show=False, id="app.history", tooltip="The audit log of every action sent"),
        Binding("p", "toggle_rules", "Pause rules", show=False, id="rules.pause", tooltip="Pause or resume the auto-approve rules"),
        Binding("R", "rules_dry_run", "Rules dry run", show=False, id="rules.dry_run",
                tooltip="Show what the rules would do to the queue now, sending nothing"),
        Binding("slash", "filter", "Filter", show=False, id="list.filter",
                tooltip="Narrow the list as you type (id, type, description); Esc clears"),
        Binding("r", "refresh", "Refresh", show=False, id="list.refresh", tooltip="Fetch the list now"),
        Binding("y", "copy_id", "Copy id", show=False, id="task.copy_id",
                tooltip="Copy the task id to the clipboard (OSC 52: works over SSH)"),
        Binding("Y", "copy_json", "Copy JSON", show=False, id="task.copy_json",
                tooltip="Copy the metadata JSON to the clipboard (OSC 52)"),
        Binding("enter", "open_detail", "Metadata", show=False, id="task.open_detail",
                tooltip="Move focus to the metadata to scroll it; Esc comes back"),
        Binding("escape", "back", "Back", show=False, id="screen.back",
                tooltip="Clear the filter, close the chat, or return to the list"),
        Binding("1", "view_index(0)", "View 1", show=False, id="view.1", tooltip="Status view 1 (pending first)"),
        Binding("2", "view_index(1)", "View 2", show=False, id="view.2", tooltip="Status view 2 (pending first)"),
        Binding("3", "view_index(2)", "View 3", show=False, id="view.3", tooltip="Status view 3 (pending first)"),
        Binding("4", "view_index(3)", "View 4", show=False, id="view.4", tooltip="Status view 4 (pending first)"),
        Binding("5", "view_index(4)", "View 5", show=False, id="view.5", tooltip="Status view 5 (pending first)"),
        Binding("right_square_bracket", "cycle_view(1)", "Next view", show=False, id="view.next", tooltip="Next status view"),
        Binding("left_square_bracket", "cycle_view(-1)", "Previous view", show=False, id="view.previous",
                tooltip="Previous status view"),
    ]

    def __init__(
        self,
        budget: RefreshBudget,
        confirm_types: tuple[str, ...],
        capabilities: Capabilities,
        *,
        journal: HeldJournal,
        undo_window: float = 0.0,
        rules: list[Rule] | None = None,
    ) -> None:
        super().__init__()
        self.rules = list(rules or [])
        self.rules_paused = False
        self.journal = journal
        self.undo_window = undo_window
        self._hold_timers: dict[str, Timer] = {}
        self._advanced_to: dict[str, tuple[str, int]] = {}
        self.last_reasons: dict[str, str | None] = {}
        self.capabilities = capabilities
        self.views = capabilities.views
        self.budget = budget
        self.confirm_types = confirm_types
        self.view = self.views[0]
        self.lists: dict[str, list[Task]] = {}
        self.fetched_at: float | None = None
        self.inflight: dict[str, str] = {}
        """Task id -> "approve"/"dismiss" while the request is out: a second press sends nothing."""
        self.executing: dict[str, Task] = {}
        """Approved tasks followed until they complete or fail."""
        self.refreshing = False
        self.retry_at: float | None = None
        self._failures = 0
        self._timer: Timer | None = None
        self._due = False
        self._select_after_refresh: str | None = None

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with Horizontal(id="body"):
            with Vertical(id="list-pane"):
                yield Tabs(*(Tab(view.replace("_", " ").title(), id=f"view-{view}") for view in self.views), id="views")
                yield Input(placeholder="Filter: type to narrow the list, Enter to keep, Esc to clear", id="filter")
                yield TaskTable(id="tasks")
                yield rules_log_widget()
            with Vertical(id="side"):
                yield TaskDetail(id="detail")
                yield ChatPanel(id="chat")
        with Horizontal(id="bottom"):
            yield QuietFooter()
            yield Label("", id="updated")

    @property
    def table(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def detail(self) -> TaskDetail:
        return self.query_one(TaskDetail)

    @property
    def chat(self) -> ChatPanel:
        return self.query_one(ChatPanel)

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        self.query_one("#rules-log").display = bool(self.rules)
        if self.rules:
            self.query_one(StatusBar).rules = "on"
            self.rules_log(f"{len(self.rules)} rule(s) active; p pauses them, R shows a dry run")
        self.chat.display = False
        self.detail.known_types = self.capabilities.known_types
        self.relabel_bindings()
        self.query_one(Tabs).can_focus = False
        self.table.focus()
        self.query_one(StatusBar).location = self.app.location  # type: ignore[attr-defined]
        self.set_interval(10, self._update_clock)
        self.run_refresh()
        leftovers = self.journal.leftovers()
        if leftovers:
            # Held when the last session stopped (crash, kill): never sent. Say so, once.
            self.journal.clear()
            lines = "\n".join(f"{a.verb} {a.description[:60]}" for a in leftovers[:5])
            self.notify(
                f"{len(leftovers)} action(s) held when lexi-tui last stopped were NOT sent:\n{lines}\nAct again if you still want them.",
                title="Not sent", severity="warning", timeout=20, markup=False,
            )

    # -- refresh ---------------------------------------------------------------------

    def _tick(self) -> None:
        if self.app.screen is not self:
            self._due = True  # A dialog is open: catch up when it closes.
            return
        self.run_refresh()

    def on_screen_resume(self) -> None:
        if self._due and not self.refreshing:
            self._due = False
            self.run_refresh()

    def _schedule(self, delay: float | None) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if delay is not None:
            self._timer = self.set_timer(delay, self._tick)

    @work(exclusive=True, group="refresh")
    async def run_refresh(self) -> None:
        """Fetch the pending list (and the open view), then follow executing tasks."""
        api = self.app.provider  # type: ignore[attr-defined]
        self.refreshing = True
        calls = 0
        gets_before = getattr(api, "gets", None)  # Providers reading task by task count their GETs.
        try:
            for status in dict.fromkeys((self.views[0], self.view)):
                tasks = await api.list_tasks(status)
                calls += 1
                self._store(status, tasks)
                if status == self.views[0]:
                    self.apply_rules(tasks)
            if self.executing:
                calls += await self._follow_executing()
        except InvalidKeyError as error:
            self.refreshing = False
            self._set_connection("login")
            self.app.request_login(f"The server refused the key: {error.message}")  # type: ignore[attr-defined]
            return
        except RateLimitedError as error:
            wait = error.retry_after if error.retry_after is not None else 30.0
            self.retry_at = time.time() + wait
            self._set_connection("rate-limited", f"until {time.strftime('%H:%M:%S', time.localtime(self.retry_at))}")
            self.notify(f"Rate limit reached; live refresh waits {wait:.0f} s.", title="Rate limited", severity="warning")
            self.refreshing = False
            self._schedule(wait + 0.5)
            return
        except LexiError as error:
            self._failures += 1
            wait = min(60.0, 2.0 * 2 ** min(self._failures - 1, 5))
            self.retry_at = time.time() + wait
            state = "offline" if isinstance(error, TransportError) else "online"
            self._set_connection(state, f"retrying in {wait:.0f} s ({error.message})" if state == "offline" else "")
            if state == "online":
                self.notify(str(error), title="Refresh failed", severity="error")
            self.refreshing = False
            self._schedule(wait)
            return
        self.refreshing = False
        self._failures = 0
        self.retry_at = None
        self.fetched_at = time.time()
        self._set_connection("online")
        self._update_clock()
        if self.app.settings.exit_after_load:  # type: ignore[attr-defined]
            self.call_after_refresh(self.app.exit)
        proposed = self._select_after_refresh
        if proposed and self.table.select(proposed):
            self._select_after_refresh = None
            card = self.chat.card_for(proposed)
            if card is not None and self.table.current is not None:
                card.describe(self.table.current)
        if gets_before is not None:
            calls = max(calls, api.gets - gets_before)  # Chamelio: one GET per watched task.
        self._schedule(self.budget.delay(api.rate_limit, calls=max(calls, 1)) if self.budget.enabled else None)

    async def _follow_executing(self) -> int:
        """Detect approved tasks that finished; notify with their result. Returns calls made."""
        api = self.app.provider  # type: ignore[attr-defined]
        caps = self.capabilities
        if caps.executing_view is None:
            self.executing.clear()
            return 0
        running = await api.list_tasks(caps.executing_view)
        self._store(caps.executing_view, running, counts_only=caps.executing_view != self.view)
        approved = {task.id for task in running}
        calls = 1
        finished = [task_id for task_id in self.executing if task_id not in approved]
        for status in caps.finished_views:
            if not finished:
                break
            found = {task.id: task for task in await api.list_tasks(status)}
            calls += 1
            self._store(status, list(found.values()), counts_only=status != self.view)
            for task_id in [t for t in finished if t in found]:
                task = found[task_id]
                self.executing.pop(task_id, None)
                finished.remove(task_id)
                outcome = status
                detail = result_summary(task)
                self.notify(
                    Text(f"{summary(task)}" + (f": {detail}" if detail else "")).plain,
                    title=f"Task {outcome}",
                    severity="error" if outcome == "failed" else "information",
                    timeout=10,
                    markup=False,
                )
        return calls

    def _store(self, status: str, tasks: list[Task], *, counts_only: bool = False) -> None:
        self.lists[status] = tasks
        tabs = self.query(f"#view-{status}")
        if not tabs:
            return
        tab = tabs.first(Tab)
        label = f"{status.replace('_', ' ').title()} {len(tasks)}"
        if tab.label.plain != label:  # Setting a label lays out the screen again, even an equal one.
            tab.label = Text(label)
        if status == self.view and not counts_only:
            with self.app.batch_update():
                changed = self.table.set_tasks(tasks, mark_new=status == self.views[0])
                if changed:
                    self.detail.show(self.table.current)
                    self.refresh_bindings()  # a/d/x depend on the task under the cursor.

    def _set_connection(self, state: str, detail: str = "") -> None:
        bar = self.query_one(StatusBar)
        bar.connection = state
        bar.detail = detail
        bar.rate_limit = self.app.provider.rate_limit  # type: ignore[attr-defined]

    def _update_clock(self) -> None:
        """`updated 20s ago`, coarse on purpose: one small label, at most every 10 s."""
        label = self.query_one("#updated", Label)
        if self.fetched_at is None:
            text = "not fetched yet"
        else:
            age = time.time() - self.fetched_at
            if age < 10:
                text = "updated just now"
            elif age < 60:
                text = f"updated {int(age // 10) * 10}s ago"
            else:
                text = f"updated {int(age // 60)}m ago"
        if not self.budget.enabled:
            text += " · live refresh off"
        if str(label.render()) != text:
            label.update(text)

    # -- selection ------------------------------------------------------------------

    @on(TaskTable.MarksChanged)
    def _marks_changed(self) -> None:
        self.query_one(StatusBar).marked = len(self.table.marked)

    @on(TaskTable.Highlighted)
    def _highlighted(self, event: TaskTable.Highlighted) -> None:
        self.detail.show(event.task)
        self.load_extras(event.task)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_task", "cancel_task", "forget_task"):
            return self.check_approval_action(action)
        if action in ("approve", "dismiss_task"):
            task = self.table.current
            if self.view != self.views[0] or task is None or task.status != TaskStatus.PENDING:
                return None  # Shown greyed out in the footer.
        if action == "chat" and not self.capabilities.chat:
            return False
        if action in ("copy_id", "copy_json", "open_detail") and self.table.current is None:
            return None
        if action == "undo" and not self.journal.actions:
            return None
        return True

    # -- actions ---------------------------------------------------------------------

    def action_view(self, view: str) -> None:
        if view == self.view:
            return
        self.view = view
        self.query_one(Tabs).active = f"view-{view}"
        with self.app.batch_update():
            self.table.set_tasks(self.lists.get(view, []), mark_new=False)
            self.table.move_to(0)
            self.detail.show(self.table.current)
        self.refresh_bindings()
        if view not in self.lists and not self.refreshing:
            self.run_refresh()

    def action_view_index(self, index: int) -> None:
        if 0 <= index < len(self.views):
            self.action_view(self.views[index])

    def action_cycle_view(self, step: int) -> None:
        index = (self.views.index(self.view) + step) % len(self.views)
        self.action_view(self.views[index])

    @on(Tabs.TabActivated)
    def _tab_clicked(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id:
            self.action_view(event.tab.id.removeprefix("view-"))

    def action_refresh(self) -> None:
        if self.refreshing:
            self.notify("A refresh is already under way.", timeout=2)
            return
        self.run_refresh()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self.detail.show(self.table.current)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        if not event.value:
            self.query_one("#filter").display = False
        self.table.focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus or (box.display and self.table.has_focus):
            box.value = ""
            box.display = False
            self.table.focus()
        elif self.chat.display:
            self._close_chat()
        else:
            self.table.focus()

    def action_history(self) -> None:
        from lexi_tui.ui.screens.history_screen import HistoryScreen

        self.app.push_screen(HistoryScreen())

    def action_open_detail(self) -> None:
        self.detail.json_view.focus()

    def action_copy_id(self) -> None:
        task = self.table.current
        if task is not None:
            self.app.copy_to_clipboard(task.id)
            self.notify(f"Copied the task id {task.id}.", timeout=3, markup=False)

    def action_copy_json(self) -> None:
        task = self.table.current
        if task is None:
            return
        text = self.detail.json_view.plain_text if self.detail.shown is task else ""
        if not text:
            import json

            text = json.dumps(task.metadata, indent=2, ensure_ascii=False, default=str)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the metadata JSON ({len(text):,} characters).", timeout=3)

    def action_chat(self) -> None:
        self.detail.display = False
        self.chat.display = True
        self.chat.focus_input()

    @on(ChatPanel.Closed)
    def _close_chat(self) -> None:
        self.chat.display = False
        self.detail.display = True
        self.table.focus()

    @on(ChatPanel.TaskProposed)
    def _task_proposed(self, event: ChatPanel.TaskProposed) -> None:
        if self.view != self.views[0]:
            self.action_view(self.views[0])
        self._select_after_refresh = event.task_id
        if not self.refreshing:
            self.run_refresh()

    @on(ChatPanel.ActOnTask)
    def _act_from_chat(self, event: ChatPanel.ActOnTask) -> None:
        task = next((t for t in self.lists.get(self.views[0], []) if t.id == event.task_id), None)
        if task is None:
            self.notify("That task is not pending any more; refreshing.", severity="warning")
            self.action_refresh()
            return
        self.table.select(task.id)
        if event.action == "approve":
            self.approve(task)
        else:
            self.dismiss_with_dialog(task)
