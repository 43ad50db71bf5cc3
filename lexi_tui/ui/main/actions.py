"""Approve and dismiss from the keyboard: confirmation, the undo window, sending, outcomes.

Every single action goes one way: held for the undo window (journalled, see
`lexi_tui.core.journal`), then sent in a worker, then its answer is read with the one outcome
policy (`lexi_tui.core.outcomes.classify`) and written to the audit log. A task has at most
one action in flight, so a second key press sends nothing. Marked tasks go to a bulk run.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text

from lexi_tui.api.errors import LexiError, RateLimitedError
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.core.journal import HeldAction, due_in
from lexi_tui.core.outcomes import Outcome, classify, settle
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import DismissDialog, MaybeApplied

if TYPE_CHECKING:
    from lexi_tui.core.bulk import BulkSummary
    from lexi_tui.ui.main.screen import MainScreen


def summary(task: Task) -> str:
    """A task in one line: its description, or its type and id."""
    return task.description or f"{task.type} {task.id}"


def past(word: str) -> str:
    """`approve` → `approved`, `reject` → `rejected`, `dismiss` → `dismissed`."""
    return word + ("d" if word.endswith("e") else "ed")


def progressive(word: str) -> str:
    """`approve` → `approving`, `reject` → `rejecting`."""
    return (word[:-1] if word.endswith("e") else word) + "ing"


NOT_FOUND_WORDS = "not found: it no longer exists, or this key cannot see it"


class TriageActions:
    """The approve/dismiss part of the triage screen."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.state = screen.state

    def word_for(self, verb: str) -> str:
        """The verb as the person reads it: the provider's word for dismissing ("reject" for
        Chamelio). The audit log keeps the action's own value (`approve`/`dismiss`)."""
        return self.screen.capabilities.dismiss_label.lower() if verb == "dismiss" else verb

    def report_leftovers(self) -> None:
        """Actions held when the last session stopped (crash, kill) were never sent: say so, once."""
        journal = self.screen.journal
        leftovers = journal.leftovers()
        if not leftovers:
            return
        journal.clear()
        lines = "\n".join(f"{a.verb} {a.description[:60]}" for a in leftovers[:5])
        self.screen.notify(
            f"{len(leftovers)} action(s) held when lexi-tui last stopped were NOT sent:\n{lines}\n"
            "Act again if you still want them.",
            title="Not sent", severity="warning", timeout=20, markup=False,
        )

    # -- bulk ----------------------------------------------------------------------------

    def bulk_dismiss(self) -> None:
        """Choose one reason for all marked tasks, then confirm and run."""
        screen = self.screen
        marked = screen.table.marked_tasks()
        stand_in = Task.from_api({"id": "", "type": "bulk", "status": "pending", "description": f"{len(marked)} marked tasks"})

        async def choose(reason: str | None) -> None:
            return None  # Nothing is sent from the dialog: the bulk run sends.

        def chosen(reason: str | None) -> None:
            if reason is not None:
                self.bulk("dismiss", reason)

        caps = screen.capabilities
        screen.app.push_screen(DismissDialog(stand_in, choose, reasons=caps.reasons, verb=caps.dismiss_label), chosen)

    def bulk(self, action: str, reason: str | None) -> None:
        """Confirm, then send `action` for every marked task not already in flight."""
        screen, state = self.screen, self.state
        tasks = [task for task in screen.table.marked_tasks() if task.id not in state.inflight]
        if not tasks:
            return
        label = "Approve" if action == "approve" else screen.capabilities.dismiss_label
        for task in tasks:
            state.inflight[task.id] = action

        def finished(result: BulkSummary | None) -> None:
            for task in tasks:
                state.inflight.pop(task.id, None)
            if result is None:
                return
            failed = [task.id for task, _message in result.failed] + [task.id for task in result.not_sent]
            done = {task.id for task in result.succeeded} | {task.id for task in result.already_handled}
            screen.store(state.queue, [t for t in state.pending() if t.id not in done])
            screen.table.set_marks(failed)  # Failed ones stay marked: retrying is one key.
            if action == "approve" and screen.capabilities.executing_view:
                state.executing.update({task.id: task for task in result.succeeded})
                screen.refresher.ensure_following()
            screen.refresh_bindings()

        from lexi_tui.ui.dialogs.bulk_dialog import BulkDialog  # ~12 ms of imports, off the start path.

        dialog = BulkDialog(tasks, action, reason=reason, label=label, profile=screen.lexi.settings.profile,
                            provider=screen.provider)
        screen.app.push_screen(dialog, finished)

    # -- one task --------------------------------------------------------------------------

    def approve(self, task: Task) -> None:
        """Approve `task`: confirm first for risky types, then hold or send."""
        screen = self.screen
        if task.id in self.state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2)
            return
        if task.status != TaskStatus.PENDING:
            screen.notify(f"Only pending tasks can be approved; this one is {task.status}.", severity="warning",
                          markup=False)
            return
        if str(task.type) in screen.confirm_types:
            body = Text.assemble(
                (f"{task.type}", "bold"),
                f": {summary(task)}\n\nThis contacts real people and cannot be undone. Approve it?",
            )

            def answered(yes: bool | None) -> None:
                if yes:
                    self.start(task, "approve", None)

            screen.app.push_screen(ConfirmDialog("Approve this task?", body, yes_label="Approve"), answered)
            return
        self.start(task, "approve", None)

    def dismiss_with_dialog(self, task: Task) -> None:
        """Ask for a reason; with an undo window the dismissal is held, else sent from the dialog."""
        screen = self.screen
        if task.id in self.state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2)
            return

        async def send(reason: str | None) -> None:
            if screen.undo_window > 0:
                self.start(task, "dismiss", reason)  # Held: nothing can fail yet.
            else:
                await self.send_dismiss(task, reason, raise_errors=True)

        caps = screen.capabilities
        dialog = DismissDialog(task, send, reasons=caps.reasons, verb=caps.dismiss_label)
        screen.app.push_screen(dialog)
        previous = self.state.last_reasons.get(task.id)
        if previous:
            dialog.prefill(previous)

    # -- holding and undo ----------------------------------------------------------------

    def start(self, task: Task, verb: str, reason: str | None) -> None:
        """Hold the action for the undo window (or send it at once without one)."""
        screen, state = self.screen, self.state
        if task.id in state.inflight:
            return
        state.inflight[task.id] = verb
        self._advance_from(task)
        if screen.undo_window <= 0:
            self._send(task, verb, reason)
            return
        action = HeldAction(task.id, str(task.type), task.description, verb, reason, due_in(screen.undo_window))
        screen.journal.hold(action)
        self.show_held()
        state.hold_timers[action.action_id] = screen.set_timer(
            screen.undo_window, lambda: self.release(action.action_id)
        )
        label = progressive(self.word_for(verb))
        screen.table.mark_busy(task.id, f"{label} in {screen.undo_window:g}s")
        if self._quiet_otherwise(task):
            screen.notify(
                summary(task),
                title=f"{label.title()} in {screen.undo_window:g} s. Press u to undo",
                timeout=screen.undo_window,
                markup=False,
            )
        screen.refresh_bindings()

    def _quiet_otherwise(self, task: Task) -> bool:
        """Nothing but `task` is held or in flight. In a burst of key presses the rows and the
        status bar's "N to send" already say what is happening; a toast per key would pile up
        (hundreds while clearing a queue, each one re-laid out: the longest stalls measured)."""
        return all(task_id == task.id for task_id in self.state.inflight) and all(
            action.task_id == task.id for action in self.screen.journal.actions
        )

    def undo(self) -> None:
        """Take back the most recent held action; the task is selected again."""
        screen, state = self.screen, self.state
        actions = screen.journal.actions
        if not actions:
            screen.notify("Nothing to undo: actions are sent once their undo window closes.", timeout=3)
            return
        action = screen.journal.release(actions[-1].action_id)
        if action is None:
            return
        timer = state.hold_timers.pop(action.action_id, None)
        if timer is not None:
            timer.stop()
        state.inflight.pop(action.task_id, None)
        state.advanced_to.pop(action.task_id, None)
        screen.table.mark_busy(action.task_id, None)
        screen.table.select(action.task_id)
        self.show_held()
        screen.notify(action.description, title=f"Undone: not {past(self.word_for(action.verb))}", timeout=3,
                      markup=False)
        screen.refresh_bindings()

    def release(self, action_id: str) -> None:
        """The undo window closed: send the action (unless it was undone)."""
        screen, state = self.screen, self.state
        state.hold_timers.pop(action_id, None)
        action = screen.journal.release(action_id)
        self.show_held()
        if action is None:
            return
        task = screen.table.get(action.task_id) or state.queued(action.task_id)
        if task is None:
            state.inflight.pop(action.task_id, None)
            return
        self._send(task, action.verb, action.reason)

    def release_all(self) -> None:
        """Send every held action now (quitting with "send now")."""
        for action in self.screen.journal.actions:
            timer = self.state.hold_timers.pop(action.action_id, None)
            if timer is not None:
                timer.stop()
            self.release(action.action_id)

    def drop_all(self) -> list[HeldAction]:
        """Forget every held action (quitting with "drop"): none of them is sent."""
        journal = self.screen.journal
        dropped = journal.actions
        for action in dropped:
            timer = self.state.hold_timers.pop(action.action_id, None)
            if timer is not None:
                timer.stop()
            self.state.inflight.pop(action.task_id, None)
        journal.clear()
        self.show_held()
        return dropped

    def show_held(self) -> None:
        self.screen.status_bar.held = len(self.screen.journal.actions)

    async def wait_for_actions(self, timeout: float = 10.0) -> None:
        """Wait until nothing is in flight (used before quitting after "send now")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.state.inflight and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def _advance_from(self, task: Task) -> None:
        """Auto-advance: the cursor moves on to the next task with nothing in flight."""
        table = self.screen.table
        if table.current is not None and table.current.id == task.id:
            following = table.next_index_after(task.id, skip=set(self.state.inflight))
            if following is not None:
                table.move_to(following)
                landed = table.current
                if landed is not None:
                    self.state.advanced_to[task.id] = (landed.id, table.user_moves)

    def _return_to(self, task: Task) -> bool:
        """Put the cursor back on a task whose action failed, unless the person has moved on
        since auto-advance (then moving it would hijack their next key). True if it is there."""
        table = self.screen.table
        advanced = self.state.advanced_to.pop(task.id, None)
        current = table.current
        if current is not None and current.id == task.id:
            return True
        if advanced is not None and current is not None and advanced == (current.id, table.user_moves):
            return table.select(task.id)
        return False

    # -- sending -----------------------------------------------------------------------

    def _send(self, task: Task, verb: str, reason: str | None) -> None:
        if verb == "approve":
            self.screen.run_worker(self._approve(task), group="actions")
        else:
            self.screen.run_worker(self.send_dismiss(task, reason, raise_errors=False), group="actions")

    async def _approve(self, task: Task) -> None:
        screen, state = self.screen, self.state
        screen.table.mark_busy(task.id, "approving…")
        try:
            await screen.provider.approve(task.id)
        except LexiError as error:
            await self._answered(task, "approve", None, error)
        else:
            self._succeeded(task, "approve", None)
            if self._quiet_otherwise(task):
                screen.notify(summary(task), title="Approved: executing now", timeout=4, markup=False)
        finally:
            state.inflight.pop(task.id, None)
            screen.refresh_bindings()

    async def send_dismiss(self, task: Task, reason: str | None, *, raise_errors: bool) -> None:
        """Send a dismissal. With `raise_errors` (no undo window: the dialog is still open)
        a failure that may be retried propagates, so the dialog shows it and keeps the text."""
        screen, state = self.screen, self.state
        state.inflight[task.id] = "dismiss"
        screen.table.mark_busy(task.id, f"{progressive(self.word_for('dismiss'))}…")
        try:
            await screen.provider.dismiss(task.id, reason)
        except LexiError as error:
            outcome = await self._outcome_of(task, "dismiss", error)
            if raise_errors and outcome in (Outcome.FAILED, Outcome.UNKNOWN):
                screen.table.mark_busy(task.id, None)
                self.record(task, "dismiss", reason, outcome, error)
                if outcome is Outcome.UNKNOWN:  # The dialog stays open with the text, and says so.
                    raise MaybeApplied(f"The answer was lost ({error.message}) and the task could not be "
                                       f"read again: it may have been {past(self.word_for('dismiss'))}.") from error
                screen.lexi.handle_api_error(error)
                raise
            await self._answered(task, "dismiss", reason, error, outcome=outcome)
        else:
            self._succeeded(task, "dismiss", reason)
        finally:
            state.inflight.pop(task.id, None)
            screen.refresh_bindings()

    # -- what the answer means -------------------------------------------------------------

    async def _outcome_of(self, task: Task, verb: str, error: LexiError | None) -> Outcome:
        """`classify`, with a lost answer settled by reading the queue again (never resent)."""
        outcome = classify(error)
        if outcome is Outcome.UNKNOWN:
            try:
                pending = await self.screen.provider.list_tasks(self.state.queue)
            except LexiError:
                return Outcome.UNKNOWN
            self.screen.store(self.state.queue, pending)
            still = any(t.id == task.id for t in pending)
            # Gone from the queue: applied, by this request or by someone else at the same time.
            outcome = settle(verb, "pending" if still else "dismissed" if verb == "dismiss" else "approved")
        return outcome

    async def _answered(self, task: Task, verb: str, reason: str | None, error: LexiError,
                        *, outcome: Outcome | None = None) -> None:
        """Say what an error answer means for `task`, and record it."""
        screen, state = self.screen, self.state
        if outcome is None:
            outcome = await self._outcome_of(task, verb, error)
        screen.table.mark_busy(task.id, None)
        word = self.word_for(verb)  # What the person reads; `verb` is what the audit log records.
        if outcome is Outcome.APPLIED:
            self._succeeded(task, verb, reason)
            screen.notify("The answer was lost, but the server shows the task was applied.",
                          title=past(word).title(), markup=False)
            return
        if outcome in (Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
            # Handled elsewhere (another client, a teammate, a rule), or gone: explain and refresh.
            why = NOT_FOUND_WORDS if outcome is Outcome.NOT_FOUND else error.message
            state.advanced_to.pop(task.id, None)
            self.record(task, verb, reason, outcome, error)
            title = f"Could not {word}: " + ("not found" if outcome is Outcome.NOT_FOUND else "already handled")
            screen.notify(f"{summary(task)}: {why}. The list was refreshed.", title=title, severity="warning",
                          markup=False)
            card = screen.chat.card_for(task.id)
            if card is not None:
                card.set_state(why)
            if not state.refreshing:
                screen.refresher.run()
            return
        self.record(task, verb, reason, outcome, error)
        if verb == "dismiss":
            state.last_reasons[task.id] = reason  # Offered again by the next `d` on this task.
        if outcome is Outcome.UNKNOWN:
            screen.table.mark_error(task.id, f"{word}: unknown")
            here = "press the key again" if self._return_to(task) else "select it and press the key again"
            screen.notify(f"{summary(task)}: the answer was lost ({error.message}) and the task could not be read "
                          f"again, so it may have been {past(word)}. To be sure, {here}: the server refuses a "
                          "second one.", title=f"Could not {word}: the outcome is unknown", severity="warning",
                          timeout=10, markup=False)
            return
        short = "rate limited" if isinstance(error, RateLimitedError) else "failed"
        screen.table.mark_error(task.id, f"{word} {short}")
        retry = "press the key again to retry" if self._return_to(task) else "select it and press the key again to retry"
        screen.lexi.handle_api_error(error, title=f"Could not {word}; {retry}")

    def _succeeded(self, task: Task, verb: str, reason: str | None) -> None:
        screen, state = self.screen, self.state
        state.advanced_to.pop(task.id, None)
        screen.table.mark_busy(task.id, None)
        screen.table.mark_error(task.id, None)
        self.record(task, verb, reason, Outcome.APPLIED)
        screen.store(state.queue, [t for t in state.pending() if t.id != task.id])
        card = screen.chat.card_for(task.id)
        if card is not None:
            card.set_state(f"{verb}d" if verb == "approve" else past(self.word_for(verb)))
        if verb == "approve":
            if screen.capabilities.executing_view:
                state.executing[task.id] = task
            screen.refresher.ensure_following()
        else:
            state.last_reasons.pop(task.id, None)
            if self._quiet_otherwise(task):
                title = f"{past(self.word_for('dismiss')).title()} ({reason or 'no reason'})"
                screen.notify(summary(task), title=title, timeout=4, markup=False)

    def record(self, task: Task, verb: str, reason: str | None, outcome: Outcome,
               error: LexiError | None = None, source: str = "manual") -> None:
        """Append the action to the audit log, off the event loop; a full disk must not stop triage."""
        from lexi_tui.core.history import HistoryEntry, append, now_iso

        screen = self.screen
        entry = HistoryEntry(
            time=now_iso(),
            profile=screen.lexi.settings.profile,
            task_id=task.id,
            task_type=str(task.type),
            description=task.description,
            action=verb,
            reason=reason,
            comment=None,
            outcome=str(outcome),
            detail=error.message if error else None,
            request_id=error.request_id if error else screen.lexi.last_request_id,
            source=source,
        )
        screen.lexi.write_in_background(append, entry, what="the audit log")
