"""What the auto-approve rules would do to the queue now; nothing is sent from here."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from lexi_tui.api.text import clean
from lexi_tui.core.rules import Decision, Rule


class DryRunScreen(ModalScreen[None]):
    """The rules' decisions for the current queue, listed, not sent."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,R", "close", "Close", id="rules.dry_run_close")]

    def __init__(self, decisions: list[Decision], rules: list[Rule], queue_size: int) -> None:
        super().__init__()
        self.decisions = decisions
        self.rules = rules
        self.queue_size = queue_size

    def compose(self) -> ComposeResult:
        body = Text()
        if not self.rules:
            body.append("No rules are configured. Add [[rules]] tables to config.toml (see the README).")
        elif not self.decisions:
            body.append(f"None of the {len(self.rules)} rule(s) matches any of the {self.queue_size} pending tasks.")
        for decision in self.decisions:
            body.append("would " + clean(decision.explanation, multiline=False) + "\n")
        with VerticalScroll(id="dialog", classes="dialog"):
            yield Label(f"Rules dry run: {len(self.decisions)} of {self.queue_size} tasks would be acted on",
                        classes="dialog-title")
            yield Static(body)
            yield Static(Text("Nothing was sent. campaign_start is never auto-approved unless a rule names it.",
                              style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
