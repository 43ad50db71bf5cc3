"""Approve and dismiss: confirmation, the undo window, sending, and what the outcome means.

Mixed into `MainScreen`. Every action goes through one path: held for the undo window
(journalled, see `lexi_tui.core.journal`), then sent in a worker, then written to the audit log.
A task has at most one action in flight, so a second key press sends nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.timer import Timer

from lexi_tui.api import errors
from lexi_tui.api.errors import LexiError, NotFoundError, RateLimitedError, TransportError, ValidationError
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.core.journal import HeldAction, HeldJournal, due_in
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog

if TYPE_CHECKING:
    from lexi_tui.core.bulk import BulkSummary
    from lexi_tui.ui.main.screen import MainScreen

ALREADY_HANDLED: tuple[type[LexiError], ...] = (ValidationError, NotFoundError, getattr(errors, "ConflictError", NotFoundError))
"""Errors that mean someone or something else already acted on the task."""


def summary(task: Task) -> str:
    return task.description or f"{task.type} {task.id}"


def _past(word: str) -> str:
    """`approve` → `approved`, `reject` → `rejected`, `dismiss` → `dismissed`."""
    return word + ("d" if word.endswith("e") else "ed")


def _progressive(word: str) -> str:
    """`approve` → `approving`, `reject` → `rejecting`."""
    return (word[:-1] if word.endswith("e") else word) + "ing"


class TriageActions:
    """The approve/dismiss half of the main screen."""

    journal: HeldJournal
    _hold_timers: dict[str, Timer]
    _advanced_to: dict[str, tuple[str, int]]
    """Task id -> (the task auto-advance moved the cursor to, the table's `user_moves` then):
    a failure moves the cursor back only if the user has not moved it since, so "press the
    key again" retries the task that failed and never hijacks a key meant for another."""
    last_reasons: dict[str, str | None]
    """Task id -> the reason of a dismissal that failed after its undo window: offered again."""

    def word_for(self: MainScreen, verb: str) -> str:
        """The verb as the user reads it: the provider's word for dismissing ("reject" for
        Chamelio). The audit log keeps the action's own value (`approve`/`dismiss`)."""
        return self.capabilities.dismiss_label.lower() if verb == "dismiss" else verb

    # -- entry points --------------------------------------------------------------------

    def action_approve(self: MainScreen) -> None:
        """With marks, approve every marked task (one confirmation); else the one under the cursor."""
        if self.table.marked:
            self._bulk("approve", None)
            return
        task = self.table.current
        if task is not None:
            self.approve(task)

    def action_dismiss_task(self: MainScreen) -> None:
        if self.table.marked:
            self._bulk_dismiss()
            return
        task = self.table.current
        if task is not None:
            self.dismiss_with_dialog(task)

    # -- bulk ----------------------------------------------------------------------------

    def _bulk_dismiss(self: MainScreen) -> None:
        """Choose one reason for all marked tasks, then confirm and run."""
        marked = self.table.marked_tasks()
        stand_in = Task.from_api({"id": "", "type": "bulk", "status": "pending", "description": f"{len(marked)} marked tasks"})

        async def choose(reason: str | None) -> None:
            return None  # Nothing is sent from the dialog: the bulk run sends.

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self._bulk("dismiss", reason)

        caps = self.capabilities
        self.app.push_screen(DismissDialog(stand_in, choose, reasons=caps.reasons, verb=caps.dismiss_label), chosen)

    def _bulk(self: MainScreen, action: str, reason: str | None) -> None:
        tasks = [task for task in self.table.marked_tasks() if task.id not in self.inflight]
        if not tasks:
            return
        label = "Approve" if action == "approve" else self.capabilities.dismiss_label
        for task in tasks:
            self.inflight[task.id] = action

        def finished(result: BulkSummary | None) -> None:
            for task in tasks:
                self.inflight.pop(task.id, None)
            if result is None:
                return
            failed = [task.id for task, _message in result.failed] + [task.id for task in result.not_sent]
            done = {task.id for task in result.succeeded} | {task.id for task in result.already_handled}
            queue = self.views[0]
            self._store(queue, [t for t in self.lists.get(queue, []) if t.id not in done])
            self.table.set_marks(failed)  # Failed ones stay marked: retrying is one key.
            if action == "approve" and self.capabilities.executing_view:
                self.executing.update({task.id: task for task in result.succeeded})
                self._ensure_following()
            self.refresh_bindings()

        profile = self.app.settings.profile  # type: ignore[attr-defined]
        from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog  # ~12 ms of imports, off the start path.

        self.app.push_screen(BulkDialog(tasks, action, reason=reason, label=label, profile=profile), finished)

    def approve(self: MainScreen, task: Task) -> None:
        """Approve `task`: confirm first for risky types, then hold or send."""
        if task.id in self.inflight:
            self.notify("An action for this task is already on its way.", timeout=2)
            return
        if task.status != TaskStatus.PENDING:
            self.notify(f"Only pending tasks can be approved; this one is {task.status}.", severity="warning")
            return
        if str(task.type) in self.confirm_types:
            body = Text.assemble(
                (f"{task.type}", "bold"),
                f": {summary(task)}\n\nThis contacts real people and cannot be undone. Approve it?",
            )

            def answered(yes: bool | None) -> None:
                if yes:
                    self._start(task, "approve", None)

            self.app.push_screen(ConfirmDialog("Approve this task?", body, yes_label="Approve"), answered)
            return
        self._start(task, "approve", None)

    def dismiss_with_dialog(self: MainScreen, task: Task) -> None:
        if task.id in self.inflight:
            self.notify("An action for this task is already on its way.", timeout=2)
            return

        async def send(reason: str | None) -> None:
            if self.undo_window > 0:
                self._start(task, "dismiss", reason)  # Held: nothing can fail yet.
            else:
                await self._send_dismiss(task, reason, raise_errors=True)

        caps = self.capabilities
        dialog = DismissDialog(task, send, reasons=caps.reasons, verb=caps.dismiss_label)
        self.app.push_screen(dialog)
        previous = self.last_reasons.get(task.id)
        if previous:
            dialog.prefill(previous)

    # -- holding and undo ----------------------------------------------------------------

    def _start(self: MainScreen, task: Task, verb: str, reason: str | None) -> None:
        if task.id in self.inflight:
            return
        self.inflight[task.id] = verb
        self._advance_from(task)
        if self.undo_window <= 0:
            self._send(task, verb, reason)
            return
        action = HeldAction(task.id, str(task.type), task.description, verb, reason, due_in(self.undo_window))
        self.journal.hold(action)
        self._show_held()
        self._hold_timers[action.action_id] = self.set_timer(self.undo_window, lambda: self._release(action.action_id))
        label = _progressive(self.word_for(verb))
        self.table.mark_busy(task.id, f"{label} in {self.undo_window:g}s")
        if self._quiet_otherwise(task):
            self.notify(
                Text(f"{summary(task)}").plain,
                title=f"{label.title()} in {self.undo_window:g} s. Press u to undo",
                timeout=self.undo_window,
                markup=False,
            )
        self.refresh_bindings()

    def _quiet_otherwise(self: MainScreen, task: Task) -> bool:
        """Nothing but `task` is held or in flight. In a burst of key presses the rows and the
        status bar's "N to send" already say what is happening; a toast per key would pile up
        (hundreds while clearing a queue, each one re-laid out: the longest stalls measured)."""
        return all(task_id == task.id for task_id in self.inflight) and all(
            action.task_id == task.id for action in self.journal.actions
        )

    def action_undo(self: MainScreen) -> None:
        """Take back the most recent held action; the task is selected again."""
        actions = self.journal.actions
        if not actions:
            self.notify("Nothing to undo: actions are sent once their undo window closes.", timeout=3)
            return
        action = self.journal.release(actions[-1].action_id)
        if action is None:
            return
        timer = self._hold_timers.pop(action.action_id, None)
        if timer is not None:
            timer.stop()
        self.inflight.pop(action.task_id, None)
        self._advanced_to.pop(action.task_id, None)
        self.table.mark_busy(action.task_id, None)
        self.table.select(action.task_id)
        self._show_held()
        self.notify(Text(action.description).plain, title=f"Undone: not {_past(self.word_for(action.verb))}", timeout=3, markup=False)
        self.refresh_bindings()

    def _release(self: MainScreen, action_id: str) -> None:
        """The undo window closed: send the action (unless it was undone)."""
        self._hold_timers.pop(action_id, None)
        action = self.journal.release(action_id)
        self._show_held()
        if action is None:
            return
        task = self.table.get(action.task_id) or next(
            (t for t in self.lists.get(self.views[0], []) if t.id == action.task_id), None
        )
        if task is None:
            self.inflight.pop(action.task_id, None)
            return
        self._send(task, action.verb, action.reason)

    def release_all(self: MainScreen) -> None:
        """Send every held action now (quitting with "send now")."""
        for action in self.journal.actions:
            timer = self._hold_timers.pop(action.action_id, None)
            if timer is not None:
                timer.stop()
            self._release(action.action_id)

    def drop_all(self: MainScreen) -> list[HeldAction]:
        """Forget every held action (quitting with "drop"): none of them is sent."""
        dropped = self.journal.actions
        for action in dropped:
            timer = self._hold_timers.pop(action.action_id, None)
            if timer is not None:
                timer.stop()
            self.inflight.pop(action.task_id, None)
        self.journal.clear()
        self._show_held()
        return dropped

    def _show_held(self: MainScreen) -> None:
        from lexi_tui.ui.widgets.status_bar import StatusBar

        self.query_one(StatusBar).held = len(self.journal.actions)

    async def wait_for_actions(self: MainScreen, timeout: float = 10.0) -> None:
        """Wait until nothing is in flight (used before quitting after "send now")."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.inflight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)

    def _advance_from(self: MainScreen, task: Task) -> None:
        """Auto-advance: the cursor moves on to the next task with nothing in flight."""
        if self.table.current is not None and self.table.current.id == task.id:
            following = self.table.next_index_after(task.id, skip=set(self.inflight))
            if following is not None:
                self.table.move_to(following)
                landed = self.table.current
                if landed is not None:
                    self._advanced_to[task.id] = (landed.id, self.table.user_moves)

    def _return_to(self: MainScreen, task: Task) -> bool:
        """Put the cursor back on a task whose action failed, unless the user has moved on
        since auto-advance (then moving it would hijack their next key). True if it is there."""
        advanced = self._advanced_to.pop(task.id, None)
        current = self.table.current
        if current is not None and current.id == task.id:
            return True
        if advanced is not None and current is not None and advanced == (current.id, self.table.user_moves):
            return self.table.select(task.id)
        return False

    # -- sending -----------------------------------------------------------------------

    def _send(self: MainScreen, task: Task, verb: str, reason: str | None) -> None:
        if verb == "approve":
            self._approve_worker(task)
        else:
            self._dismiss_worker(task, reason)

    @work(group="actions")
    async def _approve_worker(self: MainScreen, task: Task) -> None:
        provider = self.app.provider  # type: ignore[attr-defined]
        self.table.mark_busy(task.id, "approving…")
        try:
            await provider.approve(task.id)
        except LexiError as error:
            await self._action_failed(task, "approve", None, error)
        else:
            self._action_succeeded(task, "approve", None)
            if self.capabilities.executing_view:
                self.executing[task.id] = task
            if self._quiet_otherwise(task):
                self.notify(Text(summary(task)).plain, title="Approved: executing now", timeout=4, markup=False)
            self._ensure_following()
        finally:
            self.inflight.pop(task.id, None)
            self.refresh_bindings()

    @work(group="actions")
    async def _dismiss_worker(self: MainScreen, task: Task, reason: str | None) -> None:
        await self._send_dismiss(task, reason, raise_errors=False)

    async def _send_dismiss(self: MainScreen, task: Task, reason: str | None, *, raise_errors: bool) -> None:
        """Send a dismissal. With `raise_errors` (no undo window: the dialog is still open)
        a retryable failure propagates so the dialog shows it and keeps the text."""
        provider = self.app.provider  # type: ignore[attr-defined]
        self.inflight[task.id] = "dismiss"
        self.table.mark_busy(task.id, f"{_progressive(self.word_for('dismiss'))}…")
        try:
            await provider.dismiss(task.id, reason)
        except ALREADY_HANDLED as error:
            await self._action_failed(task, "dismiss", reason, error)
        except LexiError as error:
            if raise_errors and isinstance(error, TransportError) and error.sent and await self._applied_anyway(task):
                self._dismissed(task, reason, note="The connection dropped, but the server shows it was applied. ")
                return
            if raise_errors:
                self.table.mark_busy(task.id, None)
                self._record(task, "dismiss", reason, "failed", error)
                self.app.handle_api_error(error)  # type: ignore[attr-defined]
                raise
            await self._action_failed(task, "dismiss", reason, error)
        else:
            self._dismissed(task, reason)
        finally:
            self.inflight.pop(task.id, None)
            self.refresh_bindings()

    def _dismissed(self: MainScreen, task: Task, reason: str | None, note: str = "") -> None:
        self.last_reasons.pop(task.id, None)
        self._action_succeeded(task, "dismiss", reason)
        if note or self._quiet_otherwise(task):
            title = f"{_past(self.word_for('dismiss')).title()} ({reason or 'no reason'})"
            self.notify(note + summary(task), title=title, timeout=4, markup=False)

    def _ensure_following(self: MainScreen) -> None:
        """Make sure a refresh comes soon enough to see an executing task finish."""
        if not self.refreshing and self.budget.enabled:
            provider = self.app.provider  # type: ignore[attr-defined]
            self._schedule(self.budget.delay(provider.rate_limit, calls=2))

    # -- outcomes ------------------------------------------------------------------------

    def _record(self: MainScreen, task: Task, verb: str, reason: str | None, outcome: str, error: LexiError | None = None, source: str = "manual") -> None:
        """Append the action to the audit log; a full disk must not stop triage."""
        from lexi_tui.core.history import HistoryEntry, append, now_iso

        entry = HistoryEntry(
            time=now_iso(),
            profile=self.app.settings.profile,  # type: ignore[attr-defined]
            task_id=task.id,
            task_type=str(task.type),
            description=task.description,
            action=verb,
            reason=reason,
            comment=None,
            outcome=outcome,
            detail=error.message if error else None,
            request_id=error.request_id if error else self.app.last_request_id,  # type: ignore[attr-defined]
            source=source,
        )
        try:
            append(entry)
        except OSError as problem:
            self.notify(f"Could not write the audit log: {problem}", severity="warning", markup=False)

    def _action_succeeded(self: MainScreen, task: Task, verb: str, reason: str | None) -> None:
        self._advanced_to.pop(task.id, None)
        self.table.mark_busy(task.id, None)
        self.table.mark_error(task.id, None)
        self._record(task, verb, reason, "ok")
        queue = self.views[0]
        self._store(queue, [t for t in self.lists.get(queue, []) if t.id != task.id])
        card = self.chat.card_for(task.id)
        if card is not None:
            card.set_state(f"{verb}d" if verb == "approve" else f"{self.capabilities.dismiss_label.lower()}ed")

    async def _action_failed(self: MainScreen, task: Task, verb: str, reason: str | None, error: LexiError) -> None:
        self.table.mark_busy(task.id, None)
        word = self.word_for(verb)  # What the user reads; `verb` is what the audit log records.
        if isinstance(error, ALREADY_HANDLED):
            # Handled elsewhere (another client, a teammate, a rule): explain and refresh.
            why = "no longer exists" if isinstance(error, NotFoundError) else error.message
            self._advanced_to.pop(task.id, None)
            self._record(task, verb, reason, "already_handled", error)
            self.notify(
                Text(f"{summary(task)}: {why}. The list was refreshed.").plain,
                title=f"Could not {word}: already handled",
                severity="warning",
                markup=False,
            )
            card = self.chat.card_for(task.id)
            if card is not None:
                card.set_state(why)
            if not self.refreshing:
                self.run_refresh()
            return
        if isinstance(error, TransportError) and error.sent and await self._applied_anyway(task):
            self._action_succeeded(task, verb, reason)
            self.notify("The connection dropped, but the server shows the task was applied.", title=_past(word).title())
            return
        self._record(task, verb, reason, "failed", error)
        if verb == "dismiss":
            self.last_reasons[task.id] = reason  # Offered again by the next `d` on this task.
        short = "rate limited" if isinstance(error, RateLimitedError) else "failed"
        self.table.mark_error(task.id, f"{word} {short}")
        retry = "press the key again to retry" if self._return_to(task) else "select it and press the key again to retry"
        self.app.handle_api_error(error, title=f"Could not {word}; {retry}")  # type: ignore[attr-defined]

    async def _applied_anyway(self: MainScreen, task: Task) -> bool:
        """After an ambiguous failure, re-read before deciding: never send twice."""
        provider = self.app.provider  # type: ignore[attr-defined]
        try:
            pending = await provider.list_tasks(self.views[0])
        except LexiError:
            return False
        self._store(self.views[0], pending)
        return all(t.id != task.id for t in pending)
