"""`lexi-tui watch --rules`: poll the approval queue and apply the config's rules.

Each poll lists the provider's approval queue (its first view), lets the rules decide
(`core.rules.evaluate`), and sends each decision through the bulk engine (pacing, history).
The time between polls is the refresh budget's (`core.budget.RefreshBudget`), so a watch on a
Starter key does not spend the day's quota. Ctrl-C or SIGTERM finishes the request in flight,
then stops (exit 0).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lexi_tui.cli.exit_codes import Exit
from lexi_tui.cli.output import err, out
from lexi_tui.cli.session import Session
from lexi_tui.cli.signals import StopOnSignal

MAX_RULE_ATTEMPTS = 3
"""A rule's action that failed this often is left for a person (watch keeps running)."""


async def watch(invocation: Any, request_log: Any = None) -> int:
    """Run the watch loop; returns the exit code."""
    from lexi_tui.core import history
    from lexi_tui.core.budget import RefreshBudget
    from lexi_tui.core.bulk import run_bulk
    from lexi_tui.core.config import config_path
    from lexi_tui.core.rules import RulesError, evaluate, load_rules

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
    attempts: dict[str, int] = {}
    reported: set[tuple[str, str]] = set()
    sent = failed = 0
    async with Session(profile, request_log=request_log, stop=stop) as session:
        if session.provider is None:
            return session.code
        provider = session.provider
        queue = session.capabilities.views[0]
        dry = " (dry run: nothing is sent)" if args.dry_run else ""
        err(f"Watching {profile.base_url} with {len(rules)} rule(s) from {rules_file}{dry}; Ctrl-C stops.")
        for rule in rules:
            err(f"  {rule.summary()}")
        with StopOnSignal(stop, hard_second=False):
            while not stop.is_set():
                tasks = await session.call(lambda p: p.list_tasks(queue), keep_going=not args.once)
                if tasks is None and session.code != Exit.OK:
                    return session.code
                decisions = evaluate(rules, tasks or [])
                if args.once and tasks is not None and not decisions:
                    err("No pending task matches a rule.")
                for decision in decisions:
                    task = decision.task
                    if args.dry_run:
                        if (task.id, decision.rule.name) not in reported:  # Once per process, not per poll.
                            reported.add((task.id, decision.rule.name))
                            _log_decision(decision, "dry run, not sent")
                            _record_dry_run(history, decision, profile.name)
                        continue
                    if stop.is_set() or attempts.get(task.id, 0) >= MAX_RULE_ATTEMPTS:
                        continue
                    attempts[task.id] = attempts.get(task.id, 0) + 1
                    summary = await run_bulk(
                        provider, [task], decision.action, reason=decision.reason,
                        comment=decision.explanation, source=decision.source, profile=profile.name, cancel=stop,
                    )
                    for result in summary.results:
                        detail = f": {result.detail}" if result.detail else ""
                        _log_decision(decision, str(result.outcome).replace("_", " ") + detail)
                    sent, failed = sent + 1, failed + len(summary.failed)
                    stopped = summary.stopped_by
                    if stopped is not None and session.exit_code(stopped) == Exit.AUTH:
                        err(f"lexi-tui: {session.message(stopped)}")
                        return Exit.AUTH
                if args.once:
                    return Exit.OK if not failed else Exit.FAILED if failed == sent else Exit.PARTIAL
                try:
                    await asyncio.wait_for(stop.wait(), budget.delay(provider.rate_limit))
                except TimeoutError:
                    pass
    return Exit.OK


def _log_decision(decision: Any, outcome: str) -> None:
    from lexi_tui.core.history import now_iso

    out(f"{now_iso()} {decision.explanation} [task {decision.task.id}]: {outcome}")


def _record_dry_run(history: Any, decision: Any, profile: str) -> None:
    entry = history.HistoryEntry(
        time=history.now_iso(), profile=profile, task_id=decision.task.id, task_type=str(decision.task.type),
        description=decision.task.description, action=decision.action, reason=decision.reason,
        comment=decision.explanation, outcome="dry_run", detail=None, request_id=None, source=decision.source,
    )
    try:
        history.append(entry)
    except OSError as exc:
        err(f"lexi-tui watch: the history could not be written: {exc}")
