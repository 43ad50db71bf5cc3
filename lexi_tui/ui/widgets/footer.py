"""The key footer, recomposed only when what it shows changes.

Textual's `Footer` rebuilds all of its key widgets on every `refresh_bindings()`, and the
screen asks for that after each approve, dismiss and focus change. Each rebuild mounts a
dozen widgets and restyles them: measured at ~9 ms each, it was most of the event-loop time
of a fast triage run (500 approvals cost 168 s, with stalls of 2 s). The keys shown rarely
change, so this footer compares what it would show with what it shows and skips the rebuild
when they are the same.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.screen import Screen
from textual.widgets import Footer


class QuietFooter(Footer):
    """A `Footer` that skips rebuilds which would show the same keys."""

    _shown: Hashable | None = None

    def _what_it_shows(self, screen: Screen) -> Hashable:
        """Key, label, enabled and tooltip of every shown binding, in order, plus the style."""
        app = self.app
        return (
            self.compact,
            self.show_command_palette,
            tuple(
                (binding.action, app.get_key_display(binding), binding.description, enabled, tooltip)
                for (_node, binding, enabled, tooltip) in screen.active_bindings.values()
                if binding.show or binding.action == "command_palette"
            ),
        )

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            shown = self._what_it_shows(screen)
            if shown == self._shown:
                return
            self._shown = shown
            self.call_after_refresh(self.recompose)
