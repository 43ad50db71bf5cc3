"""A yes/no question before an action that cannot be taken back (a campaign start, a cancel).

Both buttons say what they do ("Cancel the workflow" / "Keep it"), never two "Cancel"s.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmDialog(ModalScreen[bool]):
    """Returns True only for an explicit yes; Escape, `n` and Cancel all say no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, body: Text | str, yes_label: str = "Yes", no_label: str = "Cancel") -> None:
        """
        Args:
            title: the question.
            body: what answering yes does (plain `Text`: server text is never markup).
            yes_label: the yes button's words (what it does).
            no_label: the no button's words (what not doing it means).
        """
        super().__init__()
        self._title = title
        self._body = body if isinstance(body, Text) else Text(body)
        self._yes = yes_label
        self._no = no_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._body, classes="dialog-subject")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._yes}  y", variant="warning", id="yes", compact=True)
                yield Button(f"{self._no}  n", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # The safe answer has focus.

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
