"""`SteadyInput`: a Textual `Input` that keeps the keys of a burst in the order they came.

Upstream cause (Textual 8.2.8, `textual/widgets/_input.py` and `textual/app.py`): the app hands
every key from the driver to the focused widget's queue in order (`App.on_event` →
`focused._forward_event`). `Input._on_key` inserts a printable key at once, in its own queue,
but a key it binds (backspace, delete, ←, →, home, end, ctrl+w...) is not handled there: the
`Key` event bubbles, one message queue per ancestor (Input → containers → Screen → App), and
only `App._on_key` → `App._check_bindings` finally runs `Input.action_delete_left`. Meanwhile
the printable keys that followed in the same burst were already inserted. So
`BSpace BSpace BSpace a b c 1` arriving in one read (paste, SSH, a fast typist) runs as
`a b c 1 BSpace BSpace BSpace`: "abc1" is typed and then three of its characters are deleted,
leaving "a" where "abc1" should stand after the deletions. Keys typed 30-50 ms apart are not
reordered (each bubble finishes first), which is why it shows only in bursts.

The work-around: a key that the focused input's binding chain binds (the same chain
`_check_bindings` walks: the input, its containers, the screen, the app) is run here, in the
input's own queue, in the order it arrived; the event is then stopped, so it is not run twice.
Priority bindings never reach here (the app runs them before forwarding the key). A key the
chain does not bind bubbles as before.

A second effect of the same cause: a key that arrives after this input lost focus in the same
burst (`abc<Tab>def`: Tab moves the focus only when it is run, after `def` was already queued
here) belongs to the field that has the focus now; it is passed on to it, but only to another
input of the same screen (never to a list where a letter is a command).

Remove this class once the upstream fix is released (see the lead's report for the bug text).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class SteadyInput(Input):
    """An `Input` whose bound keys (backspace, arrows, ...) keep their place in a burst."""

    async def _on_key(self, event: events.Key) -> None:
        focused = self.screen.focused  # Not `has_focus`: that changes when the Blur event is read, later.
        if focused is not self:
            if isinstance(focused, Input):
                # Typed after a Tab of the same burst: it is the newly focused field's key.
                event.stop()
                event.prevent_default()
                focused.post_message(events.Key(event.key, event.character))
                return
        if event.is_printable:
            await super()._on_key(event)
            return
        active = self.screen.active_bindings.get(event.key)
        if active is None or not active.enabled or active.binding.priority:
            await super()._on_key(event)  # Not bound here (or a priority key): it bubbles as before.
            return
        event.stop()
        event.prevent_default()
        self._restart_blink()
        await self.app.run_action(active.binding.action, active.node)
