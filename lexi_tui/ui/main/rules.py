"""Auto-approve/dismiss rules on the triage screen: run after each refresh, logged, pausable.

Each decision is one line in the rules log (and one entry in the audit log, with source
`rule:<name>`). `p` pauses the rules; `R` is a dry run that shows what they would do to the
current queue without sending anything.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual.widgets import Log

from lexi_tui.api.models import Task
from lexi_tui.api.text import clean
from lexi_tui.core.rules import Decision, Rule, evaluate

if TYPE_CHECKING:
    from lexi_tui.ui.main.screen import MainScreen

MAX_ATTEMPTS = 3
"""A rule's action that failed this often is left for a person (as `lexi-tui watch` does)."""


class RulesPart:
    """The rules part of the triage screen."""

    def __init__(self, screen: MainScreen, rules: list[Rule]) -> None:
        self.screen = screen
        self.state = screen.state
        self.rules = rules

    def log_widget(self) -> Log:
        log = Log(id="rules-log", max_lines=500, auto_scroll=True)
        # Lines longer than the pane are cut rather than given a sideways scrollbar, which would
        # take one of the log's three lines; the whole explanation is in the history (`h`).
        log.styles.overflow_x = "hidden"
        return log

    def mounted(self) -> None:
        self.screen.query_one("#rules-log").display = bool(self.rules)
        if self.rules:
            self.screen.status_bar.rules = "on"
            self.log(f"{len(self.rules)} rule(s) active; p pauses them, R shows a dry run")

    def log(self, line: str) -> None:
        self.screen.query_one("#rules-log", Log).write_line(clean(line, multiline=False))

    def apply(self, pending: list[Task]) -> None:
        """Called after each refresh of the queue: act on what the rules match."""
        state = self.state
        if not self.rules or state.rules_paused:
            return
        attempts = state.rule_attempts
        decisions = evaluate(
            self.rules,
            [task for task in pending if task.id not in state.inflight and attempts.get(task.id, 0) < MAX_ATTEMPTS],
        )
        if not decisions:
            return
        for decision in decisions:
            state.inflight[decision.task.id] = f"rule:{decision.action}"
            self.screen.table.mark_busy(decision.task.id, f"rule: {decision.action}…")
        self.screen.run_worker(self._run(decisions, state.rules_cancel), group="rules")

    async def _run(self, decisions: list[Decision], cancel: asyncio.Event) -> None:
        """Send the decisions one by one; pausing the rules (`cancel`) stops what is not sent."""
        from lexi_tui.core.bulk import run_bulk

        screen, state = self.screen, self.state
        attempts = state.rule_attempts
        done: set[str] = set()
        try:
            for position, decision in enumerate(decisions):
                task = decision.task
                if cancel.is_set():
                    self.log(f"rules paused: {len(decisions) - position} decision(s) not sent")
                    break
                try:
                    result = await run_bulk(
                        screen.provider, [task], decision.action, reason=decision.reason,
                        comment=decision.explanation, source=decision.source, cancel=cancel,
                        profile=screen.lexi.settings.profile,
                    )
                finally:
                    state.inflight.pop(task.id, None)
                    screen.table.mark_busy(task.id, None)
                if result.succeeded:
                    done.add(task.id)
                    self.log(f"✔ {decision.explanation}")
                    if decision.action == "approve" and screen.capabilities.executing_view:
                        state.executing[task.id] = task
                elif result.already_handled:
                    done.add(task.id)
                    self.log(f"• already handled elsewhere: {task.description[:60]}")
                elif result.not_sent:  # Paused while waiting for the rate limit: nothing was sent.
                    self.log(f"rules paused: {len(decisions) - position} decision(s) not sent")
                    break
                else:
                    why = result.failed[0][1] if result.failed else "not sent"
                    attempts[task.id] = attempts.get(task.id, 0) + 1
                    self.log(f"✘ {decision.action} failed for {task.description[:50]}: {why}")
                    if attempts[task.id] >= MAX_ATTEMPTS:
                        self.log(f"  failed {MAX_ATTEMPTS} times: left for you to handle "
                                 "(the rules will not try it again this session)")
                    screen.table.mark_error(task.id, f"rule {decision.action} failed")
        finally:
            for decision in decisions:  # Those not reached (paused, or the worker cancelled).
                if state.inflight.get(decision.task.id, "").startswith("rule:"):
                    state.inflight.pop(decision.task.id, None)
                    screen.table.mark_busy(decision.task.id, None)
        screen.store(state.queue, [t for t in state.pending() if t.id not in done])

    def toggle(self) -> None:
        """Pause or resume the rules (`p`); a run in progress stops before its next send."""
        screen, state = self.screen, self.state
        if not self.rules:
            screen.notify("No rules are configured ([[rules]] in config.toml).", timeout=3)
            return
        state.rules_paused = not state.rules_paused
        if state.rules_paused:
            state.rules_cancel.set()
            state.rules_cancel = asyncio.Event()  # For runs after resuming.
        screen.status_bar.rules = "paused" if state.rules_paused else "on"
        self.log("rules paused: nothing is acted on automatically" if state.rules_paused else "rules resumed")
        if not state.rules_paused:
            self.apply(state.pending())

    def dry_run(self) -> None:
        """`R`: what the rules would do to the queue now; nothing is sent."""
        from lexi_tui.ui.dialogs.rules_dry_run import DryRunScreen

        pending = [t for t in self.state.pending() if t.id not in self.state.inflight]
        decisions = evaluate(self.rules, pending) if self.rules else []
        self.screen.app.push_screen(DryRunScreen(decisions, self.rules, len(pending)))
