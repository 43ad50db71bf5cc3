"""The approve dialog: an optional comment and the approval step's variables, checked first.

For providers whose approvals carry a comment and variables (Chamelio). The variables to
approve are read in a worker when the dialog opens (`GET .../approval-details`); each is an
input with its type, checked with `validate_variable` before anything is sent, the problem
shown under the field.

It sends only what was typed: a variable whose field still holds the server's value is not
sent, and a line under the fields says what will be ("Will send: base_salary 120000 →
125000"), updated as you type: there is no undo window, so this is the last look. Esc throws
edits away only after asking. Like the dismiss dialog, the request is sent from inside the
dialog: it closes once the server applied it (or the task turned out to be handled
elsewhere); when it was not applied everything typed stays and Enter tries again; when the
answer was lost and the task could not be read back it says it may have been applied. A
second Enter while a request is out sends nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from lexi_tui.api.chamelio_models import ApprovalDetails, Variable, VariableType, validate_variable
from lexi_tui.api.errors import LexiError
from lexi_tui.api.models import Task
from lexi_tui.api.text import clean
from lexi_tui.core.actions import NOT_SENT, TaskResult
from lexi_tui.core.outcomes import Outcome
from lexi_tui.ui.dialogs.confirm_dialog import ConfirmDialog
from lexi_tui.ui.dialogs.inputs import SteadyInput

LoadDetails = Callable[[], Awaitable[ApprovalDetails]]
SendApproval = Callable[[str | None, list[dict[str, str]]], Awaitable[TaskResult]]
"""Sends the approval (comment, variables) and says what happened (never raises for the API)."""

_SHOWN_VALUE = 24

_HINTS: dict[str, str] = {
    VariableType.NUMBER: "a number, e.g. 1250",
    VariableType.BOOLEAN: "true or false",
    VariableType.DATE: "YYYY-MM-DD",
    VariableType.EMAIL: "name@example.com",
    VariableType.USER_ENTITY: "a person's email",
    VariableType.FILE: "a file (shown, not editable here)",
}


def hint(variable: Variable) -> str:
    """The placeholder that says what a field accepts."""
    if variable.type == VariableType.SELECT and variable.options:
        return "one of: " + ", ".join(variable.options)
    return _HINTS.get(str(variable.type), str(variable.type))


def _shown(value: str) -> str:
    text = clean(value, multiline=False)
    if not text:
        return "(empty)"
    return repr(text) if len(text) <= _SHOWN_VALUE else repr(text[: _SHOWN_VALUE - 1] + "…")


class ApproveDialog(ModalScreen[str | None]):
    """Approve with a comment and edited variables. Returns the outcome ("ok",
    "already_handled", "not_found") once the dialog's work is done, None if closed unsent."""

    DEFAULT_CSS = """
    #approve-changes { height: auto; color: $text-accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="approve.cancel"),
        Binding("ctrl+s", "send", "Approve", priority=True, id="approve.send"),
        Binding("ctrl+r", "reload", "Reload variables", show=False, id="approve.reload"),
    ]

    def __init__(self, task: Task, send: SendApproval, load: LoadDetails | None = None, *,
                 position: tuple[int, int] | None = None) -> None:
        """
        Args:
            task: the task to approve.
            send: sends the approval; its result decides whether the dialog closes.
            load: reads the approval step's variables and files (None: the step has none).
            position: (n, total) when this is one form of a bulk approve shown in turn.
        """
        super().__init__()
        self.target = task
        self._send = send
        self._load = load
        self.position = position
        self.variables: list[Variable] = []
        self.files: list[str] = []
        self.sending = False
        self.loading = False

    def compose(self) -> ComposeResult:
        title = "Approve task" if self.position is None else f"Approve task {self.position[0]} of {self.position[1]}"
        with Vertical(id="dialog", classes="dialog approve"):
            yield Label(title, classes="dialog-title")
            yield Static(Text(self.target.description or self.target.display_id, no_wrap=False), classes="dialog-subject")
            yield SteadyInput(placeholder="Comment (optional): why it is approved, for the audit trail",
                              id="approve-comment", compact=True)
            yield Static("", id="approve-files")
            yield VerticalScroll(id="approve-variables", can_focus=False)
            yield Static("", id="approve-changes")
            yield Static("", id="approve-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve  ⏎", variant="success", id="approve-send", compact=True)
                yield Button("Cancel  esc", id="approve-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#approve-comment", Input).focus()
        self.query_one("#approve-files").display = False
        if self._load is not None:
            self.action_reload()

    # -- loading the variables ----------------------------------------------------------

    def action_reload(self) -> None:
        if self._load is None or self.loading or self.sending:
            return
        self.loading = True
        self._status("Reading the approval step's variables…")
        self._fetch()

    @work(exclusive=True, group="approve-load")
    async def _fetch(self) -> None:
        assert self._load is not None
        try:
            details = await self._load()
        except LexiError as error:
            self.loading = False
            self._status(f"Could not read the variables: {error}. Ctrl+R tries again; Enter approves "
                         "without changing them.", error=True)
            return
        self.loading = False
        await self.show_details(details)

    async def show_details(self, details: ApprovalDetails) -> None:
        """Build one field per variable to approve (kept values win over a reload's)."""
        typed = self.values()
        box = self.query_one("#approve-variables", VerticalScroll)
        await box.remove_children()
        self.variables = list(details.variables_to_approve)
        self.files = [f.file_name or f.file_id for f in details.files]
        rows = []
        for index, variable in enumerate(self.variables):
            label = Text(variable.name or variable.variable_id, no_wrap=True, overflow="ellipsis")
            label.append(f"\n{hint(variable)}" + ("" if variable.required else ", optional"), style="dim")
            field = SteadyInput(value=typed.get(variable.variable_id, variable.value), placeholder=hint(variable),
                                id=f"var-{index}", compact=True, disabled=variable.type == VariableType.FILE)
            rows.append(Vertical(Horizontal(Label(label, classes="var-label"), field, classes="var-line"),
                                 Static("", id=f"var-error-{index}", classes="var-error"), classes="var-row"))
        if rows:
            await box.mount_all(rows)
        files = self.query_one("#approve-files", Static)
        files.display = bool(self.files)
        files.update(Text("Files: " + ", ".join(self.files), no_wrap=False))
        count = len(self.variables)
        rest = " Esc stops here; the rest stay marked." if self.position is not None else ""
        self._status((f"{count} variable(s) to approve; Tab moves between fields, Enter approves." if count
                      else "This step has no variables to set; Enter approves.") + rest)
        self.show_changes()

    # -- values and checks -------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """What is typed in each variable's field now, by variable id."""
        found: dict[str, str] = {}
        for index, variable in enumerate(self.variables):
            fields = self.query(f"#var-{index}")
            if fields:
                found[variable.variable_id] = fields.first(Input).value
        return found

    def changes(self) -> list[tuple[Variable, str]]:
        """The variables whose field no longer holds the server's value, with the new value:
        exactly what will be sent (file variables are not editable)."""
        values = self.values()
        return [(variable, values[variable.variable_id]) for variable in self.variables
                if variable.type != VariableType.FILE and variable.variable_id in values
                and values[variable.variable_id] != variable.value]

    @property
    def edited(self) -> bool:
        """Something was typed that Esc would throw away."""
        return bool(self.query_one("#approve-comment", Input).value.strip()) or bool(self.changes())

    def check(self) -> tuple[list[dict[str, str]], list[int]]:
        """The variables to send (only those changed from the server's value), and the indexes
        of fields that fail their type's check (every field is checked: a required variable
        left empty must be filled).

        An empty optional field is not checked; file variables are not editable and not sent.
        """
        changed = {variable.variable_id for variable, _value in self.changes()}
        payload: list[dict[str, str]] = []
        bad: list[int] = []
        values = self.values()
        for index, variable in enumerate(self.variables):
            if variable.type == VariableType.FILE:
                continue
            value = values.get(variable.variable_id, variable.value)
            problem = None
            if value.strip() or variable.required:
                problem = validate_variable(str(variable.type), value, variable.options or None)
            if problem is None and variable.variable_id in changed:
                payload.append({"variable_id": variable.variable_id, "type": str(variable.type), "value": value})
            self.field_error(index, problem)
            if problem:
                bad.append(index)
        return payload, bad

    def show_changes(self) -> None:
        """The line that says what Enter sends: each changed variable, server value → typed."""
        line = self.query_one("#approve-changes", Static)
        changes = self.changes()
        if not self.variables:
            line.display = False
            return
        line.display = True
        if not changes:
            line.update(Text("Will send: no change to the variables."))
            return
        shown = "; ".join(f"{clean(variable.name or variable.variable_id, multiline=False)} "
                          f"{_shown(variable.value)} → {_shown(value)}" for variable, value in changes)
        invalid = any(validate_variable(str(variable.type), value, variable.options or None)
                      for variable, value in changes if value.strip() or variable.required)
        # A value that does not pass is not sent: the line must not say it will be.
        line.update(Text(f"{'Changed (not sent until fixed)' if invalid else 'Will send'}: {shown}"))

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("var-"):
            self.show_changes()

    def field_error(self, index: int, problem: str | None) -> None:
        errors = self.query(f"#var-error-{index}")
        if errors:
            box = errors.first(Static)
            box.update(Text(problem or ""))
            box.set_class(bool(problem), "-error")

    # -- sending -------------------------------------------------------------------------

    def action_send(self) -> None:
        if self.sending:
            return  # A second Enter while in flight sends nothing.
        payload, bad = self.check()
        if bad:
            self._status(f"Not sent: {len(bad)} field(s) need fixing (marked above).", error=True)
            self.query_one(f"#var-{bad[0]}", Input).focus()
            return
        comment = self.query_one("#approve-comment", Input).value.strip() or None
        self.sending = True
        self.query_one("#approve-send", Button).disabled = True
        self._status("Sending…")
        self._do_send(comment, payload)

    @work(exclusive=True, group="approve-send")
    async def _do_send(self, comment: str | None, payload: list[dict[str, str]]) -> None:
        result = await self._send(comment, payload)
        self.sending = False
        outcome = result.outcome
        if outcome in (Outcome.APPLIED, Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
            self.dismiss(str(outcome))  # Applied, or decided elsewhere: the screen says which.
            return
        self.query_one("#approve-send", Button).disabled = False
        if outcome == Outcome.UNKNOWN:
            self._status("The answer was lost and the task could not be read back: it may have been approved. "
                         "Check it before sending again (Chamelio refuses a second approval: Enter is safe).",
                         error=True)
            return
        if result.error is not None:
            self._server_field_errors(result.error, payload)
        detail = result.detail or "not applied"
        where = "Not sent" if outcome == NOT_SENT else "Not applied"
        self._status(f"{where}: {detail}. Everything you typed is kept; press Enter to try again.", error=True)

    def _server_field_errors(self, error: LexiError, payload: list[dict[str, str]]) -> None:
        """A 422 naming `body.variables.N.*`: show its message under that field too."""
        if not isinstance(error.details, list):
            return
        index_of = {v.variable_id: i for i, v in enumerate(self.variables)}
        for item in error.details:
            loc = item.get("loc") if isinstance(item, dict) else None
            if isinstance(loc, list) and len(loc) >= 3 and loc[:2] == ["body", "variables"] and isinstance(loc[2], int):
                if 0 <= loc[2] < len(payload) and payload[loc[2]]["variable_id"] in index_of:
                    from lexi_tui.api.text import clean_any

                    self.field_error(index_of[payload[loc[2]]["variable_id"]], clean_any(item.get("msg"), multiline=False))

    def action_cancel(self) -> None:
        if self.sending:
            self._status("Still sending: wait for the answer, it may already be applied.", error=True)
            return
        if not self.edited:
            self.dismiss(None)
            return
        changes = self.changes()
        typed = ["the comment"] if self.query_one("#approve-comment", Input).value.strip() else []
        if changes:
            typed.append(f"{len(changes)} changed variable{'s' if len(changes) != 1 else ''}")
        body = Text(f"Nothing has been sent. Closing throws away what you typed: {' and '.join(typed)}.")

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmDialog("Discard your changes?", body, yes_label="Discard", no_label="Keep editing"),
                             answered)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send" and isinstance(self.focused, Button) and self.focused.id == "approve-cancel":
            return False
        return True

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    @on(Button.Pressed, "#approve-send")
    def _send_pressed(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#approve-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#approve-status", Static)
        status.update(Text(message))
        status.set_class(error, "-error")


def describe_payload(payload: list[dict[str, Any]]) -> str:
    """`approved_value=20000, risk_rating=Low`: what was sent, for a toast or the audit log."""
    return ", ".join(f"{item['variable_id']}={item['value']}" for item in payload)
