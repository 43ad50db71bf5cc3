"""The dismiss dialog: a documented reason on a number key, or a reason of one's own (`o`).

`o` types your own reason for every provider (Lexi has five presets, Chamelio four: "the
number after the presets" was 6 for one and 5 for the other; a number without a preset still
does the same as `o`). The request is sent from inside
the dialog and the dialog closes only when the action is held or the server has accepted it:
if it fails, the error shows here and everything typed stays, so Enter tries again (never
lose the user's intent).
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
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from lexi_tui.api.errors import LexiError
from lexi_tui.api.models import DISMISS_REASONS, Task
from lexi_tui.ui.dialogs.inputs import SteadyInput

SendDismiss = Callable[[str | None], Awaitable[None]]
"""Sends (or holds) the dismissal with a reason; raises LexiError when it was not applied and
may be retried, MaybeApplied when the answer was lost and the task could not be read again,
NotSent when nothing left the machine (the journal or the history cannot be written...)."""


class NotSent(Exception):
    """Nothing was sent, for a local reason (the undo journal or the history cannot be
    written, the app is read-only, an earlier action on the task is still out). The message
    says why, in words for a person."""


class MaybeApplied(Exception):
    """The answer to the dismissal was lost and reading the task failed too: it may have been
    applied. The dialog stays open with the text; sending again is safe (the server refuses a
    second dismissal of a task that is no longer pending)."""


class DismissDialog(ModalScreen[str | None]):
    """Choose why a task is dismissed, then send it; returns the reason sent, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dismiss.cancel"),
        Binding("enter", "send", "Dismiss", priority=True, id="dismiss.send"),
        *(
            Binding(str(number), f"choose({number - 1})", f"Reason {number}", show=False, id=f"dismiss.reason_{number}")
            for number in range(1, 10)
        ),
        Binding("o", "other", "Other reason", show=False, id="dismiss.other",
                tooltip="Type your own reason (the same key for every provider)"),
    ]

    def __init__(
        self,
        task: Task,
        send: SendDismiss,
        *,
        reasons: tuple[tuple[str, str], ...] = DISMISS_REASONS,
        verb: str = "Dismiss",
    ) -> None:
        super().__init__()
        self.target = task
        self._send = send
        self.reasons = reasons
        self.verb = verb
        self.sending = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"{self.verb} task", classes="dialog-title")
            yield Static(Text(self.target.description or self.target.display_id, no_wrap=False), classes="dialog-subject")
            yield OptionList(
                *(
                    Option(Text.assemble((f"{number}  ", "bold"), reason, ("  " + use, "italic")), id=reason)
                    for number, (reason, use) in enumerate(self.reasons, start=1)
                ),
                id="reasons",
            )
            label = "o  Other reason: your own words" if self.reasons else "Reason or comment"
            yield SteadyInput(
                placeholder=f"{label} (overrides the choice above)", id="reason-text", compact=True
            )
            yield Static("", id="dismiss-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.verb}  ⏎", variant="error", id="send", compact=True)
                yield Button("Cancel  esc", id="cancel", compact=True)

    def on_mount(self) -> None:
        options = self.query_one("#reasons", OptionList)
        if self.reasons:
            options.focus()
        else:
            options.display = False
            self.query_one("#reason-text", Input).focus()

    def prefill(self, reason: str) -> None:
        """Offer again the reason of a dismissal that failed: a preset or the typed text."""

        def apply() -> None:
            codes = [code for code, _use in self.reasons]
            if reason in codes:
                self.query_one("#reasons", OptionList).highlighted = codes.index(reason)
            else:
                self.query_one("#reason-text", Input).value = reason
                self.query_one("#reason-text", Input).focus()
            self._status("Your reason from the failed attempt is filled in; Enter sends it again.")

        self.call_after_refresh(apply)

    @property
    def reason(self) -> str | None:
        """The reason that Enter would send now: typed text wins over the chosen preset."""
        typed = self.query_one("#reason-text", Input).value.strip()
        if typed:
            return typed
        options = self.query_one("#reasons", OptionList)
        if not self.reasons or options.highlighted is None:
            return None
        return self.reasons[options.highlighted][0]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Number keys choose a preset only while the text box does not have focus.
        if action in ("choose", "other") and isinstance(self.focused, Input):
            return False
        if action == "send" and isinstance(self.focused, Button) and self.focused.id == "cancel":
            return False  # Enter on Cancel cancels.
        return True

    def action_choose(self, index: int) -> None:
        if index >= len(self.reasons):
            # A number without a preset types your own, as `o` does: 6 for Lexi (five presets),
            # 5 to 9 for Chamelio (four), so the old habit works and `o` is the same everywhere.
            self.action_other()
        else:
            self.query_one("#reasons", OptionList).highlighted = index
            self.query_one("#reasons", OptionList).focus()

    def action_other(self) -> None:
        self.query_one("#reason-text", Input).focus()

    def action_cancel(self) -> None:
        if self.sending:
            self._status("Still sending: wait for the answer, it may already be applied.", error=True)
            return
        self.dismiss(None)

    def action_send(self) -> None:
        if self.sending:
            return  # A second Enter while in flight sends nothing.
        self.sending = True
        self.query_one("#send", Button).disabled = True
        self._status("Sending…")
        self._do_send(self.reason)

    @on(OptionList.OptionSelected, "#reasons")
    def _option_selected(self) -> None:
        self.action_send()

    @on(Input.Submitted, "#reason-text")
    def _submitted(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#send")
    def _send_pressed(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @work(exclusive=True, group="dismiss-send")
    async def _do_send(self, reason: str | None) -> None:
        try:
            await self._send(reason)
        except NotSent as why:
            self.sending = False
            self.query_one("#send", Button).disabled = False
            self._status(f"Not sent: {why}. Press Enter to try again.", error=True)
            return
        except MaybeApplied as unknown:
            self.sending = False
            self.query_one("#send", Button).disabled = False
            self._status(f"{unknown} Press Enter to try again: the server refuses a second "
                         f"{self.verb.lower()} of a task that is no longer pending.", error=True)
            return
        except LexiError as error:
            self.sending = False
            self.query_one("#send", Button).disabled = False
            self._status(f"Not sent: {error}. Press Enter to try again.", error=True)
            return
        self.sending = False
        self.dismiss(reason)

    def _status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#dismiss-status", Static)
        status.update(Text(message))
        status.set_class(error, "-error")
