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


@dataclass
class TriageState:
    """The screen's state: the lists, what is in flight, and the refresh loop's bookkeeping."""

    views: tuple[str, ...]
    """Status views, the first being the approval queue."""
    view: str
    """The view on screen."""
    lists: dict[str, list[Task]] = field(default_factory=dict)
    """The latest list of each view fetched (a view never fetched is absent)."""
    fetched_at: float | None = None
    """Wall-clock time of the latest successful refresh."""

    # -- actions --
    inflight: dict[str, str] = field(default_factory=dict)
    """Task id -> the action held or being sent for it ("approve", "dismiss", "cancel",
    "rule:approve"...): a second press for the same task sends nothing."""
    executing: dict[str, Task] = field(default_factory=dict)
    """Approved tasks followed until they complete or fail."""
    hold_timers: dict[str, Timer] = field(default_factory=dict)
    """Held action id -> the timer that sends it when its undo window closes."""
    advanced_to: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Task id -> (the task auto-advance moved the cursor to, the table's `user_moves` then):
    a failure moves the cursor back only if the person has not moved it since, so "press the
    key again" retries the task that failed and never hijacks a key meant for another."""
    last_reasons: dict[str, str | None] = field(default_factory=dict)
    """Task id -> the reason of a dismissal that failed after its undo window: offered again."""
    select_after_refresh: str | None = None
    """A task Lexi proposed in the chat, to select once a refresh has brought it."""

    # -- live refresh --
    refreshing: bool = False
    retry_at: float | None = None
    """When a failed refresh is tried again (wall clock)."""
    failures: int = 0
    """Refreshes failed in a row (for the back-off)."""
    due: bool = False
    """A refresh came due while a dialog was open: run it when the screen is back."""
    refresh_timer: Timer | None = None

    # -- rules --
    rules_paused: bool = False
    rule_attempts: dict[str, int] = field(default_factory=dict)
    """Task id -> failed rule actions this session (3 leave the task to a person)."""
    rules_cancel: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the rules are paused: a run in progress stops before its next send."""

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
