"""The triage screen: status views, the task list, the detail pane or chat, and the keys.

One screen, its state declared once (`TriageState`), and four parts that each own one
concern and share that state: `refresh.py` (live refresh within the rate limit),
`actions.py` (approve and dismiss, the undo window, bulk runs), `approvals.py` (approving
through a form, cancel, the watch list: providers with comments, variables or no list
endpoint) and `rules.py` (auto-approve/dismiss rules). The screen composes the widgets,
answers the keys (each `action_*` hands over to the part that owns it) and keeps the lists.

All HTTP runs in workers started on this screen, so they end with it; the screen talks to
the provider it was built with, never to whatever the app holds later.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static, Tab, Tabs

from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.api.text import show_id
from lexi_tui.core.budget import RefreshBudget
from lexi_tui.core.journal import HeldJournal
from lexi_tui.core.rules import Rule
from lexi_tui.providers.base import Capabilities, Provider
from lexi_tui.ui.dialogs.inputs import SteadyInput
from lexi_tui.ui.main.actions import TriageActions
from lexi_tui.ui.main.approvals import FormApprovals
from lexi_tui.ui.main.cached import GuardedTable, StartList, refusal
from lexi_tui.ui.main.refresh import LiveRefresh
from lexi_tui.ui.main.rules import RulesPart
from lexi_tui.ui.main.state import TriageState
from lexi_tui.ui.text import plain, size_words, toast
from lexi_tui.ui.widgets.chat_panel import ChatPanel
from lexi_tui.ui.widgets.detail_pane import TaskDetail
from lexi_tui.ui.widgets.footer import QuietFooter
from lexi_tui.ui.widgets.status_bar import StatusBar
from lexi_tui.ui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from lexi_tui.providers.first_fetch import FirstFetch
    from lexi_tui.ui.app import LexiApp


def summary(task: Task) -> str:
    """A task in one line: its description, or its type and id."""
    return task.description or f"{task.type} {task.id}"


class MainScreen(Screen[None]):
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
        provider: Provider,
        budget: RefreshBudget,
        confirm_types: tuple[str, ...],
        *,
        journal: HeldJournal,
        undo_window: float = 0.0,
        rules: list[Rule] | None = None,
        cached: StartList | None = None,
        select: str | None = None,
        confirmed: bool = False,
        first_fetch: FirstFetch | None = None,
    ) -> None:
        """
        Args:
            provider: the approval system this screen triages; kept for the screen's life
                (a new key after a 401 replaces it with `use_provider`).
            budget: how often live refresh may poll.
            confirm_types: task types that ask before approving.
            journal: the undo window's journal for this profile.
            undo_window: seconds an approve or dismiss waits before it is sent (0: at once).
            rules: auto-approve/dismiss rules run after each refresh of the queue.
            cached: the queue kept from an earlier run, shown until the server's list replaces
                it; nothing on it can be acted on until then (`ui.main.cached`).
            select: the task to put the cursor on first (the one it was on in the cached list).
            confirmed: `cached` is a list the server has just sent (the first list, shown
                before this screen was built), not a kept one: it is shown without the marker.
            first_fetch: the child process that fetched the queue while the app loaded; the
                live refresh takes its answer as its first call (`providers.first_fetch`).
        """
        super().__init__()
        self.provider = provider
        self.capabilities: Capabilities = provider.capabilities
        self.budget = budget
        self.confirm_types = confirm_types
        self.journal = journal
        self.undo_window = undo_window
        self.state = TriageState(views=self.capabilities.views, view=self.capabilities.views[0])
        self.refresher = LiveRefresh(self)
        self.actions = TriageActions(self)
        self.forms = FormApprovals(self)
        self.rules = RulesPart(self, list(rules or []))
        self._cached = cached
        self._select = select
        self._start_confirmed = confirmed
        self.first_fetch = first_fetch

    @property
    def lexi(self) -> LexiApp:
        """The app, typed (settings, error display, login)."""
        return cast("LexiApp", self.app)

    def use_provider(self, provider: Provider) -> None:
        """Talk to `provider` from now on (the person signed in again after a 401)."""
        self.provider = provider
        self.refresher.use_provider(provider)

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status-bar")
        with Horizontal(id="body"):
            with Vertical(id="list-pane"):
                views = self.state.views
                yield Tabs(*(Tab(view.replace("_", " ").title(), id=f"view-{view}") for view in views), id="views")
                yield SteadyInput(placeholder="Filter: type to narrow the list, Enter to keep, Esc to clear", id="filter")
                yield GuardedTable(id="tasks", empty_text=self.empty_text)
                yield Static("", id="list-problems")
                yield self.rules.log_widget()
            with Vertical(id="side"):
                yield TaskDetail(id="detail", empty_text=self.empty_text)
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

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.query_one("#filter").display = False
        self.rules.mounted()
        self.chat.display = False
        self.detail.known_types = self.capabilities.known_types
        self.relabel_bindings()
        self.query_one(Tabs).can_focus = False
        self.table.focus()
        self.status_bar.location = self.lexi.location
        if self._cached is not None:
            self._show_cached(self._cached)
        self.refresher.mounted()
        self.actions.report_leftovers()

    def on_screen_resume(self) -> None:
        self.refresher.resume()

    def on_screen_suspend(self) -> None:
        self.refresher.hold()  # A dialog or another screen is over the list: live refresh waits.

    def on_unmount(self) -> None:
        self.refresher.stop()

    def on_key(self, event: events.Key) -> None:
        self.refresher.person_active()  # Away and back: the engine polls less while nobody is here.

    @on(Input.Changed)
    def _typed(self) -> None:
        self.refresher.person_active()  # Keys typed into an input never reach on_key.

    def _show_cached(self, cached: StartList) -> None:
        """The queue kept from an earlier run, until the server's list replaces it (or the
        server's first list, already confirmed: then without the marker)."""
        state = self.state
        if not self._start_confirmed:
            state.cached_as_of = cached.as_of
            self.status_bar.cached_as_of = cached.as_of
        state.lists[state.queue] = cached.tasks
        state.fetched[state.queue] = self.refresher.clock.from_wall(cached.fetched_at)
        self.table.set_tasks(cached.tasks, mark_new=False)
        if self._select is not None:
            self.table.select(self._select)
        self.detail.show(self.table.current)
        self.refresher.label_tab(state.queue)

    def refuse_unconfirmed(self) -> bool:
        """True (and a toast saying why) while the queue on screen is the cached list: no
        action, chat or mark before the server has confirmed the task is still pending."""
        as_of = self.state.cached_as_of
        if as_of is None:
            return False
        toast(self, refusal(as_of), title="Not confirmed yet", severity="warning", timeout=5)
        return True

    def _confirmed(self, tasks: list[Task]) -> None:
        """A fresh list of the queue: the cached one (if shown) is over, and this one is kept."""
        if self.state.cached_as_of is not None:
            self.state.cached_as_of = None
            self.status_bar.cached_as_of = ""
            self.refresh_bindings()
        saver = self.lexi.list_saver
        if saver is not None and self.provider is self.lexi._provider:
            saver.offer(tasks)

    def run_refresh(self) -> None:
        """Refresh now (after a new key, a proposed task, a task handled elsewhere)."""
        self.refresher.run()

    # -- the lists ------------------------------------------------------------------

    def store(self, status: str, tasks: list[Task], *, counts_only: bool = False,
              fetched_at: float | None = None) -> None:
        """Keep `tasks` as the list of view `status`, update its tab and, if it is on screen,
        the list (diffed by task id, so the cursor stays on its task).

        Args:
            status: the view.
            tasks: its tasks.
            counts_only: keep the list and its count, but do not show it.
            fetched_at: when the server gave this list (the refresh engine's clock); None for a
                list changed here (a task decided), which keeps the time its list was read.
        """
        self.state.lists[status] = tasks
        if fetched_at is not None:
            self.state.fetched[status] = fetched_at
            if status == self.state.queue:
                self._confirmed(tasks)
        self.refresher.label_tab(status)  # "Approved 12 · 5m" for a view not on screen.
        if status == self.state.view and not counts_only:
            with self.app.batch_update():
                changed = self.table.set_tasks(tasks, mark_new=status == self.state.queue)
                if changed:
                    self.detail.show(self.table.current)
                    self.refresh_bindings()  # a/d/x depend on the task under the cursor.

    def drop_task(self, task_id: str) -> None:
        """The task left every view it was in (decided, cancelled, forgotten)."""
        for view, tasks in list(self.state.lists.items()):
            if any(t.id == task_id for t in tasks):
                self.store(view, [t for t in tasks if t.id != task_id])

    # -- selection ------------------------------------------------------------------

    @on(TaskTable.MarksChanged)
    def _marks_changed(self) -> None:
        self.status_bar.marked = len(self.table.marked)

    @on(TaskTable.Highlighted)
    def _highlighted(self, event: TaskTable.Highlighted) -> None:
        self.detail.show(event.task)
        self.forms.load_extras(event.task)

    def empty_text(self) -> str:
        """What an empty list (and the detail pane beside it) says, in this view now."""
        state = self.state
        view = state.view
        if view not in state.lists:
            return "Not fetched yet"
        if self.table.filter_text:
            return f"No task here matches “{self.table.filter_text[:60]}” (Esc clears the filter)"
        if view == state.queue:
            if self.capabilities.add_by_reference:
                return "No task awaits your approval. Press + to watch a task by id or URL"
            return f"No {view.replace('_', ' ')} tasks: the queue is clear"
        return f"No {view.replace('_', ' ')} tasks"

    MAX_PROBLEM_LINES = 3
    """Rows under the list for its problems; the last one holds every problem left over."""
    _problems_shown = ""
    """The lines under the list now (set only by `_listed`)."""

    @on(TaskTable.Listed)
    def _listed(self, event: TaskTable.Listed) -> None:
        """Say under the list what the server sent that could not be shown as it came (a
        duplicated or empty id, a task too deep to read; for a watch list, a task that could
        not be read). One row per problem, the same rows until the problems change: never a
        toast per refresh. Each row is one line, cut with an ellipsis."""
        problems = list(event.problems)
        for task_id, error in self.provider.refresh_problems.items():
            kept = "its last known state is shown" if self.table.get(task_id) else "it is not shown"
            problems.append(f"Task {show_id(task_id)} could not be read ({error}); {kept}.")
        rows = problems[: self.MAX_PROBLEM_LINES - 1]
        if len(problems) >= self.MAX_PROBLEM_LINES:
            rows.append(" ".join(problems[self.MAX_PROBLEM_LINES - 1:]))
        shown = "\n".join(rows)
        if shown != self._problems_shown:
            self._problems_shown = shown
            text = Text(no_wrap=True, overflow="ellipsis")
            for number, row in enumerate(rows):
                text.append_text(plain(("\n" if number else "") + "⚠ " + row, limit=2_000))
            self.query_one("#list-problems", Static).update(text)
            self.query_one("#list-problems", Static).set_class(bool(rows), "-shown")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Footer state: False hides a key this provider does not have, None greys it out (no
        task under the cursor, nothing to undo, or this lexi-tui is read-only: the line above
        the list and the key's tooltip say why)."""
        read_only = self.journal.is_read_only
        if action in ("add_task", "cancel_task", "forget_task"):
            return self.forms.check(action)
        if action in ("approve", "dismiss_task"):
            task = self.table.current
            if read_only or self.state.view != self.state.queue or task is None or task.status != TaskStatus.PENDING:
                return None
        if action == "chat" and not self.capabilities.chat:
            return False
        if action in ("copy_id", "copy_json", "open_detail") and self.table.current is None:
            return None
        if action == "undo" and (read_only or not self.actions.waiting):
            return None
        if action == "toggle_rules" and read_only:
            return None
        return True

    def relabel(self, binding: Binding) -> Binding:
        """`binding` as this provider says it: the dismiss key is "Reject" for Chamelio, and
        the view keys name their views ("1": "Pending view")."""
        import dataclasses

        label = self.capabilities.dismiss_label
        if binding.id == "task.dismiss" and label != "Dismiss":
            return dataclasses.replace(binding, description=label,
                                       tooltip=f"{label} the task, with a comment (a preset or your own)")
        if binding.id and binding.id.startswith("view.") and binding.id[5:].isdigit():
            index = int(binding.id[5:]) - 1
            if index < len(self.state.views):
                name = self.state.views[index].replace("_", " ")
                return dataclasses.replace(binding, description=f"Show {name} tasks",
                                           tooltip=f"Show the {name} tasks (view {index + 1})")
        return binding

    def relabel_bindings(self) -> None:
        """The footer, help and palette say the provider's words ("Reject" for Chamelio, the
        views' names)."""
        table = self._bindings.key_to_bindings
        for key, bindings in table.items():
            table[key] = [self.relabel(b) for b in bindings]

    # -- keys: acting on tasks -------------------------------------------------------------

    def action_approve(self) -> None:
        """With marks, approve every marked task (one confirmation); else the one under the cursor."""
        if self.refuse_unconfirmed():
            return
        if self.table.marked:
            self.actions.bulk("approve", None)
            return
        task = self.table.current
        if task is None:
            return
        if self.capabilities.comments or self.capabilities.variables:
            self.forms.approve(task)  # A form: a comment, the step's variables.
        else:
            self.actions.approve(task)

    def action_dismiss_task(self) -> None:
        """With marks, dismiss (reject) every marked task with one reason; else the one under the cursor."""
        if self.refuse_unconfirmed():
            return
        if self.table.marked:
            self.actions.bulk_dismiss()
            return
        task = self.table.current
        if task is not None:
            self.actions.dismiss_with_dialog(task)

    def action_undo(self) -> None:
        """Take back the most recent action still in its undo window."""
        self.actions.undo()

    def action_cancel_task(self) -> None:
        """Cancel the task's workflow, after a confirmation (providers with `cancel`)."""
        if not self.refuse_unconfirmed():
            self.forms.cancel_current()

    def action_add_task(self) -> None:
        """Watch a task by id or URL (providers with `add_by_reference`)."""
        self.forms.add_task()

    def action_forget_task(self) -> None:
        """Stop watching the task under the cursor (nothing is sent)."""
        self.forms.forget_current()

    def action_toggle_rules(self) -> None:
        """Pause or resume the auto-approve rules."""
        self.rules.toggle()

    def action_rules_dry_run(self) -> None:
        """What the rules would do to the queue now; nothing is sent."""
        self.rules.dry_run()

    # -- keys: views, filter, detail, chat ---------------------------------------------------

    def action_view(self, view: str) -> None:
        state = self.state
        if view == state.view:
            return
        state.view = view
        self.query_one(Tabs).active = f"view-{view}"
        with self.app.batch_update():
            self.table.set_tasks(state.lists.get(view, []), mark_new=False)
            self.table.move_to(0)
            self.detail.show(self.table.current)
        self.refresh_bindings()
        self.refresher.views_changed()  # Polled while on screen; read now if never read or old.

    def action_view_index(self, index: int) -> None:
        if 0 <= index < len(self.state.views):
            self.action_view(self.state.views[index])

    def action_cycle_view(self, step: int) -> None:
        views = self.state.views
        self.action_view(views[(views.index(self.state.view) + step) % len(views)])

    @on(Tabs.TabActivated)
    def _tab_clicked(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id:
            self.action_view(event.tab.id.removeprefix("view-"))

    def action_refresh(self) -> None:
        answer = self.refresher.refresh_now()  # None: under way; else why not now, and when.
        if answer:
            self.notify(answer, timeout=4, markup=False)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self.table.refresh_empty()  # "No task here matches …" follows the text.
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
        """Copy the id byte for byte as the server sent it; the toast shows its display form."""
        task = self.table.current
        if task is not None:
            self.app.copy_to_clipboard(task.id)
            exact = "" if task.display_id == task.id else " (copied exactly as the server sent it)"
            toast(self, f"Copied the task id {task.display_id}{exact}.", timeout=3)

    COPY_LIMIT = 1_000_000
    """Characters copied at most: OSC 52 sends the text through the terminal (over SSH too),
    and most terminals drop a sequence of several megabytes."""

    def action_copy_json(self) -> None:
        """Copy the metadata as JSON (the real value, not the cut lines on screen), formatted
        in a thread: a metadata of megabytes must not stall the app."""
        task = self.table.current
        if task is not None:
            self.run_worker(self._copy_json(task), group="copy-json", exclusive=True)

    async def _copy_json(self, task: Task) -> None:
        import asyncio

        try:
            text = await asyncio.to_thread(json.dumps, task.metadata, indent=2, ensure_ascii=False, default=str)
        except (RecursionError, ValueError) as error:
            toast(self, f"The metadata cannot be written as JSON ({type(error).__name__}).", severity="warning")
            return
        if len(text) > self.COPY_LIMIT:
            toast(self, f"The metadata JSON is {size_words(len(text))}: too large to copy through the terminal. "
                        "`lexi-tui tasks --json` prints it.", severity="warning", timeout=6)
            return
        self.app.copy_to_clipboard(text)
        toast(self, f"Copied the metadata JSON ({len(text):,} characters).", timeout=3)

    def action_chat(self) -> None:
        if self.refuse_unconfirmed():
            return
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
        if self.state.view != self.state.queue:
            self.action_view(self.state.queue)
        self.state.select_after_refresh = event.task_id
        if not self.state.refreshing:
            self.run_refresh()

    @on(ChatPanel.ActOnTask)
    def _act_from_chat(self, event: ChatPanel.ActOnTask) -> None:
        """A task card's Approve / Dismiss: the same way as the keys, on that task."""
        if self.refuse_unconfirmed():
            return
        if self.actions.read_only:
            self.actions.read_only_refusal()
            return
        task = self.state.queued(event.task_id)
        if task is None:
            self.notify("That task is not pending any more; refreshing.", severity="warning", markup=False)
            self.action_refresh()
            return
        self.table.select(task.id)
        if event.action == "approve":
            if self.capabilities.comments or self.capabilities.variables:
                self.forms.approve(task)
            else:
                self.actions.approve(task)
        else:
            self.actions.dismiss_with_dialog(task)
