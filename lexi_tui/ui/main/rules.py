"""Auto-approve/dismiss rules on the triage screen: run after each refresh, logged, pausable.

The screen drives one `core.rule_runner.RuleRunner` for its life (the same loop as `lexi-tui
watch`): after each refresh of the queue the runner plans (`plan`, pure), the planned rows are
marked busy, and a worker sends them (`execute`: pacing inside both rate limits, the history
preflight, lost answers settled, the audit line with source `rule:<name>`), each through the
screen's journal (`JournalledTarget`). Each decision is one line in the rules log; an action
that failed 3 times is "left for you" for the rest of the session. `p` pauses the rules (a run
under way stops before its next send); `R` is a dry run that sends nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual.widgets import Log

from lexi_tui.api.models import Task
from lexi_tui.api.text import clean
from lexi_tui.core.actions import TaskResult
from lexi_tui.core.outcomes import Outcome
from lexi_tui.core.rule_runner import RuleRunner
from lexi_tui.core.rules import Decision, Rule
from lexi_tui.ui.main.actions import JournalledTarget

if TYPE_CHECKING:
    from lexi_tui.ui.main.screen import MainScreen


class RulesPart:
    """The rules part of the triage screen."""

    def __init__(self, screen: MainScreen, rules: list[Rule]) -> None:
        self.screen = screen
        self.state = screen.state
        self.rules = rules
        self.target: JournalledTarget | None = None
        self.runner: RuleRunner | None = None
        """Made at mount (it needs the app's profile); one for the screen's life: it holds the
        session's attempt counts ("left for you after 3 failures")."""

    def log_widget(self) -> Log:
        log = Log(id="rules-log", max_lines=500, auto_scroll=True)
        # Lines longer than the pane are cut rather than given a sideways scrollbar, which would
        # take one of the log's three lines; the whole explanation is in the history (`h`).
        log.styles.overflow_x = "hidden"
        return log

    def mounted(self) -> None:
        screen = self.screen
        screen.query_one("#rules-log").display = bool(self.rules)
        if not self.rules:
            return
        self.target = JournalledTarget(screen.actions)
        self.runner = RuleRunner(self.target, self.rules, profile=screen.lexi.settings.profile,
                                 on_line=self.log, on_result=self._result)
        if screen.journal.is_read_only:
            screen.status_bar.rules = "off (read-only)"
            self.log(f"{len(self.rules)} rule(s) configured, off: this lexi-tui is read-only")
            return
        screen.status_bar.rules = "on"
        self.log(f"{len(self.rules)} rule(s) active; p pauses them, R shows a dry run")

    def log(self, line: str) -> None:
        self.screen.query_one("#rules-log", Log).write_line(clean(line, multiline=False))

    def apply(self, pending: list[Task]) -> None:
        """Called after each refresh of the queue: act on what the rules match."""
        state, screen, runner, target = self.state, self.screen, self.runner, self.target
        if runner is None or target is None or state.rules_paused or screen.journal.is_read_only:
            return
        decisions = runner.plan(pending, in_flight=state.inflight)
        if not decisions:
            return
        target.register(decision.task for decision in decisions)
        for decision in decisions:
            state.inflight[decision.task.id] = f"rule:{decision.action}"
            screen.table.mark_busy(decision.task.id, f"rule: {decision.action}…")
        screen.run_worker(self._run(runner, decisions, state.rules_cancel), group="rules")

    async def _run(self, runner: RuleRunner, decisions: list[Decision], cancel: asyncio.Event) -> None:
        """Send the planned decisions; pausing the rules (`cancel`) stops what is not sent."""
        try:
            await runner.execute(decisions, cancel=cancel)
        finally:
            for decision in decisions:  # Those not sent (paused, stopped, or the worker cancelled).
                self._done(decision.task)

    def _done(self, task: Task) -> None:
        state, screen = self.state, self.screen
        if state.inflight.get(task.id, "").startswith("rule:"):
            state.inflight.pop(task.id, None)
            screen.table.mark_busy(task.id, None)

    def _result(self, decision: Decision, result: TaskResult) -> None:
        """One decision's result (its history line is written): the row and the lists follow."""
        screen, task = self.screen, decision.task
        if self.target is not None:
            self.target.settled(task.id)
        self._done(task)
        outcome = result.outcome
        if outcome in (Outcome.APPLIED, Outcome.ALREADY_HANDLED, Outcome.NOT_FOUND):
            screen.table.mark_error(task.id, None)
            screen.drop_task(task.id)
            if outcome == Outcome.APPLIED and decision.action == "approve":
                screen.actions.follow(task)
        elif outcome == Outcome.UNKNOWN:
            screen.table.mark_error(task.id, f"rule {decision.action}: unknown")
        elif outcome == Outcome.FAILED:
            screen.table.mark_error(task.id, f"rule {decision.action} failed")
        screen.refresh_bindings()

    def toggle(self) -> None:
        """Pause or resume the rules (`p`); a run in progress stops before its next send."""
        screen, state = self.screen, self.state
        if not self.rules:
            screen.notify("No rules are configured ([[rules]] in config.toml).", timeout=3, markup=False)
            return
        if screen.journal.is_read_only:
            screen.actions.read_only_refusal()
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
        decisions = self.runner.dry_run(pending) if self.runner is not None else []
        self.screen.app.push_screen(DryRunScreen(decisions, self.rules, len(pending)))
