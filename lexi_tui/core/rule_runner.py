"""The one rules loop: what `lexi-tui watch` and the triage screen both do after each refresh.

After each refresh of the pending queue the caller hands the tasks to `RuleRunner.run`:

1. the rules decide (`rules.evaluate`, pure);
2. tasks are skipped when an action for them is in flight (the caller's, or this runner's own),
   when this runner already finished with them this session (applied, handled elsewhere, not
   found: a stale list never sends twice), when their answer was lost and could not be read
   back (they may have been applied: never resent automatically), or when their rule's
   action failed `MAX_ATTEMPTS` times this session ("left for you");
3. each decision is sent in turn through the bulk machinery (`bulk.Sender`: pacing inside both
   rate limits, the history preflight, settling lost answers, the audit line with source
   `rule:<name>`), stopping before the next send when `cancel` is set (the rules were paused)
   or the sender must stop (quota spent, key refused, history unwritable);
4. every decision is reported through `on_line` (one line for the rules log) and `on_result`
   (the decision and its `TaskResult`, for the screen's rows).

`plan` is the decision step alone (what `run` would send now; `execute` sends a plan),
`dry_run` the rules' preview
(nothing sent, nothing recorded), and `record_dry_run` what `watch --dry-run` does: log and
record each decision with outcome `dry_run`, once per task and rule for the runner's life
(a process).

No Textual here: the screen drives `run` from a worker, `watch` from its poll loop. One runner
per provider for the session: it holds the attempt counts. Runs are serialised (a second
`run` waits for the first to finish). I/O: the provider's HTTP calls, and the history's disk
writes in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lexi_tui.api.text import clean
from lexi_tui.core import audit
from lexi_tui.core.actions import NOT_SENT, ActionTarget, TaskResult, past
from lexi_tui.core.bulk import Pacing, Sender, Stop, WaitCallback
from lexi_tui.core.outcomes import LOST_HINT, NOT_FOUND_TEXT, Outcome
from lexi_tui.core.rules import Decision, Rule, evaluate

if TYPE_CHECKING:
    from lexi_tui.api.models import Task

MAX_ATTEMPTS = 3
"""A rule's action that failed this often this session is left for a person."""

LineCallback = Callable[[str], "object | Awaitable[object]"]
DecisionCallback = Callable[[Decision, TaskResult], "object | Awaitable[object]"]

_SHOWN = 60


@dataclass
class RuleReport:
    """What one `run` did."""

    results: list[tuple[Decision, TaskResult]] = field(default_factory=list)
    """Every decision sent, with its result, in order."""
    not_sent: list[Decision] = field(default_factory=list)
    """Decisions not sent because the run was paused (`cancel`) or stopped."""
    stop: Stop | None = None
    cancelled: bool = False
    waited: float = 0.0

    def with_outcome(self, outcome: str) -> list[Decision]:
        return [decision for decision, result in self.results if result.outcome == outcome]


