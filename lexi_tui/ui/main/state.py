"""What the triage screen knows, declared once.

The screen's parts (`refresh.py`, `actions.py`, `approvals.py`, `rules.py`) all read and
change this one object; nothing is created on first use, so every piece of state is listed
here with what it means.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from textual.timer import Timer

from lexi_tui.api.models import Task
from lexi_tui.core.journal import HeldAction
from lexi_tui.core.refresh import ConnectionState, Link


@dataclass
class Held:
    """One action on its way: held for its undo window, then sent (see `actions.py`).

    Args:
        action: the journal's record (its `action_id` is this action's key).
        task: the task as the person saw it when they pressed the key.
        label: the row's word while it waits ("approving", "rejecting").
        comment, variables: sent with an approval (providers with a form).
        note: the history line's comment (what the form sent, in words).
    """

    action: HeldAction
    task: Task
    label: str
    comment: str | None = None
    variables: list[dict[str, str]] | None = None
    note: str | None = None
    deadline: float | None = None
    """Monotonic time its window closes (None while paused or not armed yet)."""
    remaining: float = 0.0
    """Seconds left in its window when it was paused (or when it was held)."""
    journalled: bool = False
    """The journal has it (the hold is written); before that, undo only marks it `undone`."""
    undone: bool = False


@dataclass
class TriageState:
    """The screen's state: the lists, what is in flight, and the refresh loop's bookkeeping."""

    views: tuple[str, ...]
    """Status views, the first being the approval queue."""
    view: str
    """The view on screen."""
    lists: dict[str, list[Task]] = field(default_factory=dict)
    """The latest list of each view fetched (a view never fetched is absent)."""
    fetched: dict[str, float] = field(default_factory=dict)
    """View -> when its list was read from the server (the refresh engine's clock). A list
    changed here (a task decided) keeps the time it was read."""

    # -- actions --
    inflight: dict[str, str] = field(default_factory=dict)
    """Task id -> the action held or being sent for it ("approve", "dismiss", "cancel",
    "rule:approve"...): a second press for the same task sends nothing."""
    executing: dict[str, Task] = field(default_factory=dict)
    """Approved tasks followed until they complete or fail."""
    held: dict[str, Held] = field(default_factory=dict)
    """Action id -> an action in its undo window (or being written to the journal), oldest
    first: what `u` takes back, what the quit dialog counts, what the row's countdown shows."""
    hold_timers: dict[str, Timer] = field(default_factory=dict)
    """Held action id -> the timer that sends it when its undo window closes (absent while
    the windows are paused or the hold is still being written)."""
    countdown: Timer | None = None
    """The one 1 s timer that ticks the rows' "approving in 4s" while something is held."""
    windows_paused: bool = False
    """The undo windows are stopped (the quit dialog is open): nothing is sent by a timer."""
    advanced_to: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Task id -> (the task auto-advance moved the cursor to, the table's `user_moves` then):
    a failure moves the cursor back only if the person has not moved it since, so "press the
    key again" retries the task that failed and never hijacks a key meant for another."""
    last_reasons: dict[str, str | None] = field(default_factory=dict)
    """Task id -> the reason of a dismissal that failed after its undo window: offered again."""
    cached_as_of: str | None = None
    """The queue on screen is the list kept from an earlier run, from this time ("14:02"), not
    yet confirmed by the server: nothing on it may be acted on (`MainScreen.refuse_unconfirmed`).
    None once a fresh list of the queue has arrived (or when the app started without one)."""
    select_after_refresh: str | None = None
    """A task Lexi proposed in the chat, to select once a refresh has brought it."""

    # -- live refresh (`refresh.py` hosts the engine; these are what the other parts read) --
    refreshing: bool = False
    """A call of live refresh (the engine's) is in flight."""
    fetched_at: float | None = None
    """When the queue was last read (the engine's clock); None until the first list."""
    connection: ConnectionState | None = None
    """The engine's latest connection state (what the status bar says)."""
    failures: int = 0
    """Refreshes (the engine's calls) failed in a row."""

    # -- rules --
    rules_paused: bool = False
    rules_cancel: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the rules are paused: a run in progress stops before its next send."""

    @property
    def retry_at(self) -> float | None:
        """When live refresh tries again after a failure or a limit (None: it is not waiting)."""
        state = self.connection
        if state is None or state.link in (Link.ONLINE, Link.CONNECTING, Link.SIGNED_OUT):
            return None
        return state.next_at

    @property
    def queue(self) -> str:
        """The approval queue's view (the first)."""
        return self.views[0]

    def pending(self) -> list[Task]:
        """The queue as last fetched."""
        return self.lists.get(self.queue, [])

    def queued(self, task_id: str) -> Task | None:
        """The task with this id in the queue as last fetched, if it is there."""
        return next((task for task in self.pending() if task.id == task_id), None)
