"""Approving through a form, cancelling, and the watch list: providers with more than a/d.

Everything here is gated on the provider's capabilities (comments, variables, cancel,
add_by_reference), never on its name; a provider without them (Lexi) never reaches it.

An approval with a form is sent from its dialog, which is its confirmation: there is no
undo window (the dialog shows every value before it goes, and stays open with everything
typed when the request fails). A 409 (the task moved on: someone else decided, or the
workflow changed) reads the task again and says where it is now.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text

from lexi_tui.api.errors import LexiError
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.core.outcomes import Outcome, classify
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.main.actions import NOT_FOUND_WORDS, summary

if TYPE_CHECKING:
    from lexi_tui.ui.main.screen import MainScreen

OPEN_STATUSES = (TaskStatus.PENDING, "in_progress")
EXTRAS_DELAY = 0.3
"""Seconds the cursor must rest on a task before its files are read (scrolling sends nothing)."""


class FormApprovals:
    """The comment/variables/cancel/watch-list part of the triage screen."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.state = screen.state

    def check(self, action: str) -> bool | None:
        """Footer state of this part's keys: hidden without the capability, greyed without a task."""
        caps = self.screen.capabilities
        task = self.screen.table.current
        if action == "add_task":
            return True if caps.add_by_reference else False
        if action == "forget_task":
            if not caps.add_by_reference:
                return False
            return True if task is not None and task.id not in self.state.inflight else None
        if action == "cancel_task":
            if not caps.cancel:
                return False
            return True if task is not None and task.status in OPEN_STATUSES and task.id not in self.state.inflight else None
        return True

    # -- approve with a form ---------------------------------------------------------------

    def approve(self, task: Task) -> None:
        """Open the approval form (an optional comment, the step's variables)."""
        screen = self.screen
        if task.id in self.state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2)
            return
        if task.status != TaskStatus.PENDING:
            screen.notify(f"Only tasks awaiting approval can be approved; this one is {task.status}.",
                          severity="warning", markup=False)
            return
        provider = screen.provider

        async def send(comment: str | None, variables: list[dict[str, str]]) -> None:
            await self._send_approval(task, comment, variables)

        load = (lambda: provider.approval_details(task.id)) if screen.capabilities.variables else None  # type: ignore[attr-defined]
        from lexi_tui.ui.dialogs.approve_dialog import ApproveDialog  # Chamelio only: off the start path.

        screen.app.push_screen(ApproveDialog(task, send, load))

    async def _send_approval(self, task: Task, comment: str | None, variables: list[dict[str, str]]) -> None:
        """Send from the dialog; a failure that may be retried propagates so the dialog keeps the text."""
        screen, state = self.screen, self.state
        if task.id in state.inflight:
            return
        state.inflight[task.id] = "approve"
        screen.table.mark_busy(task.id, "approving…")
        note = comment or ""
        if variables:
            from lexi_tui.ui.dialogs.approve_dialog import describe_payload

            note = (note + " | " if note else "") + describe_payload(variables)
        try:
            await screen.provider.approve(task.id, comment=comment, variables=variables)
        except LexiError as error:
            screen.table.mark_busy(task.id, None)
            outcome = classify(error)
            if outcome in (Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
                screen.actions.record(task, "approve", note or None, outcome, error)
                await self._explain_moved_on(task, "approve", error, outcome)
                return
            screen.table.mark_error(task.id, "approve failed")
            screen.actions.record(task, "approve", note or None, outcome, error)
            screen.lexi.handle_api_error(error, title="Could not approve; your input is kept")
            raise
        finally:
            state.inflight.pop(task.id, None)
            screen.refresh_bindings()
        self._decided(task, "approve", note or None)
        if screen.capabilities.executing_view:
            state.executing[task.id] = task
            screen.refresher.ensure_following()
        screen.notify(summary(task), title="Approved" + (" with comment" if comment else ""), timeout=4, markup=False)

    def _decided(self, task: Task, verb: str, note: str | None) -> None:
        """The server accepted the decision: the task leaves the queue."""
        screen = self.screen
        screen.table.mark_busy(task.id, None)
        screen.table.mark_error(task.id, None)
        screen.actions.record(task, verb, note, Outcome.APPLIED)
        screen.drop_task(task.id)

    async def _explain_moved_on(self, task: Task, verb: str, error: LexiError, outcome: Outcome) -> None:
        """After a 409/404: read the task again and say where it is now, then refresh."""
        screen = self.screen
        provider = screen.provider
        where = ""
        reread = getattr(provider, "get", None)  # Providers that read one task (WatchingProvider).
        if outcome is Outcome.ALREADY_HANDLED and reread is not None:
            try:
                now = await reread(task.id)
            except LexiError:
                now = None
            if now is not None:
                step = now.metadata.get("step", {}) if isinstance(now.metadata, dict) else {}
                name = step.get("name") if isinstance(step, dict) else None
                where = f" It is now {str(now.status).replace('_', ' ')}" + (f" at {name!r}" if name else "") + "."
        elif outcome is Outcome.NOT_FOUND:
            where = f" {NOT_FOUND_WORDS[0].upper()}{NOT_FOUND_WORDS[1:]}."
        screen.notify(
            f"{summary(task)}: {error.message}.{where} Someone else may have acted on it; the list was refreshed.",
            title=f"Could not {verb}: no longer awaiting approval" if verb != "cancel" else "Could not cancel",
            severity="warning", timeout=10, markup=False,
        )
        if not self.state.refreshing:
            screen.refresher.run()

    # -- cancel ----------------------------------------------------------------------------

    def cancel_current(self) -> None:
        """Cancel the task under the cursor's workflow, after a confirmation."""
        screen, state = self.screen, self.state
        task = screen.table.current
        if task is None or not screen.capabilities.cancel:
            return
        if task.id in state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2)
            return
        body = Text.assemble((task.description or task.id, "bold"),
                             "\n\nCancelling stops the whole workflow; it cannot be restarted from here. Cancel it?")

        def answered(yes: bool | None) -> None:
            if yes and task.id not in state.inflight:
                state.inflight[task.id] = "cancel"
                screen.run_worker(self._cancel(task), group="actions")

        screen.app.push_screen(ConfirmDialog("Cancel this task?", body, yes_label="Cancel task"), answered)

    async def _cancel(self, task: Task) -> None:
        screen, state = self.screen, self.state
        screen.table.mark_busy(task.id, "cancelling…")
        try:
            await screen.provider.cancel(task.id)
        except LexiError as error:
            screen.table.mark_busy(task.id, None)
            outcome = classify(error)
            screen.actions.record(task, "cancel", None, outcome, error)
            if outcome in (Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
                await self._explain_moved_on(task, "cancel", error, outcome)
            else:
                screen.table.mark_error(task.id, "cancel failed")
                screen.lexi.handle_api_error(error, title="Could not cancel; press x again to retry")
        else:
            self._decided(task, "cancel", None)
            screen.notify(summary(task), title="Cancelled", timeout=4, markup=False)
            if not state.refreshing:
                screen.refresher.run()
        finally:
            state.inflight.pop(task.id, None)
            screen.refresh_bindings()

    # -- the watch list ----------------------------------------------------------------------

    def add_task(self) -> None:
        """Watch a task given by id or URL (read first: a typo is refused in the dialog)."""
        screen = self.screen
        if not screen.capabilities.add_by_reference:
            return

        def added(task: Task | None) -> None:
            if task is None:
                return
            view = str(task.status)
            current = [t for t in self.state.lists.get(view, []) if t.id != task.id]
            screen.store(view, [*current, task])
            if view in self.state.views:
                screen.action_view(view)
                screen.table.select(task.id)
                screen.detail.show(screen.table.current)
                self.load_extras(screen.table.current)
            screen.notify(summary(task), title=f"Watching task {task.id} ({view.replace('_', ' ')})",
                          timeout=4, markup=False)

        from lexi_tui.ui.dialogs.add_task_dialog import AddTaskDialog  # Imports the Chamelio models.

        screen.app.push_screen(AddTaskDialog(screen.provider.add_task), added)  # type: ignore[attr-defined]

    def forget_current(self) -> None:
        """Stop watching the task under the cursor (local only: nothing is sent)."""
        screen = self.screen
        task = screen.table.current
        if task is None or not screen.capabilities.add_by_reference or task.id in self.state.inflight:
            return
        screen.run_worker(self._forget(task), group="watch")

    async def _forget(self, task: Task) -> None:
        from lexi_tui.core.watchlist import WatchListError

        screen = self.screen
        try:
            await screen.provider.forget(task.id)  # type: ignore[attr-defined]
        except (WatchListError, OSError, ValueError) as error:
            screen.notify(f"Could not change the watch list: {error}", severity="error", markup=False)
            return
        screen.drop_task(task.id)
        screen.notify(summary(task), title=f"No longer watching task {task.id} (+ adds it again)",
                      timeout=4, markup=False)

    # -- files of the task under the cursor -----------------------------------------------------

    def load_extras(self, task: Task | None) -> None:
        """Read the files of a task awaiting approval (once the cursor rests on it)."""
        screen = self.screen
        if task is None or not screen.capabilities.variables or task.status != TaskStatus.PENDING:
            return
        if screen.detail.has_files(task):
            return
        screen.run_worker(self._extras(task), group="extras", exclusive=True)

    async def _extras(self, task: Task) -> None:
        await asyncio.sleep(EXTRAS_DELAY)
        screen = self.screen
        try:
            details = await screen.provider.approval_details(task.id)  # type: ignore[attr-defined]
        except LexiError:
            return  # Only a nicety: the approve dialog reads (and reports) them again.
        if screen.is_attached:
            screen.detail.set_files(task, [f.file_name or f.file_id for f in details.files])
