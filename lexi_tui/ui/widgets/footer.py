"""The key footer: what fits the width, `? Help` and `q Quit` always; recomposed only when what
it shows changes.

Textual's `Footer` lays out every shown binding in a row and lets the ones that do not fit
fall off the right edge: at 80 columns that was `? Help` and `q Quit`, the two keys a person
new to the app looks for. This footer measures the keys and, when they do not fit, leaves out
the least useful first: keys that are greyed out (nothing to undo, no task selected), then by
`PRIORITY` (Mark and Chat go before Undo, Undo before Approve and Dismiss; the chat's own keys
outrank the list's while the chat is open), then those of widgets further from the focus.
Help, Quit and the command palette (`^p`, where every action is listed by name) always stay.
Below 110 columns it uses Textual's compact style (one cell less per key).

Textual's `Footer` also rebuilds all of its key widgets on every `refresh_bindings()`, and the
screen asks for that after each approve, dismiss and focus change. Each rebuild mounts a dozen
widgets and restyles them: measured at ~9 ms each, it was most of the event-loop time of a fast
triage run (500 approvals cost 168 s, with stalls of 2 s). This footer compares what it would
show with what it shows and skips the rebuild when they are the same.

Assumption: the app defines no binding groups (`Binding.group`), so every key is shown on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEPT_ACTIONS = frozenset({"app.help", "app.quit", "help", "quit"})
"""Never left out of the footer (bindings on the app: "help" and "quit")."""
PRIORITY: dict[str, int] = {
    "card('approve')": 4, "card('dismiss')": 4, "show_all": 4,
    "approve": 3, "dismiss_task": 3, "close": 3,
    "undo": 2, "add_task": 2,
}
"""Higher stays longer when the footer is too narrow; an action not listed is 1."""
COMPACT_BELOW = 110
"""Columns of the terminal under which the footer uses the compact style."""


@dataclass(frozen=True)
class Shown:
    """One key of the footer, as it would be drawn."""

    key: str
    key_display: str
    description: str
    action: str
    enabled: bool
    tooltip: str
    depth: int
    """How far from the focused widget the binding's node is (0: the focused widget itself)."""


def key_width(item: Shown, compact: bool) -> int:
    """Cells a `FooterKey` takes (Textual's default footer CSS, non-grouped keys)."""
    description = cell_len(item.description)
    key = cell_len(item.key_display)
    if compact:  # key padding 0, description padding-left 1, margin-right 1
        return key + (1 + description if description else 0) + 1
    return key + 2 + (description + 1 if description else 0)  # key padding 0 1, description padding-right 1


def palette_width(key_display: str, description: str, compact: bool) -> int:
    """Cells of the command-palette key (docked right, with a border on its left)."""
    if compact:  # border, key (padding 0), description (padding-left 1), padding-right 0
        return 1 + cell_len(key_display) + 1 + cell_len(description)
    return 1 + cell_len(key_display) + 2 + cell_len(description) + 1 + 1


def fit(items: list[Shown], width: int, compact: bool, reserved: int = 0) -> list[Shown]:
    """The items that fit `width` cells (minus `reserved`), in their order.

    Left out first: disabled keys, then the furthest from the focus, then the last in the
    row. Keys in `KEPT_ACTIONS` are never left out.

    Args:
        items: the keys in the order the footer shows them.
        width: the footer's width in cells.
        compact: whether keys are drawn compact.
        reserved: cells taken by the command-palette key.
    """
    kept = list(items)
    room = width - reserved

    def used() -> int:
        return sum(key_width(item, compact) for item in kept)

    order = sorted(
        (item for item in items if item.action not in KEPT_ACTIONS),
        key=lambda item: (item.enabled, PRIORITY.get(item.action, 1), -item.depth, -items.index(item)),
    )
    for item in order:
        if used() <= room:
            break
        kept.remove(item)
    return kept


class QuietFooter(Footer):
    """A `Footer` that keeps Help and Quit in view and skips rebuilds showing the same keys."""

    _shown: Hashable | None = None

    def _items(self, screen: Screen) -> list[Shown]:
        """Every shown binding of the screen, first per action, in Textual's order."""
        app = self.app
        focused = screen.focused
        chain = list(focused.ancestors_with_self) if focused is not None else []
        seen: set[str] = set()
        items: list[Shown] = []
        for node, binding, enabled, tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            depth = chain.index(node) if node in chain else len(chain)
            items.append(Shown(binding.key, app.get_key_display(binding), binding.description, binding.action,
                               enabled, tooltip or "", depth))
        return items

    def _palette(self, screen: Screen) -> tuple[Binding, bool, str] | None:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        found = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        _node, binding, enabled, tooltip = found
        return binding, enabled, tooltip

    def _layout(self, screen: Screen) -> tuple[bool, list[Shown], tuple[Binding, bool, str] | None]:
        """Compact or not, the keys that fit, and the palette key (without its word when even
        Help and Quit would not fit with it)."""
        compact = self.app.size.width < COMPACT_BELOW
        palette = self._palette(screen)
        items = self._items(screen)
        width = self.size.width
        if width <= 0:
            return compact, items, palette
        reserved = 0
        if palette is not None:
            binding = palette[0]
            key = self.app.get_key_display(binding)
            reserved = palette_width(key, binding.description, compact)
            kept = sum(key_width(item, compact) for item in items if item.action in KEPT_ACTIONS)
            if kept + reserved > width:
                palette = (dataclasses.replace(binding, description=""), palette[1], palette[2])
                reserved = palette_width(key, "", compact)
        return compact, fit(items, width, compact, reserved), palette

    def _what_it_shows(self, screen: Screen) -> Hashable:
        compact, items, palette = self._layout(screen)
        return compact, tuple(items), (palette[0].key, palette[0].description, palette[1]) if palette else None

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        compact, items, palette = self._layout(self.screen)
        yield from self._keys(items, compact)
        if palette is not None:
            binding, enabled, tooltip = palette
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            classes="-command-palette", disabled=not enabled,
                            tooltip=binding.tooltip or binding.description).data_bind(compact=Footer.compact)

    def _keys(self, items: Iterable[Shown], compact: bool) -> Iterable[FooterKey]:
        for item in items:
            yield FooterKey(item.key, item.key_display, item.description, item.action, disabled=not item.enabled,
                            tooltip=item.tooltip).data_bind(compact=Footer.compact)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self._recompose_if_changed(screen)

    def _recompose_if_changed(self, screen: Screen) -> None:
        shown = self._what_it_shows(screen)
        if shown == self._shown:
            return
        self._shown = shown
        compact = self.app.size.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact  # Toggles the `-compact` class: Textual's CSS for compact keys.
        self.call_after_refresh(self.recompose)

    def on_resize(self, event: events.Resize) -> None:
        """A new width may fit more keys, or fewer."""
        if self._bindings_ready and self.is_attached:
            self._recompose_if_changed(self.screen)
