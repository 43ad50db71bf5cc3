"""The approve dialog: an optional comment and the approval step's variables, checked first.

For providers whose approvals carry a comment and variables (Chamelio). The variables to
approve are read in a worker when the dialog opens (`GET .../approval-details`); each is an
input with its type, checked with `validate_variable` before anything is sent, the problem
shown under the field. Like the dismiss dialog, the request is sent from inside the dialog,
which closes only once the server has accepted it: a failure shows here and everything typed
stays, so Enter tries again. A second Enter while a request is out sends nothing.
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

LoadDetails = Callable[[], Awaitable[ApprovalDetails]]
SendApproval = Callable[[str | None, list[dict[str, str]]], Awaitable[None]]
"""Sends the approval (comment, variables); raises LexiError when it should be retried."""

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


class ApproveDialog(ModalScreen[bool | None]):
    """Approve with a comment and edited variables; returns True once sent, None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="approve.cancel"),
        Binding("ctrl+s", "send", "Approve", priority=True, id="approve.send"),
        Binding("ctrl+r", "reload", "Reload variables", show=False, id="approve.reload"),
    ]

    def __init__(self, task: Task, send: SendApproval, load: LoadDetails | None = None) -> None:
        super().__init__()
        self.target = task
        self._send = send
        self._load = load
        self.variables: list[Variable] = []
        self.files: list[str] = []
        self.sending = False
        self.loading = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog approve"):
            yield Label("Approve task", classes="dialog-title")
            yield Static(Text(self.target.description or self.target.id, no_wrap=False), classes="dialog-subject")
            yield Input(placeholder="Comment (optional): why it is approved, for the audit trail",
                        id="approve-comment", compact=True)
            yield Static("", id="approve-files")
            yield VerticalScroll(id="approve-variables", can_focus=False)
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
            field = Input(value=typed.get(variable.variable_id, variable.value), placeholder=hint(variable),
                          id=f"var-{index}", compact=True, disabled=variable.type == VariableType.FILE)
            rows.append(Vertical(Horizontal(Label(label, classes="var-label"), field, classes="var-line"),
                                 Static("", id=f"var-error-{index}", classes="var-error"), classes="var-row"))
        if rows:
            await box.mount_all(rows)
        files = self.query_one("#approve-files", Static)
        files.display = bool(self.files)
        files.update(Text("Files: " + ", ".join(self.files), no_wrap=False))
        count = len(self.variables)
        self._status(f"{count} variable(s) to approve; Tab moves between fields, Enter approves." if count
                     else "This step has no variables to set; Enter approves.")

    # -- values and checks -------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """What is typed in each variable's field now, by variable id."""
        found: dict[str, str] = {}
        for index, variable in enumerate(self.variables):
            fields = self.query(f"#var-{index}")
            if fields:
                found[variable.variable_id] = fields.first(Input).value
        return found

    def check(self) -> tuple[list[dict[str, str]], list[int]]:
        """The variables to send, and the indexes of fields that fail their type's check.

        An empty optional field is not sent; file variables are not editable and not sent.
        """
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
                if problem is None:
                    payload.append({"variable_id": variable.variable_id, "type": str(variable.type), "value": value})
            self.field_error(index, problem)
            if problem:
                bad.append(index)
        return payload, bad

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
        try:
            await self._send(comment, payload)
        except LexiError as error:
            self.sending = False
            self.query_one("#approve-send", Button).disabled = False
            self._server_field_errors(error, payload)
            self._status(f"Not sent: {error}. Press Enter to try again.", error=True)
            return
        self.sending = False
        self.dismiss(True)

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
        self.dismiss(None)

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
