"""The profile picker: the config's profiles with their provider and host, one to choose.

One person often clears approvals from more than one system, so `P` (or "Switch profile" in
the command palette) opens this list. The switch itself belongs to the app
(`LexiApp.switch_profile`): it closes the current profile's screen and connection and opens
the chosen profile's; actions still in their undo window, or on their way, belong to the
current profile, so the switch waits until they are sent or undone.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from lexi_tui.ui.text import plain


class ProfilePicker(ModalScreen[str | None]):
    """Returns the chosen profile's name, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Cancel", id="profiles.cancel"),
    ]

    def __init__(self, profiles: tuple[Any, ...], current: str) -> None:
        super().__init__()
        self.profiles = profiles
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Switch profile", classes="dialog-title")
            options = []
            for profile in self.profiles:
                host = urlsplit(profile.base_url).netloc or profile.base_url
                line = Text.assemble(plain(profile.name, "bold", single_line=True, limit=100),
                                     plain(f"  {profile.provider}", single_line=True, limit=100),
                                     plain(f"  {host}", "italic", single_line=True, limit=200))
                if profile.name == self.current:
                    line.append("  (current)", style="italic")
                options.append(Option(line, id=profile.name))
            yield OptionList(*options, id="profile-list")
            yield Static(Text("Enter switches; Esc stays here."), classes="help-note")

    def on_mount(self) -> None:
        names = [p.name for p in self.profiles]
        options = self.query_one("#profile-list", OptionList)
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    @on(OptionList.OptionSelected, "#profile-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
