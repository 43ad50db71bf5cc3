"""Add a task by id or URL: for providers without a list endpoint (Chamelio's watch list).

The text is checked with `parse_task_ref` as it is submitted (a typo is explained at once,
with no request); then the task is read in a worker and, once the server has shown it,
watched. The dialog closes only on success: on a failure the error shows here and the
typed text stays, so Enter tries again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lexi_tui.api.chamelio_models import parse_task_ref
from lexi_tui.api.errors import LexiError, NotFoundError
from lexi_tui.api.models import Task
from lexi_tui.core.watchlist import WatchListError
from lexi_tui.ui.dialogs.inputs import SteadyInput

AddTask = Callable[[str], Awaitable[Task]]
"""Reads and watches the task a reference names; raises LexiError (or ValueError)."""


class AddTaskDialog(ModalScreen[Task | None]):
    """Returns the added task, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="add.cancel"),
    ]

    def __init__(self, add: AddTask) -> None:
        super().__init__()
        self._add = add
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Add a task to watch", classes="dialog-title")
            yield Static(Text("A task id (1234 or #1234) or a task URL, e.g. one someone shared with you."),
                         classes="dialog-subject")
            yield SteadyInput(placeholder="https://platform.chamelio.ai/tasks/1234", id="add-ref", compact=True)
            yield Static("", id="add-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add  ⏎", variant="primary", id="add-send", compact=True)
                yield Button("Cancel  esc", id="add-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#add-ref", Input).focus()

    @on(Input.Submitted, "#add-ref")
    @on(Button.Pressed, "#add-send")
    def action_add(self) -> None:
        if self.sending:
            return
        text = self.query_one("#add-ref", Input).value
        try:
            task_id = parse_task_ref(text)
        except ValueError as problem:
            self._status(str(problem), error=True)
            return
        self.sending = True
        self.query_one("#add-send", Button).disabled = True
        self._status(f"Reading task {task_id}…")
        self._do_add(text)

    @work(exclusive=True, group="add-task")
    async def _do_add(self, text: str) -> None:
        try:
            task = await self._add(text)
        except NotFoundError:
            self._failed("No such task, or this key cannot see it: check the id or the link.")
            return
        except (LexiError, ValueError, OSError, WatchListError) as error:
            self._failed(f"Not added: {error}. Press Enter to try again.")
            return
        self.sending = False
        self.dismiss(task)

    def _failed(self, message: str) -> None:
        self.sending = False
        self.query_one("#add-send", Button).disabled = False
        self._status(message, error=True)
        self.query_one("#add-ref", Input).focus()

    @on(Button.Pressed, "#add-cancel")
    def action_cancel(self) -> None:
        if self.sending:
            self._status("Still reading the task: wait for the answer.", error=True)
            return
        self.dismiss(None)

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#add-status", Static)
        status.update(Text(message))
        status.set_class(error, "-error")
