"""Approving through a form, cancelling, and the watch list: providers with more than a/d.

Everything here is gated on the provider's capabilities (comments, variables, cancel,
add_by_reference, reads_one_task), never on its name; a provider without them (Lexi) never
reaches it.

An approval with a form is sent from its dialog, which is its confirmation: there is no
undo window (the dialog shows each value it will send that differs from the server's, and
stays open with everything typed when the request was not applied). It goes the same way as
every action (`TriageActions.begin/hold/send`: journalled, `core.actions.perform`, the
history line), so a lost answer is read back before anything is said. A task someone else
decided meanwhile (409) or that is gone (404) is read again to say where it is now.

Bulk approve of marked tasks with a form opens each task's form in turn: an approval step's
variables are never sent unseen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from rich.text import Text

from lexi_tui.api.errors import LexiError
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.core.actions import NOT_SENT, TaskResult
from lexi_tui.core.outcomes import NOT_FOUND_TEXT, Outcome
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.dismiss_dialog import NotSent
from lexi_tui.ui.main.actions import Toast, name, summary

if TYPE_CHECKING:
    from lexi_tui.providers.base import WatchingProvider
    from lexi_tui.ui.main.screen import MainScreen

OPEN_STATUSES = (TaskStatus.PENDING, "in_progress")
EXTRAS_DELAY = 0.3
"""Seconds the cursor must rest on a task before its files are read (scrolling sends nothing)."""


class FormApprovals:
    """The comment/variables/cancel/watch-list part of the triage screen."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.state = screen.state
        self._last_error: LexiError | None = None
        """The error of the latest form approval that came back handled elsewhere (for its story)."""

    @property
    def watching(self) -> WatchingProvider:
        """The provider's watch-list and form calls; only reached when the capabilities
        (`add_by_reference`, `variables`) say the provider has them."""
        return cast("WatchingProvider", self.screen.provider)

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
            if self.screen.actions.read_only:
                return None
            return True if task is not None and task.status in OPEN_STATUSES and task.id not in self.state.inflight else None
        return True

    # -- approve with a form ---------------------------------------------------------------

    def approve(self, task: Task, *, position: tuple[int, int] | None = None,
                then: Callable[[str | None], None] | None = None) -> None:
        """Open the approval form (an optional comment, the step's variables).

        Args:
            position: (n, total) when it is one of a bulk approve's forms in turn.
            then: called with the form's result (the outcome, or None when it was closed).
        """
        screen = self.screen
        if screen.actions.read_only:
            screen.actions.read_only_refusal()
            return
        if task.id in self.state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2, markup=False)
            return
        if task.status != TaskStatus.PENDING:
            screen.notify(f"Only tasks awaiting approval can be approved; this one is {task.status}.",
                          severity="warning", markup=False)
            return

        async def send(comment: str | None, variables: list[dict[str, str]]) -> TaskResult:
            return await self._send_approval(task, comment, variables)

        load = (lambda: self.watching.approval_details(task.id)) if screen.capabilities.variables else None
        from lexi_tui.ui.dialogs.approve_dialog import ApproveDialog  # Chamelio only: off the start path.

        def closed(outcome: str | None) -> None:
            if outcome in (Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
                screen.run_worker(self._explain_moved_on(task, "approve", self._last_error, Outcome(outcome)),
                                  group="explain")
            if then is not None:
                then(outcome)

        screen.app.push_screen(ApproveDialog(task, send, load, position=position), closed)

    async def _send_approval(self, task: Task, comment: str | None, variables: list[dict[str, str]]) -> TaskResult:
        """Send from the dialog, the way every action goes; the dialog reads the result."""
        screen, actions = self.screen, self.screen.actions
        if task.id in self.state.inflight:
            return TaskResult(task, NOT_SENT, "an action for this task is already on its way", action="approve")
        note = comment or ""
        if variables:
            from lexi_tui.ui.dialogs.approve_dialog import describe_payload

            note = (note + " | " if note else "") + describe_payload(variables)
        held = actions.begin(task, "approve", None, window=0, advance=False, comment=comment,
                             variables=variables or None, note=note or None)
        try:
            await actions.hold(held)
        except NotSent as why:
            return TaskResult(task, NOT_SENT, str(why), action="approve")
        try:
            result = await actions.send(held)
        finally:
            self.state.inflight.pop(task.id, None)
            screen.table.mark_busy(task.id, None)
            screen.refresh_bindings()
        outcome = result.outcome
        if outcome == Outcome.APPLIED:
            actions.succeeded(task, "approve", None, toast=False)
            said = "the answer was lost, but reading the task back shows it was approved" if result.settled else ""
            title = "Approved" + (" with comment" if comment else "")
            actions.toasts.add(Toast(title, f"{name(task)}: {said}." if said else summary(task), done="approved"))
        elif outcome in (Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
            self._last_error = result.error
            actions.handled_elsewhere(result, "approve", toast=False)  # The story is told once read.
        elif outcome == Outcome.UNKNOWN:
            screen.table.mark_error(task.id, "approve: unknown")
        elif outcome == Outcome.FAILED:
            screen.table.mark_error(task.id, "approve rate limited" if result.rate_limited else "approve failed")
        return result

    def approve_in_turn(self, tasks: list[Task]) -> None:
        """Bulk approve with a form: each marked task's form opens in turn (its variables are
        reviewed, never sent unseen). Esc on one stops there; the rest stay marked."""
        screen = self.screen
        order = list(tasks)

        def step(index: int) -> None:
            while index < len(order) and self.state.queued(order[index].id) is None:
                index += 1  # Handled elsewhere meanwhile: nothing to approve.
            if index >= len(order):
                return
            task = self.state.queued(order[index].id) or order[index]
            screen.table.select(task.id)

            def then(outcome: str | None) -> None:
                if outcome is None:
                    left = len(order) - index
                    screen.notify(f"Stopped: {left} marked task(s) not approved; they stay marked.",
                                  title="Bulk approve", timeout=5, markup=False)
                    return
                screen.table.set_marks([task_id for task_id in screen.table.marked if task_id != task.id])
                step(index + 1)

            self.approve(task, position=(index + 1, len(order)), then=then)

        step(0)

    async def _explain_moved_on(self, task: Task, verb: str, error: LexiError | None, outcome: Outcome) -> None:
        """After a 409/404: read the task again and say where it is now, then refresh."""
        screen = self.screen
        where = ""
        if outcome is Outcome.ALREADY_HANDLED and screen.capabilities.reads_one_task:
            try:
                now: Task | None = await screen.provider.get(task.id)
            except LexiError:
                now = None
            if now is not None:
                step = now.metadata.get("step", {}) if isinstance(now.metadata, dict) else {}
                step_name = step.get("name") if isinstance(step, dict) else None
                where = (f" It is now {str(now.status).replace('_', ' ')}"
                         + (f" at {step_name!r}" if step_name else "") + ".")
        elif outcome is Outcome.NOT_FOUND:
            where = f" {NOT_FOUND_TEXT[0].upper()}{NOT_FOUND_TEXT[1:]}."
        said = f"{error.message}." if error is not None else "It was handled elsewhere."
        screen.notify(
            f"{summary(task)}: {said}{where} Someone else may have acted on it; the list was refreshed.",
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
        if screen.actions.read_only:
            screen.actions.read_only_refusal()
            return
        if task.id in state.inflight:
            screen.notify("An action for this task is already on its way.", timeout=2, markup=False)
            return
        body = Text.assemble((task.description or task.display_id, "bold"),
                             "\n\nCancelling stops the whole workflow, at once (there is no undo window); "
                             "it cannot be restarted from here.")

        def answered(yes: bool | None) -> None:
            if yes and task.id not in state.inflight:
                screen.run_worker(self._cancel(task), group="actions")

        screen.app.push_screen(ConfirmDialog("Cancel this task's workflow?", body, yes_label="Cancel the workflow",
                                             no_label="Keep it"), answered)

    async def _cancel(self, task: Task) -> None:
        screen, actions = self.screen, self.screen.actions
        held = actions.begin(task, "cancel", None, window=0, advance=False)
        try:
            await actions.hold(held)
        except NotSent as why:
            actions.toasts.add(Toast("Not cancelled: nothing was sent", f"{name(task)}: {why}", "warning"))
            return
        try:
            result = await actions.send(held)
        finally:
            self.state.inflight.pop(task.id, None)
            screen.table.mark_busy(task.id, None)
            screen.refresh_bindings()
        outcome = result.outcome
        if outcome == Outcome.APPLIED:
            actions.succeeded(task, "cancel", None, settled=result.settled)
            if not self.state.refreshing:
                screen.refresher.run()  # It shows up in the cancelled view.
        elif outcome in (Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
            actions.handled_elsewhere(result, "cancel", toast=False)
            await self._explain_moved_on(task, "cancel", result.error, Outcome(outcome))
        elif outcome == Outcome.UNKNOWN:
            screen.table.mark_error(task.id, "cancel: unknown")
            actions.toasts.add(Toast("Could not cancel: the outcome is unknown",
                                     f"{name(task)}: {result.detail}. Press x again to be sure: Chamelio refuses "
                                     "to cancel a task twice.", "warning"))
        elif outcome == NOT_SENT:
            screen.table.mark_error(task.id, "cancel not sent")
            actions.toasts.add(Toast("Not cancelled: nothing was sent", f"{name(task)}: {result.detail}", "warning"))
        else:
            screen.table.mark_error(task.id, "cancel failed")
            actions.toasts.add(Toast("Could not cancel; press x again to retry",
                                     f"{name(task)}: {result.detail}", "error", error=result.error))

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
            screen.notify(summary(task), title=f"Watching task {task.display_id} ({view.replace('_', ' ')})",
                          timeout=4, markup=False)

        from lexi_tui.ui.dialogs.add_task_dialog import AddTaskDialog  # Imports the Chamelio models.

        screen.app.push_screen(AddTaskDialog(self.watching.add_task), added)

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
            await self.watching.forget(task.id)
        except (WatchListError, OSError, ValueError) as error:
            screen.notify(f"Could not change the watch list: {error}", severity="error", markup=False)
            return
        screen.drop_task(task.id)
        screen.notify(summary(task), title=f"No longer watching task {task.display_id} (+ adds it again)",
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
            details = await self.watching.approval_details(task.id)
        except LexiError:
            return  # Only a nicety: the approve dialog reads (and reports) them again.
        if screen.is_attached:
            screen.detail.set_files(task, [f.file_name or f.file_id for f in details.files])
