"""A bulk run over the marked tasks: one confirmation, progress, cancel, then a summary.

The confirmation says what the run does and costs: how many tasks of each type, the campaigns
it starts by name with their contacts, how long it takes and how much of today's quota it
uses (and, when that is more than today has left, that it will stop short: it asks again).
Only `y` (or the button) starts the run; Enter only closes the summary. The run paces itself
inside the rate limit (`lexi_tui.core.bulk.run_bulk` waits for the reset rather than
collecting 429s, and the wait counts down here). Esc during the run cancels what is not yet
sent, and `q` is held back until it has stopped; the summary names each task: which failed
and why, whose answer was lost, which were already handled, not found or not sent, which
succeeded.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Label, ProgressBar, Static

from lexi_tui.api.models import Task
from lexi_tui.api.text import clean
from lexi_tui.core.actions import ActionTarget, TaskResult, past
from lexi_tui.core.bulk import BulkSummary, run_bulk
from lexi_tui.core.outcomes import LOST_HINT, NOT_FOUND_TEXT

if TYPE_CHECKING:
    from lexi_tui.core.budget import Estimate

SHOWN_DESCRIPTION = 50
SHOWN_CAMPAIGNS = 3


def _name(task: Task, width: int = SHOWN_DESCRIPTION) -> str:
    text = clean(task.description or f"{task.type} {task.display_id}", multiline=False)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _was(n: int) -> str:
    return f"{n} was" if n == 1 else f"{n} were"


def contacts(task: Task) -> int | None:
    """A campaign_start's `contact_count`, when its metadata has a whole number there."""
    metadata = task.metadata if isinstance(task.metadata, dict) else {}
    count = metadata.get("contact_count")
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


def campaigns_line(tasks: list[Task]) -> str | None:
    """"3 campaign_start: 'Q2 Outreach' (150 contacts), … — 410 contacts in all", or None."""
    campaigns = [task for task in tasks if str(task.type) == "campaign_start"]
    if not campaigns:
        return None
    named: list[str] = []
    for task in campaigns[:SHOWN_CAMPAIGNS]:
        metadata = task.metadata if isinstance(task.metadata, dict) else {}
        title = metadata.get("campaign_name")
        label = f"'{clean(title, multiline=False)[:40]}'" if isinstance(title, str) and title else _name(task, 40)
        count = contacts(task)
        named.append(f"{label} ({count:,} contacts)" if count is not None else label)
    if len(campaigns) > SHOWN_CAMPAIGNS:
        named.append(f"and {len(campaigns) - SHOWN_CAMPAIGNS} more")
    counts = [contacts(task) for task in campaigns]
    known = [c for c in counts if c is not None]
    total = ""
    if known and len(campaigns) > 1:
        total = f" — {sum(known):,} contacts in all" + ("" if len(known) == len(campaigns) else " (that say how many)")
    return f"{len(campaigns)} campaign_start: {', '.join(named)}{total}: real people will be contacted."


def describe(summary: BulkSummary, verb: str, stopped_because: str | None = None) -> str:
    """The run's outcome in sentences (ids as shown, never raw): what was done, what was not.

    Args:
        stopped_because: why the run was stopped from outside the sender (the undo journal
            refused a send), when it was.
    """
    sentences = [f"{past(verb).capitalize()} {len(summary.succeeded)} of {_count(summary.total, 'task')}."]
    if summary.already_handled:
        sentences.append(f"{_was(len(summary.already_handled))} already handled elsewhere.")
    if summary.not_found:
        sentences.append(f"{_was(len(summary.not_found))} {NOT_FOUND_TEXT}.")
    if summary.unknown:
        sentences.append(f"{_count(len(summary.unknown), 'answer')} {'was' if len(summary.unknown) == 1 else 'were'} "
                         f"lost and could not be read back: {LOST_HINT}.")
    if summary.failed:
        sentences.append(f"{len(summary.failed)} failed.")
    if summary.not_sent:
        if summary.stop is not None:
            why = f"the run stopped: {clean(summary.stop.reason, multiline=False)}"
        elif stopped_because:
            why = f"the run stopped: {clean(stopped_because, multiline=False)}"
        else:
            why = "the run was cancelled"
        sentences.append(f"{_was(len(summary.not_sent))} not sent because {why}.")
    if summary.waited >= 1:
        sentences.append(f"Waited {summary.waited:.0f} s for the rate limit.")
    if summary.unrecorded:
        sentences.append(f"{_count(len(summary.unrecorded), 'action')} reached the server but could not be "
                         f"recorded in the history ({summary.history_error}).")
    return " ".join(sentences)


