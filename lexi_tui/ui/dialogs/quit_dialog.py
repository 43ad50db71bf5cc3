"""Quitting while actions wait in their undo window: send them now, drop them, or stay.

What it says stays true while it is open: the caller pauses the undo windows before showing
it (nothing is sent behind it) and resumes them when the person stays. "Send now" sends from
inside the dialog; when something was not applied it says what and asks again (send again,
quit without it, stay) instead of quitting as if all went well.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from lexi_tui.api.text import clean
from lexi_tui.core.actions import NOT_SENT, TaskResult
from lexi_tui.core.outcomes import Outcome

SendNow = Callable[[], Awaitable[list[TaskResult]]]
"""Sends every waiting action now; returns their results."""
SendAgain = Callable[[Sequence[TaskResult]], Awaitable[list[TaskResult]]]
"""Sends again the actions of results that were not applied; returns the new results."""

_SHOWN = 50


def _name(result: TaskResult) -> str:
    task = result.task
    text = clean(task.description or f"{task.type} {task.display_id}", multiline=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1].rstrip() + "…"


def not_applied(results: Sequence[TaskResult]) -> list[TaskResult]:
    """The results of actions that are still to be done: failed, unknown or not sent."""
    return [r for r in results if r.outcome in (Outcome.FAILED, Outcome.UNKNOWN, NOT_SENT)]


class QuitDialog(ModalScreen[str | None]):
    """Returns "sent" (everything went), "dropped" (quit without sending, or without sending
    again), or None to stay. Nothing is dropped without this answer."""

    DEFAULT_CSS = """
    #quit-status { height: auto; color: $text-warning; }
    #quit-status.-error { color: $text-error; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "send", "Send now", id="quit.send"),
        Binding("d", "drop", "Drop", id="quit.drop"),
        Binding("escape,n", "stay", "Stay", id="quit.stay"),
    ]

    def __init__(self, count: int, send: SendNow, send_again: SendAgain, drop: Callable[[], object]) -> None:
        """
        Args:
            count: the actions waiting in their undo window (paused while this is open).
            send: sends them now (the first "s").
            send_again: sends again those that were not applied (a later "s").
            drop: forgets the waiting actions (none of them is sent).
        """
        super().__init__()
        self.count = count
        self._send = send
        self._send_again = send_again
        self._drop = drop
        self.phase = "ask"
        """"ask", "sending", then "failed" when something was not applied."""
        self.left: list[TaskResult] = []
        """The actions not applied by the last "send now"."""

    def compose(self) -> ComposeResult:
        noun = "action is" if self.count == 1 else "actions are"
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Quit lexi-tui?", classes="dialog-title")
            yield Static(
                Text(f"{self.count} {noun} waiting in the undo window and not sent yet; the windows are paused "
                     "while this question is open. Send them now and quit, or drop them and quit (they are "
                     "never sent)?"),
                classes="dialog-subject", id="quit-body",
            )
            yield Static("", id="quit-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send now  s", variant="primary", id="send", compact=True)
                yield Button("Drop  d", variant="error", id="drop", compact=True)
                yield Button("Stay  esc", id="stay", compact=True)

    def on_mount(self) -> None:
        self.query_one("#quit-status").display = False
        self.query_one("#stay", Button).focus()

    def action_send(self) -> None:
        if self.phase == "sending":
            return
        self._do_send()

    def action_drop(self) -> None:
        if self.phase == "sending":
            return
        if self.phase == "ask":
            self._drop()
        self.dismiss("dropped")

    def action_stay(self) -> None:
        if self.phase == "sending":
            self._status("Sending: wait for the answers.", error=False)
            return
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        {"send": self.action_send, "drop": self.action_drop, "stay": self.action_stay}[event.button.id or "stay"]()

    @work(exclusive=True, group="quit-send")
    async def _do_send(self) -> None:
        first = self.phase == "ask"
        self.phase = "sending"
        for button in self.query(Button):
            button.disabled = True
        self._status("Sending…" if first else f"Sending {len(self.left)} again…", error=False)
        results = await (self._send() if first else self._send_again(self.left))
        left = not_applied(results)
        if not left:
            self.dismiss("sent")
            return
        self.left = left
        self.phase = "failed"
        sent = len(results) - len(left)
        body = Text(f"{sent} sent. {len(left)} not applied:" if first or sent else f"{len(left)} still not applied:")
        for result in left:
            if result.outcome == Outcome.UNKNOWN:
                body.append(f"\n? {_name(result)}: the answer was lost, it may have been applied")
            else:
                detail = clean(result.detail or "failed", multiline=False)
                word = "not sent" if result.outcome == NOT_SENT else "failed"
                body.append(f"\n✘ {_name(result)}: {word}: {detail}")
        body.append("\nSend again (s), quit without it (d: nothing more is sent), or stay (esc)?")
        self.query_one("#quit-body", Static).update(body)
        self.query_one("#quit-status").display = False
        self.query_one(".dialog-title", Label).update("Not everything was sent")
        self.query_one("#send", Button).label = "Send again  s"
        self.query_one("#drop", Button).label = "Quit without it  d"
        for button in self.query(Button):
            button.disabled = False
        self.query_one("#stay", Button).focus()

    def _status(self, message: str, *, error: bool) -> None:
        status = self.query_one("#quit-status", Static)
        status.display = True
        status.update(Text(message))
        status.set_class(error, "-error")
