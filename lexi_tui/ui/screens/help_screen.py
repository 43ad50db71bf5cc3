"""`?`: every key the app answers to, with the keys actually bound after remapping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from lexi_tui.ui.keys import format_keys


class HelpScreen(ModalScreen[None]):
    """A scrollable table of key, action and binding id (for the `[keymap]` config)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close", id="help.close"),
    ]

    def __init__(self, sections: Iterable[tuple[str, Iterable[Binding]]], keymap: dict[str, str], notes: list[str]) -> None:
        super().__init__()
        self._sections = [(title, list(bindings)) for title, bindings in sections]
        self._keymap = keymap
        self._notes = notes

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold", expand=True)
        table.add_column("Key", no_wrap=True)
        table.add_column("Action")
        table.add_column("Binding id (remap in config.toml)", style="dim", no_wrap=True)
        for title, bindings in self._sections:
            table.add_row(Text(title, style="bold underline"), "", "")
            for binding in bindings:
                keys = self._keymap.get(binding.id or "", binding.key)
                table.add_row(Text(format_keys(keys)), Text(binding.tooltip or binding.description or binding.action), Text(binding.id or ""))
            table.add_row("", "", "")
        with VerticalScroll(id="dialog", classes="dialog help"):
            yield Label("Keys", classes="dialog-title")
            yield Static(table)
            for note in self._notes:
                yield Static(Text(note, style="dim"))
            yield Static(Text("Esc, q or ? closes this help.", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
