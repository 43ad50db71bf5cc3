"""Auto-approve/dismiss rules inside the app: run on each refresh, logged, pausable.

Mixed into `MainScreen`. Each decision is one line in the rules log (and one entry in
the audit log, with source `rule:<name>`). `p` pauses the rules; `R` is a dry run that
shows what they would do to the current queue without sending anything.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Log, Static

from lexi_tui.api.models import Task
from lexi_tui.api.text import clean
from lexi_tui.core.rules import Decision, Rule, evaluate

if TYPE_CHECKING:
    from lexi_tui.ui.main.screen import MainScreen

MAX_ATTEMPTS = 3
"""A rule's action that failed this often is left for a person (as `lexi-tui watch` does)."""


class DryRunScreen(ModalScreen[None]):
    """What the rules would do to the queue now; nothing is sent from here."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,R", "close", "Close", id="rules.dry_run_close")]

    def __init__(self, decisions: list[Decision], rules: list[Rule], queue_size: int) -> None:
        super().__init__()
        self.decisions = decisions
        self.rules = rules
        self.queue_size = queue_size

    def compose(self) -> ComposeResult:
        body = Text()
        if not self.rules:
            body.append("No rules are configured. Add [[rules]] tables to config.toml (see the README).")
        elif not self.decisions:
            body.append(f"None of the {len(self.rules)} rule(s) matches any of the {self.queue_size} pending tasks.")
        for decision in self.decisions:
            body.append("would " + clean(decision.explanation, multiline=False) + "\n")
        with VerticalScroll(id="dialog", classes="dialog"):
            yield Label(f"Rules dry run: {len(self.decisions)} of {self.queue_size} tasks would be acted on", classes="dialog-title")
            yield Static(body)
            yield Static(Text("Nothing was sent. campaign_start is never auto-approved unless a rule names it.", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


class RuleActions:
    """The rules half of the main screen."""

    rules: list[Rule]
    rules_paused: bool

    def rules_log(self: MainScreen, line: str) -> None:
        log = self.query_one("#rules-log", Log)
        log.write_line(clean(line, multiline=False))

    def apply_rules(self: MainScreen, pending: list[Task]) -> None:
        """Called after each refresh of the queue: act on what the rules match."""
        if not self.rules or self.rules_paused:
            return
        attempts = _attempts(self)
        decisions = evaluate(
            self.rules,
            [task for task in pending if task.id not in self.inflight and attempts.get(task.id, 0) < MAX_ATTEMPTS],
        )
        if not decisions:
            return
        for decision in decisions:
            self.inflight[decision.task.id] = f"rule:{decision.action}"
            self.table.mark_busy(decision.task.id, f"rule: {decision.action}…")
        self._run_rules(decisions, _cancel_event(self))

    @work(group="rules")
    async def _run_rules(self: MainScreen, decisions: list[Decision], cancel: asyncio.Event) -> None:
        """Send the decisions one by one; pausing the rules (`cancel`) stops what is not sent."""
        from lexi_tui.core.bulk import run_bulk

        provider = self.app.provider  # type: ignore[attr-defined]
        attempts = _attempts(self)
        done: set[str] = set()
        try:
            for position, decision in enumerate(decisions):
                task = decision.task
                if cancel.is_set():
                    left = len(decisions) - position
                    self.rules_log(f"rules paused: {left} decision(s) not sent")
                    break
                try:
                    summary = await run_bulk(
                        provider, [task], decision.action, reason=decision.reason,
                        comment=decision.explanation, source=decision.source, cancel=cancel,
                        profile=self.app.settings.profile,  # type: ignore[attr-defined]
                    )
                finally:
                    self.inflight.pop(task.id, None)
                    self.table.mark_busy(task.id, None)
                if summary.succeeded:
                    done.add(task.id)
                    self.rules_log(f"✔ {decision.explanation}")
                    if decision.action == "approve" and self.capabilities.executing_view:
                        self.executing[task.id] = task
                elif summary.already_handled:
                    done.add(task.id)
                    self.rules_log(f"• already handled elsewhere: {task.description[:60]}")
                elif summary.not_sent:  # Paused while waiting for the rate limit: nothing was sent.
                    self.rules_log(f"rules paused: {len(decisions) - position} decision(s) not sent")
                    break
                else:
                    why = summary.failed[0][1] if summary.failed else "not sent"
                    attempts[task.id] = attempts.get(task.id, 0) + 1
                    self.rules_log(f"✘ {decision.action} failed for {task.description[:50]}: {why}")
                    if attempts[task.id] >= MAX_ATTEMPTS:
                        self.rules_log(
                            f"  failed {MAX_ATTEMPTS} times: left for you to handle "
                            "(the rules will not try it again this session)"
                        )
                    self.table.mark_error(task.id, f"rule {decision.action} failed")
        finally:
            for decision in decisions:  # Those not reached (paused, or the worker cancelled).
                if self.inflight.get(decision.task.id, "").startswith("rule:"):
                    self.inflight.pop(decision.task.id, None)
                    self.table.mark_busy(decision.task.id, None)
        queue = self.views[0]
        self._store(queue, [t for t in self.lists.get(queue, []) if t.id not in done])

    def action_toggle_rules(self: MainScreen) -> None:
        from lexi_tui.ui.widgets.status_bar import StatusBar

        if not self.rules:
            self.notify("No rules are configured ([[rules]] in config.toml).", timeout=3)
            return
        self.rules_paused = not self.rules_paused
        if self.rules_paused:
            _cancel_event(self).set()  # A run in progress stops before its next send.
            self._rules_cancel = asyncio.Event()  # type: ignore[attr-defined]  # For runs after resuming.
        self.query_one(StatusBar).rules = "paused" if self.rules_paused else "on"
        self.rules_log("rules paused: nothing is acted on automatically" if self.rules_paused else "rules resumed")
        if not self.rules_paused:
            self.apply_rules(self.lists.get(self.views[0], []))

    def action_rules_dry_run(self: MainScreen) -> None:
        pending = [t for t in self.lists.get(self.views[0], []) if t.id not in self.inflight]
        decisions = evaluate(self.rules, pending) if self.rules else []
        self.app.push_screen(DryRunScreen(decisions, self.rules, len(pending)))


def _attempts(screen: object) -> dict[str, int]:
    """Task id -> failed rule actions this session (kept on the screen)."""
    found = getattr(screen, "_rule_attempts", None)
    if found is None:
        found = {}
        screen._rule_attempts = found
    return found


def _cancel_event(screen: object) -> asyncio.Event:
    """The event that stops the rules runs in progress; set when the rules are paused."""
    found = getattr(screen, "_rules_cancel", None)
    if found is None:
        found = asyncio.Event()
        screen._rules_cancel = found
    return found


def rules_log_widget() -> Log:
    log = Log(id="rules-log", max_lines=500, auto_scroll=True)
    # Lines longer than the pane are cut rather than given a sideways scrollbar, which would
    # take one of the log's three lines; the whole explanation is in the history (`h`).
    log.styles.overflow_x = "hidden"
    return log
