"""Quitting while actions wait in their undo window: send them now, drop them, or stay."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class QuitDialog(ModalScreen[str | None]):
    """Returns "send", "drop", or None to stay. Nothing is dropped without this answer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "answer('send')", "Send now", id="quit.send"),
        Binding("d", "answer('drop')", "Drop", id="quit.drop"),
        Binding("escape,n", "answer(None)", "Stay", id="quit.stay"),
    ]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def compose(self) -> ComposeResult:
        noun = "action is" if self.count == 1 else "actions are"
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Quit lexi-tui?", classes="dialog-title")
            yield Static(
                f"{self.count} {noun} still in the undo window and not sent yet. "
                "Send them now before quitting, or drop them (they are never sent)?",
                classes="dialog-subject",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send now  s", variant="primary", id="send", compact=True)
                yield Button("Drop  d", variant="error", id="drop", compact=True)
                yield Button("Stay  esc", id="stay", compact=True)

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def action_answer(self, answer: str | None) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "stay" else event.button.id)
