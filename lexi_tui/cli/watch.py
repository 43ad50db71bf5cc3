"""`lexi-tui watch --rules`: poll the approval queue and apply the config's rules.

Each poll lists the provider's approval queue (its first view) and hands it to the one rules
loop, `core.rule_runner.RuleRunner` (the app's too): it decides, skips what it already
finished or left for a person, sends through the bulk engine (pacing inside both rate limits,
the history, lost answers read back) and reports each decision. Here every decision becomes
one line on stdout (`TIME EXPLANATION [task ID]: OUTCOME`); what the runner says beyond the
decisions (stopped, left for you) goes to stderr. The time between polls is the refresh
planner's (`core.budget.Planner`, as in the app): it hears every answer (polls and the rules'
actions), keeps the plan's reserve for the person, spreads what is left of today's quota until
the daily reset and never polls more often than `--interval`, so a watch on a Starter key does
not spend the day's quota by noon. When the planner makes a poll wait much longer than the
interval, stderr says until when and why, once. Ctrl-C or SIGTERM finishes the request in
flight, then stops (exit 0); a refused key or a used-up daily quota stops it too (exit 3, 9).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lexi_tui.api import errors
from lexi_tui.cli import quota
from lexi_tui.cli.exit_codes import Exit
from lexi_tui.cli.output import err, out
from lexi_tui.cli.session import Session
from lexi_tui.cli.signals import StopOnSignal

_DECISION_LINES = ("✔ ", "• ", "✘ ", "? ", "would ")
"""How the runner's per-decision lines start (its docstring's format): those are printed from
`on_result` instead, with the task id; its other lines go to stderr."""


async def watch(invocation: Any, request_log: Any = None) -> int:
    """Run the watch loop; returns the exit code."""
    from lexi_tui.core.budget import Planner
    from lexi_tui.core.config import config_path
    from lexi_tui.core.outcomes import Outcome
    from lexi_tui.core.rule_runner import RuleRunner
    from lexi_tui.core.rules import RulesError, load_rules

    args, profile, config = invocation.args, invocation.profile, invocation.config
    rules_file = Path(args.rules or args.config or config_path()).expanduser()
    try:
        rules = load_rules(rules_file)
    except RulesError as exc:
        err(f"lexi-tui watch: {exc}")
        return Exit.USAGE
    if not rules:
        why = "does not exist" if not rules_file.exists() else "has no [[rules]] tables"
        err(f"lexi-tui watch: {rules_file} {why}, so there is nothing to do.")
        return Exit.USAGE
    interval = args.interval
    if interval is None:
        interval = config.refresh_interval if config.refresh_interval > 0 else 15.0
    plan = profile.plan if profile.provider == "lexi" else None
    planner = Planner(interval, plan, daily_quota=profile.provider == "lexi")
    stop = asyncio.Event()
    counts = {"sent": 0, "failed": 0, "unknown": 0}

    def on_line(text: str) -> None:
        if not text.startswith(_DECISION_LINES):
            err(text.strip())

    def on_result(decision: Any, result: Any) -> None:
        outcome = str(result.outcome)
        if outcome == "dry_run":
            _log_decision(decision, "dry run, not sent")
            return
        counts["sent"] += 1
        counts["failed"] += outcome == Outcome.FAILED
        counts["unknown"] += outcome == Outcome.UNKNOWN
        word = "not applied" if outcome == Outcome.FAILED and result.settled else outcome.replace("_", " ")
        _log_decision(decision, word + (f": {result.detail}" if result.detail else ""))

    def on_wait(seconds: float) -> None:
        err(f"Waiting {seconds:.0f} s for the rate limit to reset…")

    async with Session(profile, request_log=request_log, stop=stop) as session:
        if session.provider is None:
            return session.code
        provider = session.provider
        queue = session.capabilities.views[0]
        pacer = _Pacer(planner)
        provider.add_listener(pacer.heard)
        runner = RuleRunner(provider, rules, profile=profile.name, on_line=on_line, on_result=on_result,
                            on_wait=on_wait)
        dry = " (dry run: nothing is sent)" if args.dry_run else ""
        err(f"Watching {profile.base_url} with {len(rules)} rule(s) from {rules_file}{dry}; Ctrl-C stops.")
        for rule in rules:
            err(f"  {rule.summary()}")
        with StopOnSignal(stop, hard_second=False):
            while not stop.is_set():
                pacer.polled()
                with pacer.polling():
                    tasks = await session.call(lambda p: p.list_tasks(queue), keep_going=not args.once)
                if tasks is None and session.code != Exit.OK:
                    return session.code
                if args.dry_run:
                    decided = await runner.record_dry_run(tasks or [])
                else:
                    report = await runner.run(tasks or [], cancel=stop)
                    decided = [decision for decision, _ in report.results]
                    code = _stopped(session, report.stop)
                    if code is not None:
                        return code
                if args.once and tasks is not None and not decided and not runner.plan(tasks):
                    err("No pending task matches a rule.")
                if args.once:
                    if counts["unknown"]:
                        return Exit.UNKNOWN
                    if not counts["failed"]:
                        return Exit.OK
                    return Exit.FAILED if counts["failed"] == counts["sent"] else Exit.PARTIAL
                # A Chamelio poll reads every watched task: the planner counts them all.
                calls = await provider.calls_for_refresh([queue])
                try:
                    await asyncio.wait_for(stop.wait(), pacer.wait(max(1, calls)))
                except TimeoutError:
                    pass
    return Exit.OK


class _Pacer:
    """The watch loop's side of the planner: it hears every answer and says how long to wait."""

    def __init__(self, planner: Any) -> None:
        self.planner = planner
        self._polling = False
        self._last_poll: float | None = None
        self._said: Any = None

    def heard(self, info: Any) -> None:
        """The provider's response listener: every answer counts (polls and rule actions)."""
        if info.status is None:
            return  # No answer: nothing the vendor counted for certain.
        self.planner.record(info.status, info.rate_limit, background=self._polling)

    @contextlib.contextmanager
    def polling(self) -> Iterator[None]:
        """Answers heard inside are the poll's (background work), not the rules' actions."""
        self._polling = True
        try:
            yield
        finally:
            self._polling = False

    def polled(self) -> None:
        self._last_poll = self.planner.clock()

    def wait(self, calls: int) -> float:
        """Seconds until the next poll of `calls` calls may go; says why on stderr when it is
        much longer than the interval (once per reason)."""
        from lexi_tui.core.budget import Why, clock_text, span_text

        now = self.planner.clock()
        upcoming = self.planner.next_poll(self._last_poll, calls, active=True, now=now)
        if upcoming.at is None:
            return max(self.planner.interval, 1.0)
        wait = max(0.0, upcoming.at - now)
        if wait > 2 * max(self.planner.interval, 1.0) and upcoming.why != self._said:
            self._said = upcoming.why
            why = {
                Why.PACED: "spreading today's calls until the daily reset",
                Why.RESERVE: f"the last {self.planner.limits(now).reserve} calls today are kept for you",
                Why.MINUTE_CAP: "this minute's share of calls is spent",
                Why.RATE_LIMITED: "rate-limited this minute",
                Why.DAY_OVER: "today's quota is used up",
            }.get(upcoming.why, str(upcoming.why))
            err(f"Next poll {clock_text(upcoming.at, now)} (in {span_text(wait)}): {why}.")
        elif wait <= 2 * max(self.planner.interval, 1.0):
            self._said = None
        return wait


def _stopped(session: Session, stop: Any) -> Exit | None:
    """The exit code when the runner stopped for good (a refused key, the day's quota spent);
    None to keep watching (the next poll may well succeed)."""
    if stop is None:
        return None
    if stop.resets_at is not None:
        err(f"lexi-tui watch: {quota.describe_daily(quota.Reading(True, reset_at=stop.resets_at))}")
        return Exit.QUOTA
    if isinstance(stop.error, (errors.InvalidKeyError, errors.PermissionDeniedError)):
        err(f"lexi-tui: {session.message(stop.error)}")
        return Exit.AUTH
    return None


def _log_decision(decision: Any, outcome: str) -> None:
    from lexi_tui.core.history import now_iso

    out(f"{now_iso()} {decision.explanation} [task {decision.task.id}]: {outcome}")
