"""`?`: every key the app answers to, with the keys actually bound after remapping.

The table is laid out for the width it gets: wide, three columns (key, what it does, the
binding id for `[keymap]` in config.toml); narrower than `WIDE` cells, the binding id follows
the description on the same line, so what each key does keeps most of the width (at 80x24 a
line wraps at most once, and at 60x20 nothing is dropped).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from lexi_tui.ui.keys import format_keys
from lexi_tui.ui.text import plain

WIDE = 90
"""Cells from which the binding id gets its own column."""
KEY_WIDTH = 12
"""The key column when narrow ("pageup / ^b" is the longest key; it wraps at the slash)."""


class KeyTable:
    """A Rich renderable: the help's sections, laid out for the width it is given.

    Args:
        sections: (title, [(keys, what it does, binding id)]).
        styles: Rich styles for "title", "id" and "key", from the screen's component classes.
    """

    def __init__(self, sections: list[tuple[str, list[tuple[str, str, str]]]], styles: dict[str, object]) -> None:
        self.sections = sections
        self.styles = styles

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.max_width >= WIDE
        title, id_style, key_style = (self.styles.get(name, "") for name in ("title", "id", "key"))
        table = Table(box=None, padding=(0, 1), show_header=wide, header_style="bold", expand=True,
                      pad_edge=False)
        key_width = max((len(keys) for _, rows in self.sections for keys, _, _ in rows), default=4)
        table.add_column("Key", no_wrap=wide, width=min(key_width, 16) if wide else min(key_width, KEY_WIDTH),
                         style=key_style)  # type: ignore[arg-type]
        table.add_column("What it does", ratio=1)
        if wide:
            table.add_column("Binding id", no_wrap=True, style=id_style)  # type: ignore[arg-type]
        for name, rows in self.sections:
            table.add_row(Text(name, style=title), *([""] * (2 if wide else 1)))  # type: ignore[arg-type]
            for keys, does, binding_id in rows:
                action = plain(does)
                if wide:
                    table.add_row(Text(keys), action, Text(binding_id))
                else:
                    if binding_id:
                        action.append(f"  {binding_id}", id_style)  # type: ignore[arg-type]
                    table.add_row(Text(keys), action)
            table.add_row("", *([""] * (2 if wide else 1)))
        yield table


class HelpScreen(ModalScreen[None]):
    """A scrollable table of key, action and binding id (for the `[keymap]` config)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close", id="help.close"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"help--title", "help--id", "help--key"}

    def __init__(self, sections: Iterable[tuple[str, Iterable[Binding]]], keymap: dict[str, str], notes: list[str]) -> None:
        super().__init__()
        self._sections = [(title, list(bindings)) for title, bindings in sections]
        self._keymap = keymap
        self._notes = notes

    def rows(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """The sections as (title, [(keys as a person reads them, what it does, binding id)])."""
        out = []
        for title, bindings in self._sections:
            rows = []
            for binding in bindings:
                keys = self._keymap.get(binding.id or "", binding.key)
                rows.append((format_keys(keys), binding.tooltip or binding.description or binding.action, binding.id or ""))
            out.append((title, rows))
        return out

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="dialog help"):
            yield Label("Keys", classes="dialog-title")
            yield Static(Text("Remap a key in config.toml: [keymap] \"binding id\" = \"keys\". "
                              "Every action is also in the command palette (ctrl+p)."), classes="help-note")
            yield Static(id="help-keys")
            for note in self._notes:
                yield Static(plain(note), classes="help-note")
            yield Static(Text("Esc, q or ? closes this help."), classes="help-note")

    def on_mount(self) -> None:
        styles = {name: self.get_component_rich_style(f"help--{name}", partial=True) for name in ("title", "id", "key")}
        self.query_one("#help-keys", Static).update(KeyTable(self.rows(), dict(styles)))

    def action_close(self) -> None:
        self.dismiss(None)
