"""A bulk run over the marked tasks: one confirmation, progress, cancel, then a summary.

Only `y` (or the button) starts the run; Enter only closes the summary. The run paces
itself inside the rate limit (`lexi_tui.core.bulk.run_bulk` waits for the reset rather than
collecting 429s). Esc during the run cancels what is not yet sent, and `q` is held back
until it has stopped; the summary names each task: which failed and why, which were
already handled or not sent, which succeeded.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, ProgressBar, Static

from lexi_tui.api.models import Task
from lexi_tui.api.text import clean
from lexi_tui.core.bulk import ALREADY_HANDLED, BulkSummary, run_bulk
from lexi_tui.providers.base import Provider

SHOWN_DESCRIPTION = 50


def summary_text(summary: BulkSummary, *, retry: str = "run") -> Text:
    """The run's outcome, then every task by name: failed (and why) first, then already
    handled, not sent and succeeded. Plain `Text`: descriptions and messages are server text.
    `retry` names the action that retries what stays marked ("approve")."""
    details = Text(summary.describe(itemise=False))
    for task, message in summary.failed:
        details.append(f"\n✘ {_name(task)} — {clean(message, multiline=False)}", style="bold")
    for result in summary.results:
        if result.outcome == ALREADY_HANDLED:
            why = f" — {clean(result.detail, multiline=False)}" if result.detail else ""
            details.append(f"\n• already handled: {_name(result.task)}{why}")
    for task in summary.not_sent:
        details.append(f"\n– not sent: {_name(task)}", style="dim")
    for task in summary.succeeded:
        details.append(f"\n✔ {_name(task)}")
    kept = len(summary.failed) + len(summary.not_sent)
    if kept:
        details.append(
            f"\n{'That task stays' if kept == 1 else f'Those {kept} tasks stay'} marked: "
            f"{retry} again to retry.",
            style="italic",
        )
    return details


def _name(task: Task) -> str:
    text = clean(task.description or f"{task.type} {task.id}", multiline=False)
    return text if len(text) <= SHOWN_DESCRIPTION else text[: SHOWN_DESCRIPTION - 1].rstrip() + "…"


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
                 provider: Provider) -> None:
        super().__init__()
        self.tasks = tasks
        self.action = action
        self.reason = reason
        self.label = label
        self.profile = profile
        self.provider = provider
        self.phase = "confirm"
        self.summary: BulkSummary | None = None
        self._cancel = asyncio.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"{self.label} {len(self.tasks)} marked task{'s' if len(self.tasks) != 1 else ''}?", classes="dialog-title")
            yield Static(self._body(warn=True), classes="dialog-subject", id="bulk-body")
            yield ProgressBar(total=len(self.tasks), show_eta=False, id="bulk-progress")
            yield Static("", id="bulk-status")
            yield VerticalScroll(Static("", id="bulk-summary"), id="bulk-summary-scroll")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.label} all  y", variant="warning", id="bulk-start", compact=True)
                yield Button("Cancel  esc", id="bulk-stop", compact=True)

    def _body(self, *, warn: bool) -> Text:
        """How many of each type, the reason, and (before an approve) who gets contacted."""
        kinds = Counter(str(task.type) for task in self.tasks)
        body = Text(", ".join(f"{count} {kind}" for kind, count in kinds.most_common()))
        if self.reason:
            body.append(f"\nReason: {self.reason}")
        campaigns = kinds.get("campaign_start", 0)
        if warn and self.action == "approve" and campaigns:
            noun = "task starts a campaign" if campaigns == 1 else "tasks start campaigns"
            body.append(f"\n{campaigns} campaign_start {noun}: real people will be contacted.", style="bold")
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
            self.notify("A bulk run is under way: press esc to stop it, then quit.", severity="warning", timeout=4)
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

    @work(exclusive=True, group="bulk")
    async def _run(self) -> None:
        progress = self.query_one("#bulk-progress", ProgressBar)

        def on_progress(done: int, total: int, task: Task, outcome: str) -> None:
            progress.update(progress=done)
            self._status(f"{done}/{total}: {outcome.replace('_', ' ')} · {task.description[:60]}")

        def on_wait(seconds: float) -> None:
            self._status(f"Waiting {seconds:.0f} s for the rate limit to reset (no 429s)…")

        summary = await run_bulk(
            self.provider,
            self.tasks,
            self.action,
            reason=self.reason,
            source="bulk",
            profile=self.profile,
            on_progress=on_progress,
            on_wait=on_wait,
            cancel=self._cancel,
        )
        self.summary = summary
        self.phase = "done"
        self.query_one("#bulk-status").display = False
        self.query_one("#bulk-body", Static).update(self._body(warn=False))  # Done: no "will" any more.
        self.query_one("#bulk-summary", Static).update(summary_text(summary, retry=self.label.lower()))
        self.query_one("#bulk-summary-scroll").display = True
        self.query_one("#bulk-stop", Button).label = "Close  ⏎"
        self.query_one(".dialog-title", Label).update(f"{self.label}: done")

    def _status(self, message: str) -> None:
        self.query_one("#bulk-status", Static).update(Text(message))
