"""Approve with a comment and variables, cancel, add by reference, and the files of a task.

Mixed into `MainScreen` ahead of `TriageActions`. Everything here is gated on the
provider's capabilities (comments, variables, cancel, add_by_reference), never on its name;
a provider without them (Lexi) goes through `TriageActions` unchanged.

An approval with a form is sent from its dialog, which is its confirmation: there is no
undo window (the dialog shows every value before it goes, and stays open with everything
typed when the request fails). A 409 (the task moved on: someone else decided, or the
workflow changed) reads the task again and says where it is now.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.binding import Binding

from lexi_tui.api.errors import ConflictError, LexiError, NotFoundError
from lexi_tui.api.models import Task, TaskStatus
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.main.triage import ALREADY_HANDLED, TriageActions, summary

if TYPE_CHECKING:
    from lexi_tui.ui.main.screen import MainScreen

OPEN_STATUSES = (TaskStatus.PENDING, "in_progress")
EXTRAS_DELAY = 0.3
"""Seconds the cursor must rest on a task before its files are read (scrolling sends nothing)."""


class ApprovalActions:
    """The comment/variables/cancel/add half of the main screen."""

    def check_approval_action(self: MainScreen, action: str) -> bool | None:
        """Footer state of this mixin's actions: hidden without the capability, greyed without a task."""
        caps = self.capabilities
        if action == "add_task":
            return True if caps.add_by_reference else False
        if action == "forget_task":
            if not caps.add_by_reference:
                return False
            return True if self.table.current is not None and self.table.current.id not in self.inflight else None
        if action == "cancel_task":
            if not caps.cancel:
                return False
            task = self.table.current
            return True if task is not None and task.status in OPEN_STATUSES and task.id not in self.inflight else None
        return True

    def relabel(self: MainScreen, binding: Binding) -> Binding:
        """`binding` as this provider says it: the dismiss key is "Reject" for Chamelio."""
        label = self.capabilities.dismiss_label
        if binding.id != "task.dismiss" or label == "Dismiss":
            return binding
        return dataclasses.replace(binding, description=label,
                                   tooltip=f"{label} the task, with a comment (a preset or your own)")

    def relabel_bindings(self: MainScreen) -> None:
        """The footer says the provider's word for dismissing ("Reject" for Chamelio)."""
        if self.capabilities.dismiss_label == "Dismiss":
            return
        table = self._bindings.key_to_bindings
        for key, bindings in table.items():
            table[key] = [self.relabel(b) for b in bindings]

    # -- approve with a form ---------------------------------------------------------------

    def approve(self: MainScreen, task: Task) -> None:
        """With comments or variables, approve through the form; otherwise as before."""
        caps = self.capabilities
        if not (caps.comments or caps.variables):
            TriageActions.approve(self, task)
            return
        if task.id in self.inflight:
            self.notify("An action for this task is already on its way.", timeout=2)
            return
        if task.status != TaskStatus.PENDING:
            self.notify(f"Only tasks awaiting approval can be approved; this one is {task.status}.", severity="warning", markup=False)
            return
        provider = self.app.provider  # type: ignore[attr-defined]

        async def send(comment: str | None, variables: list[dict[str, str]]) -> None:
            await self._send_approval(task, comment, variables)

        load = (lambda: provider.approval_details(task.id)) if caps.variables else None
        from lexi_tui.ui.dialogs.approve_dialog import ApproveDialog  # Chamelio only: off the start path.

        self.app.push_screen(ApproveDialog(task, send, load))

    async def _send_approval(self: MainScreen, task: Task, comment: str | None,
                             variables: list[dict[str, str]]) -> None:
        """Send from the dialog; a retryable failure propagates so the dialog keeps the text."""
        if task.id in self.inflight:
            return
        provider = self.app.provider  # type: ignore[attr-defined]
        self.inflight[task.id] = "approve"
        self.table.mark_busy(task.id, "approving…")
        note = comment or ""
        if variables:
            from lexi_tui.ui.dialogs.approve_dialog import describe_payload

            note = (note + " | " if note else "") + describe_payload(variables)
        try:
            await provider.approve(task.id, comment=comment, variables=variables)
        except ALREADY_HANDLED as error:
            self.table.mark_busy(task.id, None)
            self._record(task, "approve", note or None, "already_handled", error)
            await self._explain_moved_on(task, "approve", error)
            return
        except LexiError as error:
            self.table.mark_busy(task.id, None)
            self.table.mark_error(task.id, "approve failed")
            self._record(task, "approve", note or None, "failed", error)
            self.app.handle_api_error(error, title="Could not approve; your input is kept")  # type: ignore[attr-defined]
            raise
        finally:
            self.inflight.pop(task.id, None)
            self.refresh_bindings()
        self._decided(task, "approve", note or None)
        if self.capabilities.executing_view:
            self.executing[task.id] = task
            self._ensure_following()
        self.notify(Text(summary(task)).plain, title="Approved" + (" with comment" if comment else ""),
                    timeout=4, markup=False)

    def _decided(self: MainScreen, task: Task, verb: str, note: str | None) -> None:
        """The server accepted the decision: the task leaves the queue."""
        self.table.mark_busy(task.id, None)
        self.table.mark_error(task.id, None)
        self._record(task, verb, note, "ok")
        for view, tasks in list(self.lists.items()):
            if any(t.id == task.id for t in tasks):
                self._store(view, [t for t in tasks if t.id != task.id])

    async def _explain_moved_on(self: MainScreen, task: Task, verb: str, error: LexiError) -> None:
        """After a 409/404: read the task again and say where it is now, then refresh."""
        provider = self.app.provider  # type: ignore[attr-defined]
        where = ""
        reread = getattr(provider, "get", None)  # Providers that read one task (WatchingProvider).
        if isinstance(error, ConflictError) and reread is not None:
            try:
                now = await reread(task.id)
            except LexiError:
                now = None
            if now is not None:
                step = now.metadata.get("step", {}) if isinstance(now.metadata, dict) else {}
                name = step.get("name") if isinstance(step, dict) else None
                where = f" It is now {str(now.status).replace('_', ' ')}" + (f" at {name!r}" if name else "") + "."
        elif isinstance(error, NotFoundError):
            where = " It no longer exists, or this key cannot see it."
        self.notify(
            Text(f"{summary(task)}: {error.message}.{where} Someone else may have acted on it; "
                 "the list was refreshed.").plain,
            title=f"Could not {verb}: no longer awaiting approval" if verb != "cancel" else "Could not cancel",
            severity="warning", timeout=10, markup=False,
        )
        if not self.refreshing:
            self.run_refresh()

    # -- cancel ----------------------------------------------------------------------------

    def action_cancel_task(self: MainScreen) -> None:
        task = self.table.current
        if task is None or not self.capabilities.cancel:
            return
        if task.id in self.inflight:
            self.notify("An action for this task is already on its way.", timeout=2)
            return
        body = Text.assemble((task.description or task.id, "bold"),
                             "\n\nCancelling stops the whole workflow; it cannot be restarted from here. Cancel it?")

        def answered(yes: bool | None) -> None:
            if yes and task.id not in self.inflight:
                self.inflight[task.id] = "cancel"
                self._cancel_worker(task)

        self.app.push_screen(ConfirmDialog("Cancel this task?", body, yes_label="Cancel task"), answered)

    @work(group="actions")
    async def _cancel_worker(self: MainScreen, task: Task) -> None:
        provider = self.app.provider  # type: ignore[attr-defined]
        self.table.mark_busy(task.id, "cancelling…")
        try:
            await provider.cancel(task.id)
        except ALREADY_HANDLED as error:
            self.table.mark_busy(task.id, None)
            self._record(task, "cancel", None, "already_handled", error)
            await self._explain_moved_on(task, "cancel", error)
        except LexiError as error:
            self.table.mark_busy(task.id, None)
            self.table.mark_error(task.id, "cancel failed")
            self._record(task, "cancel", None, "failed", error)
            self.app.handle_api_error(error, title="Could not cancel; press x again to retry")  # type: ignore[attr-defined]
        else:
            self._decided(task, "cancel", None)
            self.notify(Text(summary(task)).plain, title="Cancelled", timeout=4, markup=False)
            if not self.refreshing:
                self.run_refresh()
        finally:
            self.inflight.pop(task.id, None)
            self.refresh_bindings()

    # -- add by reference --------------------------------------------------------------------

    def action_add_task(self: MainScreen) -> None:
        if not self.capabilities.add_by_reference:
            return
        provider = self.app.provider  # type: ignore[attr-defined]

        def added(task: Task | None) -> None:
            if task is None:
                return
            view = str(task.status)
            current = [t for t in self.lists.get(view, []) if t.id != task.id]
            self._store(view, [*current, task])
            if view in self.views:
                self.action_view(view)
                self.table.select(task.id)
                self.detail.show(self.table.current)
                self.load_extras(self.table.current)
            self.notify(Text(summary(task)).plain, title=f"Watching task {task.id} ({view.replace('_', ' ')})",
                        timeout=4, markup=False)

        from lexi_tui.ui.dialogs.add_task_dialog import AddTaskDialog  # Imports the Chamelio models.

        self.app.push_screen(AddTaskDialog(provider.add_task), added)

    def action_forget_task(self: MainScreen) -> None:
        """Stop watching the task under the cursor (local only: nothing is sent)."""
        task = self.table.current
        if task is None or not self.capabilities.add_by_reference or task.id in self.inflight:
            return
        self._forget_worker(task)

    @work(group="watch")
    async def _forget_worker(self: MainScreen, task: Task) -> None:
        from lexi_tui.core.watchlist import WatchListError

        provider = self.app.provider  # type: ignore[attr-defined]
        try:
            await provider.forget(task.id)
        except (WatchListError, OSError, ValueError) as error:
            self.notify(f"Could not change the watch list: {error}", severity="error", markup=False)
            return
        for view, tasks in list(self.lists.items()):
            if any(t.id == task.id for t in tasks):
                self._store(view, [t for t in tasks if t.id != task.id])
        self.notify(Text(summary(task)).plain, title=f"No longer watching task {task.id} (+ adds it again)",
                    timeout=4, markup=False)

    # -- files of the task under the cursor -----------------------------------------------------

    def load_extras(self: MainScreen, task: Task | None) -> None:
        """Read the files of a task awaiting approval (after the cursor rests on it)."""
        if task is None or not self.capabilities.variables or task.status != TaskStatus.PENDING:
            return
        if self.detail.has_files(task):
            return
        self._extras_worker(task)

    @work(exclusive=True, group="extras")
    async def _extras_worker(self: MainScreen, task: Task) -> None:
        await asyncio.sleep(EXTRAS_DELAY)
        provider = self.app.provider  # type: ignore[attr-defined]
        try:
            details = await provider.approval_details(task.id)
        except LexiError:
            return  # Only a nicety: the approve dialog reads (and reports) them again.
        self.detail.set_files(task, [f.file_name or f.file_id for f in details.files])