def summary_text(summary: BulkSummary, *, retry: str = "run", verb: str | None = None,
                 stopped_because: str | None = None) -> Text:
    """The run's outcome, then every task by name: failed (and why) first, then those whose
    answer was lost, already handled, not found, not sent and succeeded. Plain `Text`:
    descriptions and messages are server text. `retry` names the action that retries what
    stays marked ("approve"); `verb` the action as the person reads it ("reject")."""
    details = Text(describe(summary, verb or summary.action, stopped_because))
    for task, message in summary.failed:
        details.append(f"\n✘ {_name(task)} — {clean(message, multiline=False)}", style="bold")
    for task, _message in summary.unknown:
        details.append(f"\n? may have been applied: {_name(task)} — check it before sending again", style="bold")
    for result in summary.results:
        if result.outcome == "already_handled":
            why = f" — {clean(result.detail, multiline=False)}" if result.detail else ""
            details.append(f"\n• already handled: {_name(result.task)}{why}")
    for task in summary.not_found:
        details.append(f"\n• not found: {_name(task)}")
    for task in summary.not_sent:
        details.append(f"\n– not sent: {_name(task)}", style="dim")
    for task in summary.succeeded:
        details.append(f"\n✔ {_name(task)}")
    kept = len(summary.failed) + len(summary.not_sent) + len(summary.unknown)
    if kept:
        details.append(
            f"\n{'That task stays' if kept == 1 else f'Those {kept} tasks stay'} marked: "
            f"{retry} again to retry.",
            style="italic",
        )
    return details