class RuleRunner:
    """Applies the rules to each refresh of the pending queue, for one provider and session.

    Args:
        target: the provider actions are sent through.
        rules: the rules (`rules.load_rules`); the attribute may be replaced between runs.
        profile: recorded in each audit line.
        on_line: a line for the rules log per decision ("✔ approved …", "• already handled
            elsewhere: …", "✘ approve failed for …: …", "  left for you after 3 failures …").
        on_result: `(decision, result)` per decision sent, and per dry-run decision recorded.
        on_wait: the seconds about to be waited for the rate limit.
        history_path: the history file (default: the app's).
        pacing: the rate-limit policy (`bulk.Pacing`).
        max_attempts: failures after which a task is left for a person.

    Every callback may be a coroutine function.
    """

    def __init__(
        self,
        target: ActionTarget,
        rules: Sequence[Rule],
        *,
        profile: str = "default",
        on_line: LineCallback | None = None,
        on_result: DecisionCallback | None = None,
        on_wait: WaitCallback | None = None,
        history_path: Path | None = None,
        pacing: Pacing | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.target = target
        self.rules = list(rules)
        self.profile = profile
        self.on_line = on_line
        self.on_result = on_result
        self.on_wait = on_wait
        self.history_path = history_path
        self.pacing = pacing
        self.max_attempts = max_attempts
        self.attempts: dict[str, int] = {}
        """Task id -> failed rule actions this session."""
        self.unsettled: set[str] = set()
        """Tasks whose answer was lost and could not be read back: never sent again by a rule."""
        self.finished: set[str] = set()
        """Tasks this runner applied, or found handled elsewhere or gone: never sent again."""
        self.sending: set[str] = set()
        """Tasks of the run in progress (planned, not yet answered)."""
        self._reported: set[tuple[str, str]] = set()
        self._last_stop: str | None = None
        self._lock = asyncio.Lock()

    # -- deciding ---------------------------------------------------------------------------

    def left_for_person(self, task_id: str) -> bool:
        """The rules will not act on this task again this session (failed too often, or its
        answer was lost)."""
        return task_id in self.unsettled or self.attempts.get(task_id, 0) >= self.max_attempts

    def plan(self, pending: Sequence[Task], *, in_flight: Collection[str] = ()) -> list[Decision]:
        """The decisions `run` would send now for `pending` (pure: nothing is sent)."""
        if not self.rules:
            return []
        skip = set(in_flight) | self.sending | self.finished
        eligible = [task for task in pending if task.id not in skip and not self.left_for_person(task.id)]
        return evaluate(self.rules, eligible)

    def dry_run(self, pending: Sequence[Task], *, in_flight: Collection[str] = ()) -> list[Decision]:
        """What the rules would do to `pending` now, ignoring this session's attempts: a
        preview for a person (nothing is sent or recorded)."""
        if not self.rules:
            return []
        return evaluate(self.rules, [task for task in pending if task.id not in set(in_flight)])

    # -- acting -----------------------------------------------------------------------------

    async def run(self, pending: Sequence[Task], *, in_flight: Collection[str] = (),
                  cancel: asyncio.Event | None = None) -> RuleReport:
        """Decide for `pending` and send each decision in turn (see the module's steps).

        Args:
            pending: the pending queue as just refreshed.
            in_flight: ids of tasks with an action on its way from elsewhere (the screen's).
            cancel: set it (the rules were paused) to stop before the next send.
        """
        async with self._lock:
            decisions = self.plan(pending, in_flight=in_flight)
            return await self._execute(decisions, cancel)

    async def execute(self, decisions: Sequence[Decision], *, cancel: asyncio.Event | None = None) -> RuleReport:
        """Send decisions already made by `plan` (a screen that marks the rows busy first:
        `decisions = runner.plan(...)`, mark them, then `await runner.execute(decisions)` in a
        worker; passing those ids as `in_flight` to `run` would skip them all). A decision
        that became ineligible meanwhile (finished, left for a person) is dropped."""
        async with self._lock:
            todo = [decision for decision in decisions
                    if decision.task.id not in self.sending and decision.task.id not in self.finished
                    and not self.left_for_person(decision.task.id)]
            return await self._execute(todo, cancel)

    async def _execute(self, decisions: list[Decision], cancel: asyncio.Event | None) -> RuleReport:
        report = RuleReport()
        if not decisions:
            return report
        sender = Sender(self.target, profile=self.profile, history_path=self.history_path, pacing=self.pacing,
                        cancel=cancel, on_wait=self.on_wait)
        self.sending.update(decision.task.id for decision in decisions)
        try:
            for position, decision in enumerate(decisions):
                result = await sender.send(decision.task, decision.action, reason=decision.reason,
                                           comment=decision.explanation, source=decision.source)
                if result.outcome == NOT_SENT:
                    report.not_sent = decisions[position:]
                    break
                self.sending.discard(decision.task.id)
                report.results.append((decision, result))
                await self._account(decision, result)
                if sender.stop is not None or sender.cancelled:
                    report.not_sent = decisions[position + 1:]
                    break
        finally:
            self.sending.difference_update(decision.task.id for decision in decisions)
        report.stop, report.waited = sender.stop, sender.waited
        report.cancelled = sender.cancelled and sender.stop is None
        if report.not_sent:
            n = len(report.not_sent)
            if report.cancelled:
                await self._line(f"rules paused: {n} decision(s) not sent")
            elif report.stop is not None and report.stop.reason != self._last_stop:
                await self._line(f"rules stopped: {report.stop.reason}; {n} decision(s) not sent")
        self._last_stop = report.stop.reason if report.stop is not None else None
        return report

    async def _account(self, decision: Decision, result: TaskResult) -> None:
        """Count, remember and report one decision's result."""
        task, outcome = decision.task, result.outcome
        name = _name(task)
        if outcome == Outcome.APPLIED:
            self.finished.add(task.id)
            text = clean(decision.explanation, multiline=False)
            verb = decision.action
            line = f"✔ {past(verb)}{text[len(verb):]}" if text.startswith(verb) else f"✔ {text}"
        elif outcome == Outcome.ALREADY_HANDLED:
            self.finished.add(task.id)
            line = f"• already handled elsewhere: {name}"
        elif outcome == Outcome.NOT_FOUND:
            self.finished.add(task.id)
            line = f"• {NOT_FOUND_TEXT}: {name}"
        elif outcome == Outcome.UNKNOWN:
            self.unsettled.add(task.id)
            line = f"? {decision.action} of {name}: the answer was lost; {LOST_HINT} (the rules will not send it again)"
        else:
            self.attempts[task.id] = self.attempts.get(task.id, 0) + 1
            line = f"✘ {decision.action} failed for {name}: {result.detail or 'failed'}"
        await self._line(line)
        if outcome == Outcome.FAILED and self.attempts[task.id] == self.max_attempts:
            await self._line(f"  left for you after {self.max_attempts} failures "
                             "(the rules will not try it again this session)")
        if self.on_result is not None:
            await _call(self.on_result, decision, result)

    # -- watch --dry-run --------------------------------------------------------------------

    async def record_dry_run(self, pending: Sequence[Task], *, in_flight: Collection[str] = ()) -> list[Decision]:
        """Log and record (outcome `dry_run`) what the rules would do; nothing is sent.

        Each task and rule is reported once for the runner's life, not on every poll.
        Returns the decisions reported now. A history that cannot be written is said once
        per problem in the log (nothing was sent, so nothing is lost).
        """
        fresh: list[Decision] = []
        for decision in self.dry_run(pending, in_flight=in_flight):
            key = (decision.task.id, decision.rule.name)
            if key in self._reported:
                continue
            self._reported.add(key)
            fresh.append(decision)
            await self._line(f"would {clean(decision.explanation, multiline=False)} (dry run, not sent)")
            try:
                await asyncio.to_thread(
                    audit.record, self.profile, decision.task, decision.action, audit.DRY_RUN,
                    reason=decision.reason, comment=decision.explanation, source=decision.source,
                    path=self.history_path,
                )
            except OSError as problem:
                text = audit.reason_text(problem)
                if text != self._last_stop:
                    await self._line(text)
                self._last_stop = text
            if self.on_result is not None:
                await _call(self.on_result, decision, TaskResult(decision.task, audit.DRY_RUN, action=decision.action))
        return fresh

    async def _line(self, text: str) -> None:
        if self.on_line is not None:
            await _call(self.on_line, text)


def _name(task: Task) -> str:
    text = clean(task.description or f"{task.type} {task.id}", multiline=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1].rstrip() + "…"


async def _call(callback: Callable[..., object], *args: object) -> None:
    outcome = callback(*args)
    if inspect.isawaitable(outcome):
        await outcome
