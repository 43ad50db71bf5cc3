"""`lexi-tui watch --rules`: poll the approval queue and apply the config's rules.

Each poll lists the provider's approval queue (its first view) and hands it to the one rules
loop, `core.rule_runner.RuleRunner` (the app's too): it decides, skips what it already
finished or left for a person, sends through the bulk engine (pacing inside both rate limits,
the history, lost answers read back) and reports each decision. Here every decision becomes
one line on stdout (`TIME EXPLANATION [task ID]: OUTCOME`); what the runner says beyond the
decisions (stopped, left for you) goes to stderr. The time between polls is the refresh
budget's (`core.budget.RefreshBudget`), so a watch on a Starter key does not spend the day's
quota. Ctrl-C or SIGTERM finishes the request in flight, then stops (exit 0); a refused key
or a used-up daily quota stops it too (exit 3, 9).
"""

from __future__ import annotations

import asyncio
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
    from lexi_tui.core.budget import RefreshBudget
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
    budget = RefreshBudget(interval)
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
        runner = RuleRunner(provider, rules, profile=profile.name, on_line=on_line, on_result=on_result,
                            on_wait=on_wait)
        dry = " (dry run: nothing is sent)" if args.dry_run else ""
        err(f"Watching {profile.base_url} with {len(rules)} rule(s) from {rules_file}{dry}; Ctrl-C stops.")
        for rule in rules:
            err(f"  {rule.summary()}")
        with StopOnSignal(stop, hard_second=False):
            while not stop.is_set():
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
                # A Chamelio poll reads every watched task: the budget counts them all.
                calls = await provider.calls_for_refresh([queue])
                try:
                    await asyncio.wait_for(stop.wait(), budget.delay(provider.rate_limit, calls=max(1, calls)))
                except TimeoutError:
                    pass
    return Exit.OK


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