class BulkDialog(ModalScreen[BulkSummary | None]):
    """Returns the run's summary, or None when the user said no before it started."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "primary", "Start / close", id="bulk.primary", priority=True),
        # Enter only closes the summary: a second Enter after choosing a dismiss reason must
        # not start a run over every marked task. Priority, so a focused button cannot either.
        Binding("enter", "close", "Close", show=False, id="bulk.close", priority=True),
        Binding("escape,n", "secondary", "Cancel", id="bulk.cancel"),
        # Quitting mid-run would cut the request in flight off from its history line.
        Binding("q", "quit_guarded", "Quit", show=False, id="bulk.quit"),
    ]

    def __init__(self, tasks: list[Task], action: str, *, reason: str | None, label: str, profile: str,
                 target: ActionTarget, on_result: Callable[[TaskResult], object | Awaitable[object]] | None = None,
                 estimate: Estimate | None = None, cancel: asyncio.Event | None = None,
                 stopped_because: Callable[[], str | None] | None = None) -> None:
        """
        Args:
            tasks: the marked tasks.
            action: "approve" or "dismiss".
            reason: the dismiss reason, sent with each.
            label: the action as the person reads it ("Approve", "Reject").
            profile: recorded in each history line.
            target: what the run sends through (the screen's journalled provider).
            on_result: each task's result, after its history line is written.
            estimate: what the run costs of today's quota (None: not known).
            cancel: set to stop before the next send (the dialog's Esc sets it too).
            stopped_because: why `cancel` was set by something else than Esc (the journal).
        """
        super().__init__()
        self.tasks = tasks
        self.action = action
        self.reason = reason
        self.label = label
        self.profile = profile
        self.target = target
        self.on_result = on_result
        self.estimate = estimate
        self.phase = "confirm"
        self.summary: BulkSummary | None = None
        self._cancel = cancel if cancel is not None else asyncio.Event()
        self._stopped_because = stopped_because
        self._wait_until: float | None = None
        self._wait_timer: Timer | None = None

    @property
    def over_quota(self) -> bool:
        """The run needs more calls than today has left (it will stop when they run out)."""
        return self.estimate is not None and not self.estimate.fits

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"{self.label} {len(self.tasks)} marked task{'s' if len(self.tasks) != 1 else ''}?", classes="dialog-title")
            yield Static(self._body(warn=True), classes="dialog-subject", id="bulk-body")
            yield ProgressBar(total=len(self.tasks), show_eta=False, id="bulk-progress")
            yield Static("", id="bulk-status")
            yield VerticalScroll(Static("", id="bulk-summary"), id="bulk-summary-scroll")
            with Horizontal(classes="dialog-buttons"):
                start = "Start anyway" if self.over_quota else f"{self.label} all"
                yield Button(f"{start}  y", variant="warning", id="bulk-start", compact=True)
                yield Button("Cancel  esc", id="bulk-stop", compact=True)

    def _body(self, *, warn: bool) -> Text:
        """How many of each type, the reason, the campaigns (before an approve), the cost."""
        kinds = Counter(str(task.type) for task in self.tasks)
        body = Text(", ".join(f"{count} {kind}" for kind, count in kinds.most_common()))
        if self.reason:
            body.append(f"\nReason: {clean(self.reason, multiline=False)}")
        if not warn:
            return body
        campaigns = campaigns_line(self.tasks) if self.action == "approve" else None
        if campaigns:
            body.append(f"\n{campaigns}", style="bold")
        if self.estimate is not None:
            body.append(f"\n{self.estimate.describe(time.time())}")
            if self.over_quota:
                body.append("\nIt would use more calls than today has left: the run stops when they run out, "
                            "and the rest stays marked. Start anyway?", style="bold")
        body.append("\nSent one at a time, at once: a bulk run has no undo window.", style="dim")
        return body

    def on_mount(self) -> None:
        self.query_one("#bulk-progress").display = False
        self.query_one("#bulk-status").display = False
        self.query_one("#bulk-summary-scroll").display = False

    def action_primary(self) -> None:
        if self.phase == "confirm":
            self._begin()
        elif self.phase == "done":
            self.dismiss(self.summary)

    def action_close(self) -> None:
        if self.phase == "done":
            self.dismiss(self.summary)

    async def action_quit_guarded(self) -> None:
        if self.phase == "running":
            self.notify("A bulk run is under way: press esc to stop it, then quit.", severity="warning", timeout=4,
                        markup=False)
            return
        await self.app.action_quit()

    def action_secondary(self) -> None:
        if self.phase == "confirm":
            self.dismiss(None)
        elif self.phase == "running":
            self._cancel.set()
            self._status("Cancelling: tasks not yet sent will not be sent…")
        else:
            self.dismiss(self.summary)

    @on(Button.Pressed, "#bulk-start")
    def _start_pressed(self) -> None:
        self.action_primary()

    @on(Button.Pressed, "#bulk-stop")
    def _stop_pressed(self) -> None:
        self.action_secondary()

    def _begin(self) -> None:
        self.phase = "running"
        self.query_one("#bulk-progress").display = True
        self.query_one("#bulk-status").display = True
        self.query_one("#bulk-start", Button).display = False
        self.query_one("#bulk-stop", Button).label = "Stop  esc"
        self._run()

    # -- waiting for the rate limit: a countdown -------------------------------------------

    def _waiting(self, seconds: float) -> None:
        self._wait_until = time.monotonic() + seconds
        self._wait_tick()
        if self._wait_timer is None:
            self._wait_timer = self.set_interval(1.0, self._wait_tick)

    def _wait_tick(self) -> None:
        if self._wait_until is None:
            return
        left = self._wait_until - time.monotonic()
        if left <= 0 or self._cancel.is_set():
            self._stop_waiting()
            return
        self._status(f"Waiting for the rate limit: {math.ceil(left)} s (the run waits for the reset "
                     "instead of collecting 429s)…")

    def _stop_waiting(self) -> None:
        self._wait_until = None
        if self._wait_timer is not None:
            self._wait_timer.stop()
            self._wait_timer = None

    @work(exclusive=True, group="bulk")
    async def _run(self) -> None:
        progress = self.query_one("#bulk-progress", ProgressBar)

        def on_progress(done: int, total: int, task: Task, outcome: str) -> None:
            self._stop_waiting()
            progress.update(progress=done)
            self._status(f"{done}/{total}: {outcome.replace('_', ' ')} · {_name(task, 60)}")

        summary = await run_bulk(
            self.target,
            self.tasks,
            self.action,
            reason=self.reason,
            source="bulk",
            profile=self.profile,
            on_progress=on_progress,
            on_result=self.on_result,
            on_wait=self._waiting,
            cancel=self._cancel,
        )
        self._stop_waiting()
        self.summary = summary
        self.phase = "done"
        self.query_one("#bulk-status").display = False
        self.query_one("#bulk-body", Static).update(self._body(warn=False))  # Done: no "will" any more.
        verb = self.label.lower()
        why = self._stopped_because() if self._stopped_because is not None else None
        self.query_one("#bulk-summary", Static).update(summary_text(summary, retry=verb, verb=verb, stopped_because=why))
        self.query_one("#bulk-summary-scroll").display = True
        self.query_one("#bulk-stop", Button).label = "Close  ⏎"
        self.query_one(".dialog-title", Label).update(f"{self.label}: done")

    def _status(self, message: str) -> None:
        self.query_one("#bulk-status", Static).update(Text(message))
